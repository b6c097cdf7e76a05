"""Bad input never yields a 5xx: schemathesis drives every operation of the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from agentsentinel.settings import Settings
from tests.conftest import TEST_SECRET, LiveServer, run_live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("fuzz")
    with run_live_server(
        Settings(
            data_dir=Path(data),
            secret_key=TEST_SECRET,
            run_worker=True,
            show_docs=True,
            reply_timeout_ms=1000,
            auth_failures_per_minute=100_000,
            shard_count=2,
        )
    ) as server:
        yield server


@pytest.mark.slow
def test_no_server_errors(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/events/stream":
            continue  # an endless SSE response; covered by tests/integration
        operations += 1

        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(
                base_url=live.base_url, headers={"X-API-Key": live.admin_key}, timeout=30
            )
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> "
                    f"{response.status_code}: {response.text[:200]}"
                )
            elif response.status_code >= 400:
                content_type = response.headers.get("content-type") or [""]
                if str(content_type[0]).startswith("application/json"):
                    assert "detail" in response.json()

        check()
    assert operations >= 20
    assert not failures, "\n".join(failures[:20])
