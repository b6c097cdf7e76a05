"""Tool-call events: the six classic fields plus optional extensions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator

from agentsentinel.schemas.common import (
    FiniteFloat,
    OutDatetime,
    RequestModel,
    ResponseModel,
    Sha256Hex,
    ShortText,
    Tag,
    UTCDatetime,
)

MAX_DURATION_MS = 86_400_000
MAX_BATCH = 1000
EventSource = Literal["langchain", "mcp-shim", "sdk", "api", "cli", "otel"]
MetricName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EventCreate(RequestModel):
    agent_id: uuid.UUID
    tool_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    input_hash: Sha256Hex
    output_hash: Sha256Hex
    duration_ms: Annotated[int | None, Field(ge=0, le=MAX_DURATION_MS)] = None
    session_id: ShortText | None = None
    event_id: uuid.UUID | None = Field(
        default=None, description="Client-chosen idempotency key: re-sending never duplicates"
    )
    occurred_at: UTCDatetime | None = Field(
        default=None,
        description="Client time of the call (UTC). Past times are accepted within the retention "
        "window; more than 5 minutes in the future is replaced by the receive time and marked.",
    )
    status: Literal["ok", "error"] = "ok"
    error_type: ShortText | None = None
    input_bytes: Annotated[int | None, Field(ge=0, le=2**40)] = None
    output_bytes: Annotated[int | None, Field(ge=0, le=2**40)] = None
    target_hash: Sha256Hex | None = None
    tool_definition_hash: Sha256Hex | None = None
    tags: Annotated[list[Tag] | None, Field(max_length=32)] = None
    metrics: dict[MetricName, FiniteFloat] | None = None
    source: EventSource | None = None
    trace_id: Annotated[str | None, StringConstraints(pattern=r"^[0-9a-fA-F]{1,32}$")] = None
    span_id: Annotated[str | None, StringConstraints(pattern=r"^[0-9a-fA-F]{1,16}$")] = None
    parent_event_id: uuid.UUID | None = None

    @field_validator("metrics")
    @classmethod
    def _bounded_metrics(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and len(value) > 32:
            raise ValueError("at most 32 metrics")
        return value


class EventBatchCreate(RequestModel):
    _nul_checked_later: ClassVar[frozenset[str]] = frozenset({"events"})

    events: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=MAX_BATCH,
            description="Up to 1000 events, each shaped like the body of POST /events; each is "
            "validated on its own, so one bad event is rejected alone.",
        ),
    ]


class ReasonRead(ResponseModel):
    """One signal behind an anomaly score: what was expected and what was observed."""

    signal: str = Field(description="Sub-signal, e.g. ungranted_tool, transition, rate.60s")
    detail: str
    expected: str | None = None
    observed: str | None = None
    p_value: float | None = Field(default=None, description="The signal's p-value (small = rare)")


class EventAccepted(ResponseModel):
    event_id: uuid.UUID
    anomaly_score: float | None = Field(
        description="Calibrated anomaly score in [0, 1]; null while the score is pending"
    )
    timestamp: OutDatetime
    reasons: list[ReasonRead] = Field(default_factory=list)
    status: Literal["accepted", "pending", "duplicate"] = Field(
        description="accepted: stored and scored; pending: queued, score not ready within the "
        "deadline; duplicate: this event_id was already stored"
    )
    received_at: OutDatetime
    clock_adjusted: bool = False


class BatchItemResult(ResponseModel):
    index: int
    event_id: uuid.UUID | None = None
    status: Literal["accepted", "rejected"]
    anomaly_score: float | None = None
    error: Any = None


class BatchAccepted(ResponseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


class EventRead(ResponseModel):
    event_id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    tool_name: str
    anomaly_score: float | None
    duration_ms: int | None
    session_id: str | None
    timestamp: OutDatetime
    received_at: OutDatetime
    clock_adjusted: bool
    status: str
    error_type: str | None
    input_hash: str
    output_hash: str
    input_bytes: int | None
    output_bytes: int | None
    target_hash: str | None
    tool_definition_hash: str | None
    tags: list[str] | None
    metrics: dict[str, float] | None
    source: str | None
    trace_id: str | None
    span_id: str | None
    parent_event_id: uuid.UUID | None
    reasons: list[ReasonRead] | None
