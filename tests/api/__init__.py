"""Tests of baton.api."""
