"""What ``sentinel discover`` looks at: one frozen, validated set of options."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Ports where MCP servers, LLM gateways and local model servers usually listen: web defaults,
# dev servers (3000/5000/8000/8080 families), MCP Inspector (6274/6277), LiteLLM (4000),
# LM Studio (1234), Gradio (7860), Ollama (11434), vLLM/TGI (8000/8080), Jupyter (8888).
DEFAULT_PORTS: Final[tuple[int, ...]] = (
    80,
    443,
    1234,
    3000,
    3001,
    4000,
    5000,
    5001,
    6274,
    6277,
    7860,
    8000,
    8001,
    8080,
    8081,
    8787,
    8888,
    9000,
    11434,
)

# Largest range swept without ``allow_large_subnet`` (a /16 of IPv4, a /112 of IPv6): bigger
# sweeps take long, look like an attack to network monitoring and are rarely meant.
MAX_SUBNET_ADDRESSES: Final = 2**16
MAX_CONCURRENCY: Final = 4096
MAX_TIMEOUT_S: Final = 60.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class DiscoverOptions:
    """Options of one discover run; invalid values raise ``ValueError`` with a friendly message.

    ``local_endpoints`` probes the sockets this host listens on (never another host);
    ``subnet`` is only swept when given explicitly, and a range larger than a /16 also needs
    ``allow_large_subnet=True``.
    """

    processes: bool = True
    local_endpoints: bool = True
    subnet: str | None = None
    ports: tuple[int, ...] = DEFAULT_PORTS
    timeout_s: float = 0.5
    concurrency: int = 256
    paths: tuple[Path, ...] = ()
    docker: bool = False
    configs: bool = False
    allow_large_subnet: bool = False

    def __post_init__(self) -> None:
        if not self.ports:
            raise ValueError("no ports to probe: give at least one port")
        bad = [p for p in self.ports if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"invalid port {bad[0]}: ports are 1-65535")
        object.__setattr__(self, "ports", tuple(sorted(set(self.ports))))
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout must be > 0 and <= {MAX_TIMEOUT_S:g} seconds")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        object.__setattr__(self, "paths", tuple(Path(p) for p in self.paths))
        self.network()  # validates the CIDR and its size

    def network(self) -> Network | None:
        """The subnet to sweep, or ``None``; ``ValueError`` when invalid or too large."""
        if self.subnet is None:
            return None
        try:
            network = ipaddress.ip_network(self.subnet.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"invalid subnet {self.subnet!r}: expected a CIDR range such as 192.168.1.0/24"
            ) from None
        if network.num_addresses > MAX_SUBNET_ADDRESSES and not self.allow_large_subnet:
            largest = "/16" if network.version == 4 else "/112"
            raise ValueError(
                f"subnet {network} has {network.num_addresses:,} addresses; ranges larger than "
                f"{largest} need an explicit opt-in (--allow-large-subnet)"
            )
        return network
