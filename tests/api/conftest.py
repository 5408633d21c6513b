"""The API tests share the server fixtures (the clinic served in-process)."""

from tests.server.conftest import clinic_root, provider, served

__all__ = ["clinic_root", "provider", "served"]
