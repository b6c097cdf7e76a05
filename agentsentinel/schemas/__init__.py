"""Pydantic models of the REST API: ``*Create`` / ``*Update`` in, ``*Read`` out."""
