"""Bots that run in-process: flow bots compiled from a project's YAML."""
