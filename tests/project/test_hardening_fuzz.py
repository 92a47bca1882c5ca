"""Malformed values for every field of every endpoint and page form: never a 500.

The /api/v1/ operations and their fields come from the OpenAPI schema the app serves; the hosted
stream-producer contract and the page forms, which that schema does not describe, are listed
here. Each example fills every field with either a plausible value or a hostile one (huge or
negative numbers, NaN, 1e308, NUL bytes, lone surrogates, 100,000 characters, timestamps at the
ends of the calendar, the wrong JSON type), so refusals deep inside the services are reached too.
Hypothesis runs derandomized: the same examples every run, a few dozen per operation.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD, render_test_video
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
EDGE_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "x" * 100_000, "é" * 300, "../../../etc/passwd", "/etc/shadow",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "NaN", "inf", "-1", "1e400", "1e308", "0x10",
    "<script>alert(1)</script>", "%00", "' OR 1=1 --", "2026-13-45T25:61:61Z", "true", "null", "[]", "{}",
]
EDGE_NUMBERS = [0, -1, 2**31, 2**63 - 1, 2**63, 2**64, 2**70, -(2**63) - 1, 1e12, 1e308, -1e308, 5e-324]
EDGE_TIMES = st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
                              "9999-12-31T23:59:59Z", "2026-02-30T00:00:00Z", "2026-01-15T18:00:00"])
EDGE_FLOATS = st.one_of(st.sampled_from(EDGE_NUMBERS), st.sampled_from([float("nan"), float("inf"), float("-inf")]))
EDGE_STRINGS = st.sampled_from(EDGE_TEXT)
HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(EDGE_TEXT),
    st.sampled_from(EDGE_NUMBERS),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=40),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
)


@dataclass
class World:
    """One user's data for the requests to act on: real ids, so refusals past the 404 are reached."""

    ids: dict[str, Any] = field(default_factory=dict)
    api: Client = field(default_factory=Client)
    page: Client = field(default_factory=Client)
    auth: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def rendered_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_test_video(tmp_path_factory.mktemp("fuzz") / "fuzz.mkv")


@pytest.fixture
def world(owner, library, rendered_video) -> World:  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner, duration_seconds=60.0)
    event = DetectedEventFactory(recording=recording, event_type="kill", data={"enemy_type": "scav"})
    job = JobFactory(recording=recording, created_by=owner)
    video = Path(shutil.copy(rendered_video, library / "fuzz.mkv"))
    token = Token.objects.get_or_create(user=owner)[0].key
    page = Client()
    page.login(username=owner.username, password=PASSWORD)
    hosted = Client()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    # Open in the past, so the plausible timestamps below fall inside the session and raid.
    session = {"session_type": "stream", "started_at": "2026-01-15T17:00:00Z"}
    hosted.post("/api/session", data=json.dumps(session), content_type="application/json", **auth)
    raid = {"map_name": "customs", "character_type": "pmc", "game_mode": "pve", "timestamp": "2026-01-15T17:30:00Z"}
    raid = hosted.post("/api/raid", data=json.dumps(raid), content_type="application/json", **auth).json()
    upload = hosted.post("/api/v1/uploads/", data=json.dumps({"filename": "u.mkv", "size": 100}),
                         content_type="application/json", **auth).json()
    ids = {"recording": recording.pk, "event": event.pk, "job": job.pk, "raid": raid["id"], "upload": upload["id"],
           "path": str(video), "folder": str(library)}
    return World(ids=ids, api=Client(), page=page, auth=auth)


def _assert_no_500(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"


def _send_json(client: Client, method: str, url: str, body: Any, **headers: Any) -> Any:
    try:
        data = json.dumps(body)
    except (ValueError, TypeError):
        data = str(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def _query(params: dict[str, Any]) -> str:
    return "&".join(f"{quote(_form_text(k))}={quote(_form_text(v), safe='')}" for k, v in params.items())


def _form_text(value: Any) -> str:
    # Form posts carry text only; a lone surrogate cannot even be encoded into a request.
    return str(value).encode("utf-8", "replace").decode()


# --- /api/v1/: every operation of the served OpenAPI schema --------------------------------------

def _schema(world: World) -> dict[str, Any]:
    response = world.api.get("/api/v1/schema/", {"format": "json"}, **world.auth)
    assert response.status_code == 200
    return json.loads(response.content)


def _v1_operations() -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method, path) for path, ops in schema["paths"].items() for method in ops if path.startswith("/api/v1/")
            and "schema" not in path and "docs" not in path]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node:
        return _resolve(schema, node["allOf"][0])
    return node


def _plausible(name: str, spec: dict[str, Any], ids: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in spec:
        return st.sampled_from([v for v in spec["enum"] if v is not None] or [""])
    if name in ("recording", "job", "event"):
        return st.just(ids[name])
    if name == "path":
        return st.sampled_from([ids["path"], ids["folder"]])
    kind, fmt = spec.get("type"), spec.get("format")
    if fmt == "date-time":
        return st.just("2026-03-01T18:00:00Z")
    return {
        "integer": st.integers(min_value=0, max_value=1000),
        "number": st.floats(min_value=0, max_value=100),
        "boolean": st.booleans(),
        "object": st.just({}),
        "array": st.just([]),
    }.get(str(kind), st.text(min_size=1, max_size=12))


def _edges(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The hostile values of the field's own type: they pass the type check and reach the rules behind it."""
    if spec.get("format") == "date-time":
        return EDGE_TIMES
    if spec.get("type") in ("integer", "number"):
        return EDGE_FLOATS
    return EDGE_STRINGS


def mutations(
    plausible: dict[str, st.SearchStrategy[Any]], hostile: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Half the examples: every field plausible but one, so a bad value meets the rules deep behind the
    others; the other half: each field plausible, hostile or absent at random."""
    if not plausible:
        return st.just({})
    base = st.fixed_dictionaries(plausible)
    one_bad = st.tuples(base, st.sampled_from(sorted(plausible)).flatmap(
        lambda name: hostile[name].map(lambda value: (name, value))
    )).map(lambda pair: {**pair[0], pair[1][0]: pair[1][1]})
    anything = st.fixed_dictionaries({}, optional={name: st.one_of(plausible[name], hostile[name]) for name in plausible})
    return st.one_of(one_bad, anything)


def _field_values(fields: dict[str, dict[str, Any]], ids: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return mutations(
        {name: _plausible(name, spec, ids) for name, spec in fields.items()},
        {name: st.one_of(_edges(spec), HOSTILE) for name, spec in fields.items()},
    )


@pytest.mark.parametrize(("method", "path"), _v1_operations())
def test_v1_api_never_answers_500(world, method, path):
    schema = _schema(world)
    operation = schema["paths"][path][method]
    params = {p["name"]: p for p in operation.get("parameters", [])}
    content = operation.get("requestBody", {}).get("content", {})
    body_schema = _resolve(schema, content["application/json"]["schema"]) if "application/json" in content else {}
    body_fields = {k: _resolve(schema, v) for k, v in body_schema.get("properties", {}).items()}
    query_fields = {k: p.get("schema", {}) for k, p in params.items() if p["in"] == "query"}
    id_kind = "upload" if "uploads" in path else next((k for k in ("recording", "job", "event") if k in path), "")
    ids = st.one_of(st.just(world.ids.get(id_kind, 1)), HOSTILE)

    @EXAMPLES
    @given(id_value=ids, query=_field_values(query_fields, world.ids), body=_field_values(body_fields, world.ids),
           raw=st.one_of(st.none(), st.binary(max_size=64), st.sampled_from([b"{", b"\xff\xfe", b"[1,", b"NaN"])),
           offset=HOSTILE)
    def run(id_value: Any, query: dict[str, Any], body: dict[str, Any], raw: bytes | None, offset: Any) -> None:
        url = path.replace("{id}", quote(_form_text(id_value), safe=""))
        if query:
            url += "?" + _query(query)
        headers = dict(world.auth)
        if "application/offset+octet-stream" in content and method == "patch":
            headers["HTTP_UPLOAD_OFFSET"] = _form_text(offset)
            response = world.api.patch(url, data=raw or b"", content_type="application/offset+octet-stream", **headers)
        elif raw is not None and content:
            response = getattr(world.api, method)(url, data=raw, content_type="application/json", **headers)
        elif content:
            response = _send_json(world.api, method, url, body, **headers)
        else:
            response = getattr(world.api, method)(url, **headers)
        _assert_no_500(response, f"{method.upper()} {url[:200]}")

    run()


# --- the hosted stream-producer contract at /api/ ------------------------------------------------

RAID_FIELDS = ["map_name", "character_type", "game_mode", "timestamp"]
HOSTED = [
    ("post", "/api/session", ["session_type", "notes", "started_at"]),
    ("post", "/api/session/end", ["timestamp"]),
    ("get", "/api/sessions", ["started_at"]),
    ("get", "/api/session/current", []),
    ("post", "/api/raid", RAID_FIELDS),
    ("get", "/api/raid/current", []),
    ("get", "/api/raid/{raid}", []),
    ("post", "/api/raid/{raid}/transition", ["to_state", "timestamp"]),
    ("post", "/api/raid/{raid}/kill", ["enemy_type", "weapon", "headshot", "timestamp"]),
    ("post", "/api/raid/{raid}/end", ["outcome", "extract_location", "timestamp"]),
    ("post", "/api/import/session", ["session", "raids"]),
    ("get", "/api/stats", []),
]
CONTRACT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "session_type": st.sampled_from(["stream", "practice", "casual"]),
    "character_type": st.sampled_from(["pmc", "scav"]),
    "game_mode": st.sampled_from(["pve", "pvp"]),
    "to_state": st.sampled_from(["raid_active", "survived"]),
    "outcome": st.sampled_from(["survived", "killed", "mia"]),
    "headshot": st.booleans(),
}
TIMES = st.sampled_from(["2026-01-15T18:00:00Z", "2026-01-15T19:00:00+01:00", "2026-01-15T17:00:00Z"])


def _contract_value(name: str) -> st.SearchStrategy[Any]:
    if name in ("timestamp", "started_at", "ended_at"):
        return st.one_of(TIMES, EDGE_TIMES, HOSTILE)
    return st.one_of(CONTRACT_VALUES.get(name, st.text(min_size=1, max_size=10)), EDGE_STRINGS, HOSTILE)


def _contract_plausible(name: str) -> st.SearchStrategy[Any]:
    if name in ("timestamp", "started_at", "ended_at"):
        return TIMES
    return CONTRACT_VALUES.get(name, st.text(min_size=1, max_size=10))


def _contract_body(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return mutations({name: _contract_plausible(name) for name in names},
                     {name: _contract_value(name) for name in names})


IMPORT_BODY = st.fixed_dictionaries(
    {
        "session": st.one_of(_contract_body(["session_type", "notes", "started_at", "ended_at"]), HOSTILE),
        "raids": st.one_of(
            st.lists(
                st.one_of(
                    _contract_body(["map_name", "character_type", "game_mode", "started_at", "ended_at", "outcome",
                                    "extract_location"]).flatmap(
                        lambda raid: st.fixed_dictionaries(
                            {
                                "transitions": st.lists(_contract_body(["to_state", "timestamp"]), max_size=2),
                                "kills": st.lists(_contract_body(["enemy_type", "weapon", "headshot", "timestamp"]),
                                                  max_size=2),
                            }
                        ).map(lambda extra: {**raid, **extra})
                    ),
                    HOSTILE,
                ),
                max_size=3,
            ),
            HOSTILE,
        ),
    }
)


@pytest.mark.parametrize(("method", "path", "names"), HOSTED, ids=[f"{m} {p}" for m, p, _ in HOSTED])
def test_hosted_contract_never_answers_500(world, method, path, names):
    body_strategy = IMPORT_BODY if path == "/api/import/session" else _contract_body(names)

    @EXAMPLES
    @given(raid=st.one_of(st.just(world.ids["raid"]), HOSTILE), body=body_strategy,
           raw=st.one_of(st.none(), st.sampled_from([b"{", b"\xff", b"[]", b"null", b"1e999"])))
    def run(raid: Any, body: dict[str, Any], raw: bytes | None) -> None:
        url = path.replace("{raid}", quote(_form_text(raid), safe=""))
        if method == "get":
            response = world.api.get(url + ("?" + _query(body) if body else ""), **world.auth)
        elif raw is not None:
            response = world.api.post(url, data=raw, content_type="application/json", **world.auth)
        else:
            response = _send_json(world.api, "post", url, body, **world.auth)
        _assert_no_500(response, f"{method.upper()} {url[:200]}")
        assert response["Content-Type"].startswith("application/json"), url

    run()


# --- page forms -----------------------------------------------------------------------------------

def _event_form_plausible() -> dict[str, st.SearchStrategy[Any]]:
    """Valid choices for the event form's choice fields, so examples get past them to the service's rules."""
    from django import forms as django_forms

    from review.forms import EventForm

    form = EventForm()
    return {
        name: st.sampled_from([str(value) for value, _ in field.choices if value != ""] or [""])
        if isinstance(field, django_forms.ChoiceField) else st.text(max_size=10)
        for name, field in form.fields.items()
    }


PAGE_FORMS = [
    ("post", "/recordings/{recording}/review/events/add/", "event"),
    ("post", "/recordings/{recording}/review/events/{event}/edit/", "event"),
    ("get", "/recordings/{recording}/review/events/add/", ["t", "type"]),
    ("get", "/recordings/{recording}/review/", ["type", "band", "state"]),
    ("post", "/recordings/register/", ["path", "session_type", "started_at", "notes"]),
    ("post", "/recordings/{recording}/started-at/", ["started_at"]),
    ("post", "/recordings/{recording}/detect/", ["detection_fps", "confidence_threshold", "model_version", "two_pass"]),
    ("post", "/importer/target/", ["api_url", "token"]),
    ("post", "/importer/recordings/{recording}/import/", ["dry_run", "next"]),
]


@pytest.mark.parametrize(("method", "path", "names"), PAGE_FORMS, ids=[f"{m} {p}" for m, p, _ in PAGE_FORMS])
def test_page_forms_never_answer_500(world, method, path, names):
    plausible = _event_form_plausible() if names == "event" else {}
    names = list(plausible) if names == "event" else names
    plausible.update(path=st.just(world.ids["path"]), session_type=st.just("stream"),
                     video_offset_seconds=st.floats(min_value=0, max_value=60), started_at=EDGE_TIMES)
    edges = st.one_of(EDGE_STRINGS, EDGE_FLOATS, HOSTILE)

    @EXAMPLES
    @given(fields=mutations({name: plausible.get(name, st.text(max_size=10)) for name in names},
                            {name: edges for name in names}))
    def run(fields: dict[str, Any]) -> None:
        url = path.replace("{recording}", str(world.ids["recording"])).replace("{event}", str(world.ids["event"]))
        data = {name: _form_text(value) for name, value in fields.items()}
        if method == "get":
            response = world.page.get(url + ("?" + _query(data) if data else ""), HTTP_HX_REQUEST="true")
        else:
            response = world.page.post(url, data, HTTP_HX_REQUEST="true")
        _assert_no_500(response, f"{method.upper()} {url} {str(data)[:200]}")

    run()
