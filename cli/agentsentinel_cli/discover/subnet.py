"""Phase one of an endpoint sweep: which (host, port) pairs accept a TCP connection.

Key contracts:
- Targets are produced lazily from ``ip_network(...).hosts()``: a /8 is never materialised, and
  the sweep holds at most ``concurrency`` connections (and no queue of pending targets) at a time.
- A connection that is refused, unreachable or slower than ``timeout_s`` is "closed"; nothing is
  sent on open sockets here (protocol probes are phase two, in ``probes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator

from agentsentinel_cli.discover.options import Network

Target = tuple[str, int]
Progress = Callable[[int, int], None]


def iter_targets(network: Network, ports: Iterable[int]) -> Iterator[Target]:
    """Every (host, port) of the range, host-major, generated on demand."""
    port_list = tuple(ports)
    for address in network.hosts():
        host = str(address)
        for port in port_list:
            yield host, port


def target_count(network: Network, ports: Iterable[int]) -> int:
    """How many targets ``iter_targets`` yields, without iterating."""
    hosts = network.num_addresses
    # hosts() leaves out the network and broadcast addresses of IPv4 ranges larger than /31,
    # and the subnet-router anycast address of IPv6 ranges larger than /127.
    if network.version == 4 and network.prefixlen < 31:
        hosts -= 2
    elif network.version == 6 and network.prefixlen < 127:
        hosts -= 1
    return max(hosts, 0) * len(tuple(ports))


async def is_open(host: str, port: int, timeout_s: float) -> bool:
    """Whether a TCP connection to ``host:port`` completes within ``timeout_s``."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    loop = asyncio.get_running_loop()
    # A raw non-blocking socket: an asyncio transport per target would triple the cost of a sweep
    # where nearly every port is closed.
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout_s):
            await loop.sock_connect(sock, (host, port))
    except (OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    return True


async def sweep(
    targets: Iterable[Target],
    *,
    timeout_s: float,
    concurrency: int,
    total: int | None = None,
    progress: Progress | None = None,
) -> list[Target]:
    """The open targets, sorted; ``concurrency`` workers pull from the one shared iterator."""
    iterator = iter(targets)
    found: list[Target] = []
    done = 0
    step = max(1, (total or 0) // 200)

    async def worker() -> None:
        nonlocal done
        # Workers share the iterator; no await happens between next() and the connect, so two
        # workers never receive the same target.
        for host, port in iterator:
            if await is_open(host, port, timeout_s):
                found.append((host, port))
            done += 1
            if progress is not None and total is not None and done % step == 0:
                progress(done, total)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    if progress is not None and total is not None:
        progress(done, total)
    return sorted(found, key=lambda t: (ipaddress.ip_address(t[0]), t[1]))
