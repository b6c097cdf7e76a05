"""The ``sentinel scan`` engine: static posture of agent source code.

Key contracts:
- ``scan(paths, ...) -> Report`` never prints and never decides exit codes; progress goes through
  the ``progress(done, total)`` callback. A missing path raises ``FileNotFoundError``; a file that
  cannot be read or parsed becomes a ``ScanError`` and the scan goes on.
- Pipeline: ``files`` (walk, excludes, limits) -> ``extract`` per file (``python_ast`` for
  Python, ``mcp_configs`` for MCP client configs, ``credentials`` for every text file), cached by
  content hash (``cache``) and run in worker processes for large cold trees -> ``resolve``
  (names across modules, tools attached to agents, implicit per-file agents) -> the shared
  classifier and posture rules of ``agentsentinel.posture`` per agent.
- Framework forms are data in ``frameworks``; there is no classification or rule logic here.
"""

from agentsentinel_cli.scan.engine import ENGINE_VERSION, scan

__all__ = ["ENGINE_VERSION", "scan"]
