"""Vodscope settings: embedded (SQLite, filesystem broker) unless DATABASE_URL / REDIS_URL say production."""
from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url

from project.env import SettingError, env_bool, env_dir, env_float, env_int, env_list, env_paths, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("VODSCOPE_HOME", str(BASE_DIR / "var"))).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "project.jobs",
    "detection",
    "labeling",
    "review",
    "importer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "project.middleware.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "project.middleware.LoginRequiredEverywhereMiddleware",
]

ROOT_URLCONF = "project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

DATABASE_URL = env_str("DATABASE_URL")
PRODUCTION = bool(DATABASE_URL)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # Overridable so a worker started by the tests can share pytest's test database file.
            "NAME": env_str("VODSCOPE_SQLITE_PATH", str(DATA_DIR / "vodscope.sqlite3")),
            # WAL + IMMEDIATE: the web process and the worker process write concurrently.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": DATA_DIR / "test-vodscope.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("VODSCOPE_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_ROOT = Path(env_str("VODSCOPE_MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Chunked uploads stream to disk; a request body never needs to fit in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("VODSCOPE_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The largest browser upload (declared size) accepted; 100 hours of OBS at 6 Mb/s is about 270 GB.
VODSCOPE_MAX_UPLOAD_BYTES = env_int("VODSCOPE_MAX_UPLOAD_BYTES", 1024**4)
if not 0 < VODSCOPE_MAX_UPLOAD_BYTES < 2**63:
    raise SettingError(f"VODSCOPE_MAX_UPLOAD_BYTES={VODSCOPE_MAX_UPLOAD_BYTES} must be positive and below 2**63")
# --- Vodscope -------------------------------------------------------------
# The demo folder is Vodscope's own (bootstrap_demo renders into it), so it is always registrable.
VODSCOPE_DEMO_DIR = DATA_DIR / "demo"
VODSCOPE_DEMO_DIR.mkdir(parents=True, exist_ok=True)
VODSCOPE_ALLOWED_ROOTS = [*env_paths("VODSCOPE_ALLOWED_ROOTS", [DATA_DIR / "library"]), VODSCOPE_DEMO_DIR]
VODSCOPE_UPLOAD_DIR = MEDIA_ROOT / "uploads"
# Only ONNX files in here can become model versions (staff register them); jobs choose a version, never a path.
VODSCOPE_MODELS_DIR = env_dir("VODSCOPE_MODELS_DIR", DATA_DIR / "models")
VODSCOPE_VIDEO_EXTENSIONS = (".mkv", ".mp4", ".mov")
VODSCOPE_REVIEW_THRESHOLD = env_float("VODSCOPE_REVIEW_THRESHOLD", 0.8)
VODSCOPE_DETECTION_FPS = env_float("VODSCOPE_DETECTION_FPS", 10.0)
VODSCOPE_ONNX_PROVIDERS = env_list("VODSCOPE_ONNX_PROVIDERS", [])
VODSCOPE_GAME_PROFILE = env_str("VODSCOPE_GAME_PROFILE", "demo")
VODSCOPE_FFPROBE = env_str("VODSCOPE_FFPROBE", "ffprobe")
VODSCOPE_FFMPEG = env_str("VODSCOPE_FFMPEG", "ffmpeg")
VODSCOPE_JOB_HEARTBEAT_SECONDS = env_float("VODSCOPE_JOB_HEARTBEAT_SECONDS", 2.0)
# A running job with no heartbeat for this long is an orphan: a worker's sweep re-queues it.
VODSCOPE_JOB_STALE_SECONDS = env_float("VODSCOPE_JOB_STALE_SECONDS", 3 * VODSCOPE_JOB_HEARTBEAT_SECONDS)
if not 0 < VODSCOPE_JOB_HEARTBEAT_SECONDS < VODSCOPE_JOB_STALE_SECONDS:
    raise SettingError(
        f"VODSCOPE_JOB_STALE_SECONDS={VODSCOPE_JOB_STALE_SECONDS} must exceed "
        f"VODSCOPE_JOB_HEARTBEAT_SECONDS={VODSCOPE_JOB_HEARTBEAT_SECONDS} > 0"
    )
if not 0.0 <= VODSCOPE_REVIEW_THRESHOLD <= 1.0:
    raise SettingError(f"VODSCOPE_REVIEW_THRESHOLD={VODSCOPE_REVIEW_THRESHOLD} must lie in [0, 1]")
if VODSCOPE_DETECTION_FPS <= 0:
    raise SettingError(f"VODSCOPE_DETECTION_FPS={VODSCOPE_DETECTION_FPS} must be positive")

# --- VLM labelling (labeling/): backends in fallback order, each model, base URL and key ---
VODSCOPE_VLM_BACKENDS = env_list("VODSCOPE_VLM_BACKENDS", ["ollama"])
VODSCOPE_VLM_MODELS = {
    "gemini": env_str("VODSCOPE_VLM_GEMINI_MODEL", "gemini-2.5-flash"),
    "ollama": env_str("VODSCOPE_VLM_OLLAMA_MODEL", "minicpm-v"),
    "openai": env_str("VODSCOPE_VLM_OPENAI_MODEL", "gpt-4o-mini"),
}
VODSCOPE_VLM_URLS = {"gemini": env_str("GEMINI_BASE_URL"), "ollama": env_str("OLLAMA_HOST"),
                     "openai": env_str("OPENAI_BASE_URL")}
VODSCOPE_VLM_KEYS = {"gemini": env_str("GEMINI_API_KEY"), "ollama": "", "openai": env_str("OPENAI_API_KEY")}
VODSCOPE_VLM_CONCURRENCY = env_int("VODSCOPE_VLM_CONCURRENCY", 8)
VODSCOPE_VLM_REQUESTS_PER_MINUTE = env_float("VODSCOPE_VLM_REQUESTS_PER_MINUTE", 600.0)
VODSCOPE_VLM_TOKEN_BUDGET = env_int("VODSCOPE_VLM_TOKEN_BUDGET", 0)
VODSCOPE_VLM_TIMEOUT_SECONDS = env_float("VODSCOPE_VLM_TIMEOUT_SECONDS", 60.0)
# USD per million tokens in and out, per backend type, for the jobs' cost estimate: "gemini:0.30:2.50,..."
VODSCOPE_VLM_PRICES: dict[str, tuple[float, float]] = {}
for _price in filter(None, (p.strip() for p in env_str("VODSCOPE_VLM_PRICES").split(","))):
    try:
        _key, _in, _out = _price.split(":")
        VODSCOPE_VLM_PRICES[_key] = (float(_in), float(_out))
    except ValueError:
        raise SettingError(f"VODSCOPE_VLM_PRICES: {_price!r} is not backend:usd_in_per_mtok:usd_out_per_mtok") from None
if VODSCOPE_VLM_CONCURRENCY < 1 or VODSCOPE_VLM_REQUESTS_PER_MINUTE <= 0 or VODSCOPE_VLM_TOKEN_BUDGET < 0:
    raise SettingError("VODSCOPE_VLM_CONCURRENCY and VODSCOPE_VLM_REQUESTS_PER_MINUTE must be positive, "
                       "VODSCOPE_VLM_TOKEN_BUDGET not negative")

# --- Session reasoning (labeling/reasoning/): the text model, apart from the VLMs that read frames ---
# A base URL left empty is the text backend's VLM one (VODSCOPE_VLM_URLS); its key is always the VLM one.
VODSCOPE_TEXT_BACKEND = env_str("VODSCOPE_TEXT_BACKEND", "ollama")
VODSCOPE_TEXT_MODEL = env_str("VODSCOPE_TEXT_MODEL", "llama3")
VODSCOPE_TEXT_BASE_URL = env_str("VODSCOPE_TEXT_BASE_URL")
if VODSCOPE_TEXT_BACKEND not in VODSCOPE_VLM_MODELS or not VODSCOPE_TEXT_MODEL:
    raise SettingError(f"VODSCOPE_TEXT_BACKEND={VODSCOPE_TEXT_BACKEND!r} must be one of {sorted(VODSCOPE_VLM_MODELS)} "
                       "and VODSCOPE_TEXT_MODEL not empty")
# Training (the `train` job and `manage.py train_model`) runs in its own venv; torch never enters this one.
VODSCOPE_TRAIN_PYTHON = env_str("VODSCOPE_TRAIN_PYTHON", str(BASE_DIR / ".venv-train" / "bin" / "python"))
VODSCOPE_TRAIN_WORKER = env_str("VODSCOPE_TRAIN_WORKER", str(BASE_DIR / "scripts" / "train_worker.py"))
VODSCOPE_TRAIN_DEVICE = env_str("VODSCOPE_TRAIN_DEVICE", "cpu")  # "0": the first GPU
VODSCOPE_HELDOUT_FRAMES = env_int("VODSCOPE_HELDOUT_FRAMES", 120)
# Seconds of the held-out session each version's events are measured on (labeling/training/heldout_events.py); 0: off.
VODSCOPE_HELDOUT_RENDER_SECONDS = env_int("VODSCOPE_HELDOUT_RENDER_SECONDS", 120)

# --- Celery: Redis in production, a filesystem broker when embedded -------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A delivered, unacknowledged message (acks_late: until its job ends) goes back to the queue after
    # this long. Dead workers' jobs are re-sent sooner by the orphan sweep; this only rescues a message
    # whose worker died whole before claiming its job. A copy of a job still running claims nothing.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 600}
else:
    _broker_dir = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; kombu's default is ./control, relative to whatever folder a process started in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# How long a prefork worker waits for a dead child's last words before it calls the task lost (Celery's
# default, 10 s, delays the re-queue of its job by as much). A late result only makes a redelivery that
# claims nothing: the Job row already says the job ended.
CELERY_WORKER_LOST_WAIT = 0.5
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("VODSCOPE_JOBS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- DRF ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "project.api_errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "project.json_input.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vodscope API",
    "DESCRIPTION": "Recordings, jobs and detected game events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar wheel: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("VODSCOPE_LOG_LEVEL", "INFO")},
}
