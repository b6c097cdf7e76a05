"""Alerts: an outbox table written in the triggering transaction, delivered by a dispatcher.

Importing this package (and ``urls``/``signing``) needs only the standard library: the settings
validate webhook URLs with it. The outbox, triggers and dispatcher import the server stack.
"""
