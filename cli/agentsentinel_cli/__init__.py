"""The ``sentinel`` command."""
