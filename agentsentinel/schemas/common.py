"""Shared field types and base classes for request and response models."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)


def _lower(value: str) -> str:
    return value.lower()


def _as_utc(value: datetime) -> datetime:
    # Clients may send naive ISO strings; they are read as UTC rather than rejected.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00: before year 1 in UTC
        raise ValueError("date out of range") from None


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Sha256Hex = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-fA-F]{64}$"),
    AfterValidator(_lower),
    Field(description="SHA-256 as 64 hex characters (any case; stored lower-case)"),
]
UTCDatetime = Annotated[datetime, AfterValidator(_as_utc)]
FiniteFloat = Annotated[float, AfterValidator(_finite)]
ShortText = Annotated[str, StringConstraints(max_length=255)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Response timestamps always carry their offset (UTC), whatever the backend returned.
OutDatetime = Annotated[
    datetime, PlainSerializer(lambda v: _as_utc(v).isoformat(), return_type=str)
]


def _nul_at(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where a NUL character sits in a JSON value (a string, a key, nested), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return (*path, key)
            found = _nul_at(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*path, index))
            if found is not None:
                return found
    return None


class RequestModel(BaseModel):
    """Request bodies: unknown fields are an error, so typos never pass silently.

    No text may hold a NUL character (``\\u0000``): Postgres cannot store one in text or JSON,
    so it is refused here, on every backend alike, instead of failing after acceptance.
    Fields listed in ``_nul_checked_later`` hold items validated on their own (batch items).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    _nul_checked_later: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if key in cls._nul_checked_later:
                    continue
                where = _nul_at(value, (key,))
                if where is not None:
                    shown = ".".join(str(part) for part in where)
                    raise ValueError(f"{shown}: text may not contain NUL characters (\\u0000)")
        return data


class ResponseModel(BaseModel):
    """Response bodies, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)
