"""Options validation and the lazy, bounded TCP sweep."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import tracemalloc

import pytest
from agentsentinel_cli.discover import DEFAULT_PORTS, DiscoverOptions
from agentsentinel_cli.discover.subnet import iter_targets, sweep, target_count


@pytest.mark.parametrize("subnet", ["10.0.0.300/24", "not-a-cidr", "10.0.0.0/33", ""])
def test_bad_cidr_is_a_friendly_value_error(subnet: str) -> None:
    with pytest.raises(ValueError, match=r"invalid subnet .* expected a CIDR range"):
        DiscoverOptions(subnet=subnet)


def test_ranges_larger_than_a_slash_16_need_the_explicit_opt_in() -> None:
    with pytest.raises(ValueError, match=r"need an explicit opt-in \(--allow-large-subnet\)"):
        DiscoverOptions(subnet="10.0.0.0/15")
    assert DiscoverOptions(subnet="10.0.0.0/16").network() == ipaddress.ip_network("10.0.0.0/16")
    options = DiscoverOptions(subnet="10.0.0.0/8", allow_large_subnet=True)
    assert options.network() == ipaddress.ip_network("10.0.0.0/8")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ports": ()}, "no ports"),
        ({"ports": (0,)}, "invalid port 0"),
        ({"ports": (70000,)}, "invalid port 70000"),
        ({"timeout_s": 0}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_invalid_options_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DiscoverOptions(**kwargs)  # type: ignore[arg-type]


def test_a_slash_8_is_iterated_lazily() -> None:
    network = ipaddress.ip_network("10.0.0.0/8")
    tracemalloc.start()
    try:
        first = list(itertools.islice(iter_targets(network, DEFAULT_PORTS), 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first[0] == ("10.0.0.1", DEFAULT_PORTS[0])
    assert first[len(DEFAULT_PORTS)] == ("10.0.0.2", DEFAULT_PORTS[0])
    # 16.7M hosts x ports materialised would be gigabytes; the first 1000 take kilobytes.
    assert peak < 2_000_000
    assert target_count(network, DEFAULT_PORTS) == (2**24 - 2) * len(DEFAULT_PORTS)


def test_target_count_matches_iteration_for_small_ranges() -> None:
    for cidr in ("192.168.1.0/29", "10.0.0.0/31", "10.0.0.5/32", "fd00::/125"):
        network = ipaddress.ip_network(cidr)
        assert target_count(network, (80, 443)) == len(list(iter_targets(network, (80, 443))))


def test_sweep_of_loopback_slash_24_finds_the_listening_port() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    progress: list[tuple[int, int]] = []
    try:
        network = ipaddress.ip_network("127.0.0.0/24")
        ports = (port, 1)  # port 1 is closed on loopback
        found = asyncio.run(
            sweep(
                iter_targets(network, ports),
                timeout_s=0.5,
                concurrency=64,
                total=target_count(network, ports),
                progress=lambda done, total: progress.append((done, total)),
            )
        )
    finally:
        listener.close()
    assert ("127.0.0.1", port) in found
    assert all(p == port for _, p in found)
    assert progress[-1] == (254 * 2, 254 * 2)
