"""Secrets in query strings stay out of the access log."""

from __future__ import annotations

import logging

from baton.server.access_log import SecretQueries, without_secrets


def test_the_verify_token_and_other_secret_parameters_are_hidden() -> None:
    path = "/channels/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=7"
    assert without_secrets(path) == (
        "/channels/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=7"
    )
    assert without_secrets("/x?Token=a&keep=1&api_key=b") == "/x?Token=…&keep=1&api_key=…"
    assert without_secrets("/v1/contacts?limit=5") == "/v1/contacts?limit=5"


def test_uvicorns_access_record_is_rewritten() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/w?hub.verify_token=s3cret", "1.1", 200),
        None,
    )
    assert SecretQueries().filter(record)
    assert "s3cret" not in record.getMessage()
