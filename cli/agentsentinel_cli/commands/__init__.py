"""The ``sentinel scan`` and ``sentinel discover`` commands (the engines live elsewhere).

Key contracts:
- Commands parse flags and config, call the engine entry point, apply suppressions / inline
  ignores / ``--baseline`` (``filters.py``), render with ``agentsentinel_cli.report`` and exit:
  0 clean, 1 findings at or above ``--fail-on``, 2 usage error (bad flag, value, config or path),
  3 the run could not complete (engine error, unreadable target, ``--connect`` failure).
- Machine output goes to stdout (or ``--output``); progress, warnings and errors to stderr only.
- Nothing on this path imports the server (fastapi, sqlalchemy, pydantic, ...).
"""
