"""Tests of baton.server."""
