"""``sentinel discover``: agents, MCP servers and model APIs running on this host or network.

``discover(options, progress=...)`` returns a ``Report`` (command ``"discover"``); see
``engine`` for the contracts and ``options.DiscoverOptions`` for what it looks at.
"""

from agentsentinel_cli.discover.engine import discover, discover_async
from agentsentinel_cli.discover.options import DEFAULT_PORTS, DiscoverOptions

__all__ = ["DEFAULT_PORTS", "DiscoverOptions", "discover", "discover_async"]
