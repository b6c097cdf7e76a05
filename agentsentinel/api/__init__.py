"""The REST API v1: app factory, dependencies, one router per resource."""
