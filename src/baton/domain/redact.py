"""URLs as events and errors may show them: without what often carries a secret.

A webhook's or a service's URL may hold a token in its query (``?token=...``,
``?api-key=...``), its user info (``https://user:password@host``) or the rest of its
path (Slack's ``/services/T000/B000/XXXX``). Failure texts and results that name one
are stored in the conversation's log for good, shown in transcripts, by the API and in
``baton chat``; so they keep the scheme, the host, the port and the first path segment,
enough to tell which service failed, and mark what they leave out with "…".
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redacted_url(url: str) -> str:
    """``https://hooks.example.com/services/…?…`` for a URL with a path and a query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL after all (a bad port): nothing of it is shown
        return "…"
    segments = [s for s in parts.path.split("/") if s]
    path = f"/{segments[0]}" if segments else ""
    if len(segments) > 1:
        path += "/…"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{path}{query}"


def redact_urls(text: str) -> str:
    """``text`` with every URL in it shown as :func:`redacted_url` shows it."""
    return _URL.sub(lambda m: redacted_url(m.group(0)), text)
