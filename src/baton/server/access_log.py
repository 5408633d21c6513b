"""The access log without secrets from query strings.

Meta's subscription check is a GET with ``hub.verify_token=...`` in its query, and
uvicorn's access log writes each request's path and query as they came; a token in a
log file is a token anyone with the logs can subscribe with.
"""

from __future__ import annotations

import logging
import re

#: query parameters whose values are secrets
SECRET_PARAMETERS = ("hub.verify_token", "access_token", "api_key", "apikey", "token", "key")
_SECRET = re.compile(
    r"([?&](?:" + "|".join(re.escape(p) for p in SECRET_PARAMETERS) + r")=)[^&#\s]*",
    re.IGNORECASE,
)


def without_secrets(path: str) -> str:
    """``path`` with the values of secret query parameters replaced by "…"."""
    return _SECRET.sub(r"\1…", path) if "=" in path else path


class SecretQueries(logging.Filter):
    """Rewrites uvicorn's access records (``client, method, path, version, status``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], without_secrets(args[2]), *args[3:])
        return True


def hide_secret_queries(logger: logging.Logger | None = None) -> None:
    """Install the filter on uvicorn's access logger (once)."""
    target = logger or logging.getLogger("uvicorn.access")
    if not any(isinstance(f, SecretQueries) for f in target.filters):
        target.addFilter(SecretQueries())
