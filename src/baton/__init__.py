"""Baton: many bots, one conversation."""

__version__ = "0.1.0"
