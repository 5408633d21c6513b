"""Tests of baton.channels."""
