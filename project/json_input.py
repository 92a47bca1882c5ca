"""JSON bodies whose text no database can store are refused at the door, for every API at once.

PostgreSQL refuses NUL (U+0000) in text and jsonb, and no database driver can encode a lone
surrogate (`"\\ud800"` is valid JSON but not valid UTF-8). Checked once here, no field anywhere
needs to remember it, and SQLite and PostgreSQL answer the same 400.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class UnstorableText(ValueError):
    pass


def refuse_unstorable_text(value: Any, where: str = "body") -> None:
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key), where)
            refuse_unstorable_text(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_unstorable_text(item, f"{where}[{index}]")


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise UnstorableText(f"{where}: text may not contain NUL (\\u0000) characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText(f"{where}: text may not contain lone surrogates (not valid UTF-8)") from None


class StrictJSONParser(JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        try:
            refuse_unstorable_text(data)
        except UnstorableText as exc:
            raise ParseError(str(exc)) from None
        return data
