"""The text model session reasoning asks: VODSCOPE_TEXT_BACKEND / VODSCOPE_TEXT_MODEL / VODSCOPE_TEXT_BASE_URL.

Not the VLMs that read frames (VODSCOPE_VLM_*): a summary needs a model that reasons over text (Llama 3), not one
that sees. A caller naming another backend gets that backend's configured VLM model unless it names a model too.
"""
from __future__ import annotations

from django.conf import settings

from labeling.backends.base import BackendConfig
from labeling.services.vlm_label import backend_config


def text_backend_config(backend: str = "", *, model: str = "", base_url: str = "") -> BackendConfig:
    """The text model from settings; `backend`, `model` and `base_url` override them when given."""
    key = backend or settings.VODSCOPE_TEXT_BACKEND
    if key == settings.VODSCOPE_TEXT_BACKEND:
        model = model or settings.VODSCOPE_TEXT_MODEL
        base_url = base_url or settings.VODSCOPE_TEXT_BASE_URL
    return backend_config(key, model=model, base_url=base_url)
