"""Shared field types and base classes for request and response models."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
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


class RequestModel(BaseModel):
    """Request bodies: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    """Response bodies, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)
