"""JSON answers of the hot ingest endpoints, built without the response-model round trip.

FastAPI validates a handler's return value against its ``response_model`` and serialises it with
pydantic; for ``POST /events/batch`` (up to 1000 results) that round trip cost more than building
the answer. The handler builds dicts already shaped like its model (same fields, same order,
JSON-native values; ``tests/api/test_ingest_path.py`` holds it to that) and returns them through
``json_response``; the model stays on the route for the OpenAPI schema.

Request bodies stay with FastAPI's standard parser: orjson would be faster, but it reads some
bodies differently (integers beyond 64 bits become floats), which would change error answers.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response
from pydantic_core import to_jsonable_python

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson ships with the server extra; json is the fallback
    _orjson = None  # type: ignore[assignment]


def dumps(content: Any) -> bytes:
    """Compact JSON; values that are not JSON-native (numpy numbers, UUIDs) as pydantic does."""
    if _orjson is not None:
        return _orjson.dumps(content, default=to_jsonable_python)
    return json.dumps(
        content, default=to_jsonable_python, ensure_ascii=False, separators=(",", ":")
    ).encode()


def json_response(content: Any, status_code: int) -> Response:
    return Response(dumps(content), status_code=status_code, media_type="application/json")
