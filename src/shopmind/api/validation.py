"""Input validation that never answers 500: checked path keys, text policy, safe 422 bodies.

Three pieces, each the one place for its rule:

- ``ProductKeyPath``: the product key of every route, checked by ``store.keys`` (ASCII-digit
  ids, no control characters, at most 255 characters); a bad key is 422 at
  ``["path", "product"]`` before any lookup.
- ``refuse_lone_surrogates``: the text policy of every ``/v1`` route. JSON escapes can
  carry lone surrogates (``"\\ud800"``), which are not text (the rule of
  :mod:`shopmind.safety.chars`): they cannot be encoded as UTF-8, so they cannot be
  stored, logged or sent back. A JSON body holding one anywhere
  (value or object key, valid position or not) is refused with 422 naming its place, after
  the API-key check and before the body is validated. URLs, query strings and headers
  cannot carry one (they are decoded with replacement), so the body is the only door.
- ``validation_error_handler``: FastAPI's 422 list, made safe for any input: every
  echoed string is cut to ``MAX_ECHO`` characters with lone surrogates replaced by U+FFFD,
  bytes are decoded with replacement, NaN and infinities become text, nesting and list
  lengths are bounded, and at most ``MAX_ERRORS`` errors are listed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from shopmind.safety.chars import has_lone_surrogate, replace_lone_surrogates
from shopmind.store.keys import MAX_KEY_LENGTH, parse_product_key

MAX_ECHO = 100  # characters of an echoed string
MAX_ITEMS = 10  # items of an echoed list or object
MAX_DEPTH = 3  # nesting of an echoed value
MAX_ERRORS = 50  # errors listed in one 422
# A JSON escape of a surrogate code point (\ud800-\udfff); lone or paired, the walk decides.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_product_key(value: str) -> str:
    parse_product_key(value)  # ProductKeyError is a ValueError: pydantic makes it a 422
    return value


ProductKeyPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description=(
            "Internal id (ASCII digits) or external id (handle, SKU key); no control characters."
        ),
    ),
    AfterValidator(_check_product_key),
]


async def refuse_lone_surrogates(request: Request) -> None:
    """Refuse a JSON body that holds a lone surrogate anywhere, naming where (422)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return  # not parsed as JSON: the body's own validation refuses it
    body = await request.body()
    if not _may_hold_surrogate(body):
        return
    try:
        data = await request.json()  # parsed (and cached) already by FastAPI
    except (ValueError, RecursionError):
        return  # not JSON: FastAPI has answered that before this runs
    found = find_lone_surrogate(data)
    if found is not None:
        path, text = found
        raise RequestValidationError(
            [
                {
                    "type": "string_unicode",
                    "loc": ("body", *path),
                    "msg": "Input should be valid Unicode text: it holds a lone surrogate",
                    "input": safe_text(text, MAX_ECHO),
                }
            ]
        )


def _may_hold_surrogate(body: bytes) -> bool:
    """False when ``body`` cannot decode to a lone surrogate (cheap test before the walk)."""
    if b"\x00" in body:
        return True  # UTF-16/32 JSON (json.loads reads those too); UTF-8 JSON holds no NUL byte
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True  # CESU-8 bytes: json.loads decodes them with 'surrogatepass'
    return _SURROGATE_ESCAPE.search(body) is not None


def find_lone_surrogate(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The first string or object key holding a lone surrogate in a parsed JSON value (in
    document order, an object's keys before its values), as (place: keys and indexes, the
    text); ``None`` when there is none."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                return path, item
        elif isinstance(item, Mapping):
            for key in item:
                if isinstance(key, str) and has_lone_surrogate(key):
                    return (*path, safe_text(key)), key
            stack.extend(((*path, k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
    return None


def safe_text(text: str, limit: int | None = None) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, cut to ``limit`` characters."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    return replace_lone_surrogates(text)


def _preview(value: Any, depth: int = 0) -> Any:
    """A bounded, JSON-safe copy of an input to echo back."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: MAX_ECHO * 4]).decode("utf-8", "replace")
    if isinstance(value, str):
        return safe_text(value, MAX_ECHO)
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {safe_text(str(k), MAX_ECHO): _preview(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS:,} more keys"
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq = list(value)
        out_list = [_preview(v, depth + 1) for v in seq[:MAX_ITEMS]]
        if len(seq) > MAX_ITEMS:
            out_list.append(f"… {len(seq) - MAX_ITEMS:,} more items")
        return out_list
    return safe_text(str(value), MAX_ECHO)  # exceptions in ``ctx`` and other objects


def safe_error(error: Mapping[str, Any]) -> dict[str, Any]:
    """One validation error with every part made safe to send back."""
    loc = [
        p if isinstance(p, int) and not isinstance(p, bool) else safe_text(str(p), MAX_ECHO)
        for p in error.get("loc", ())
    ]
    out: dict[str, Any] = {
        "type": safe_text(str(error.get("type", "value_error")), MAX_ECHO),
        "loc": loc,
        "msg": safe_text(str(error.get("msg", "")), 4 * MAX_ECHO),
    }
    if "input" in error:
        out["input"] = _preview(error["input"])
    ctx = error.get("ctx")
    if isinstance(ctx, Mapping) and ctx:
        out["ctx"] = _preview(ctx)
    return out


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's ``{"detail": [{type, loc, msg, input, ctx}]}``, safe for any input."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse({"detail": [safe_error(e) for e in errors[:MAX_ERRORS]]}, status_code=422)
