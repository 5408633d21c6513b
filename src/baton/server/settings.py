"""Server settings: the project's ``baton.yml`` settings, then ``BATON_*`` and provider env vars.

Secrets (provider tokens) come from the environment only, never from the project.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from baton.channels.base import Channel
from baton.channels.meta import MessengerChannel, WhatsAppChannel, instagram_channel
from baton.channels.twilio import TwilioChannel
from baton.domain.errors import BatonError
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.runtime.engine import project_database_url
from baton.spec.project import Project


@dataclass
class ServerSettings:
    """Everything ``baton serve`` needs besides the project."""

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    account_id: str = DEFAULT_ACCOUNT
    max_body_bytes: int = 64 * 1024
    #: the cap for providers' webhooks (Meta documents payloads of up to 3 MB)
    max_webhook_bytes: int = 3 * 1024 * 1024
    #: a request's body must arrive within this many seconds of the request (else 408)
    body_seconds: float = 30.0
    #: open connections (WebSockets included) over which new requests get 503: by
    #: default what the process's file limit leaves beside the database and outbound calls
    max_connections: int = field(default_factory=lambda: default_max_connections())
    contact_rate_per_minute: int = 60
    key_rate_per_minute: int = 600
    public_url: str | None = None
    #: when set, the REST channels (``/channels/rest/...``, ``/webhooks/rest/webhook``)
    #: take only requests with ``Authorization: Bearer <rest_secret>``
    rest_secret: str | None = None
    outbox_poll_seconds: float = 0.5
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 1.0
    outbox_backoff_cap_seconds: float = 300.0
    send_timeout_seconds: float = 10.0
    timer_rescan_seconds: float = 60.0  # timers set by other processes fire within this
    channels: dict[str, Channel] = field(default_factory=dict)
    freeze_gc: bool = False  # gc.freeze() after start-up and then periodically (collector.py)
    gc_freeze_seconds: float = 1.0
    gc_thaw_minutes: float = 60.0

    @property
    def ws_max_bytes(self) -> int:
        """The WebSocket frame size over which uvicorn closes the connection (1009).

        Four times the body cap: a frame over the cap but under this gets an ``error``
        frame and the socket stays open (``serve_socket``); a bigger one is never held.
        """
        return 4 * self.max_body_bytes

    @classmethod
    def from_env(
        cls, project: Project | None = None, environ: Mapping[str, str] | None = None
    ) -> ServerSettings:
        """Read the project's settings, then the environment (which wins)."""
        env = os.environ if environ is None else environ
        base = cls()
        if project is not None:
            base.host = project.settings.settings.host
            base.port = project.settings.settings.port
            base.database_url = project_database_url(project)
        base.host = env.get("BATON_HOST", base.host)
        base.port = _whole(env, "BATON_PORT", base.port, 1, 65535)
        base.database_url = env.get("BATON_DATABASE_URL", base.database_url or "") or None
        base.account_id = env.get("BATON_ACCOUNT", base.account_id)
        base.max_body_bytes = _whole(
            env, "BATON_MAX_BODY_BYTES", base.max_body_bytes, MIN_BODY_BYTES
        )
        base.max_webhook_bytes = _whole(
            env, "BATON_MAX_WEBHOOK_BYTES", base.max_webhook_bytes, MIN_BODY_BYTES
        )
        base.body_seconds = _seconds(env, "BATON_BODY_SECONDS", base.body_seconds, zero=False)
        base.max_connections = _whole(env, "BATON_MAX_CONNECTIONS", base.max_connections, 1)
        base.contact_rate_per_minute = _whole(
            env, "BATON_CONTACT_RATE_PER_MINUTE", base.contact_rate_per_minute, 1
        )
        base.key_rate_per_minute = _whole(
            env, "BATON_KEY_RATE_PER_MINUTE", base.key_rate_per_minute, 1
        )
        base.public_url = env.get("BATON_PUBLIC_URL") or None
        base.rest_secret = env.get("BATON_REST_SECRET") or None
        base.outbox_poll_seconds = _seconds(
            env, "BATON_OUTBOX_POLL_SECONDS", base.outbox_poll_seconds, zero=False
        )
        base.outbox_max_attempts = _whole(
            env, "BATON_OUTBOX_MAX_ATTEMPTS", base.outbox_max_attempts, 1
        )
        base.outbox_backoff_seconds = _seconds(
            env, "BATON_OUTBOX_BACKOFF_SECONDS", base.outbox_backoff_seconds, zero=True
        )
        base.timer_rescan_seconds = _seconds(
            env, "BATON_TIMER_RESCAN_SECONDS", base.timer_rescan_seconds, zero=False
        )
        base.gc_freeze_seconds = _seconds(
            env, "BATON_GC_FREEZE_SECONDS", base.gc_freeze_seconds, zero=True
        )
        base.gc_thaw_minutes = _seconds(
            env, "BATON_GC_THAW_MINUTES", base.gc_thaw_minutes, zero=False
        )
        base.channels = channels_from_env(env, base.public_url)
        return base


MIN_BODY_BYTES = 1024  # below this even a short message's JSON would be refused
#: file descriptors kept aside from connections: the database, the logs, outbound HTTP
RESERVED_FILES = 256


def default_max_connections() -> int:
    """The open-file limit (``ulimit -n``) less ``RESERVED_FILES``: clients that hold
    connections open can then never take the descriptors the store and the outbox need
    (they did: 420 slow uploads with a limit of 400 stopped /health and the outbox)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        return 1000
    if soft == resource.RLIM_INFINITY:
        return 100_000
    return max(soft - RESERVED_FILES, 16)


class SettingInvalid(BatonError, ValueError):
    """A ``BATON_*`` environment variable that can't be used; the message names it."""


def _whole(
    env: Mapping[str, str], name: str, default: int, least: int, most: int | None = None
) -> int:
    """A whole number from the environment, within ``least``..``most``."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    bounds = f"from {least} to {most}" if most is not None else f"{least} or more"
    if value is None or value < least or (most is not None and value > most):
        raise SettingInvalid(f"{name}={raw!r}: expected a whole number {bounds}; fix or unset it")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, *, zero: bool) -> float:
    """A finite number from the environment: positive, or also 0 when ``zero``."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        bounds = "0 or more" if zero else "more than 0"
        raise SettingInvalid(f"{name}={raw!r}: expected a number {bounds}; fix or unset it")
    return value


def channels_from_env(env: Mapping[str, str], public_url: str | None = None) -> dict[str, Channel]:
    """The provider channels whose credentials are set, by URL name."""
    found: dict[str, Channel] = {}
    if env.get("TWILIO_AUTH_TOKEN") and env.get("TWILIO_ACCOUNT_SID"):
        found["twilio"] = TwilioChannel(
            account_sid=env["TWILIO_ACCOUNT_SID"],
            auth_token=env["TWILIO_AUTH_TOKEN"],
            from_number=env.get("TWILIO_FROM_NUMBER", ""),
            base_url=env.get("TWILIO_BASE_URL", "https://api.twilio.com"),
            public_url=f"{public_url.rstrip('/')}/channels/twilio/webhook" if public_url else None,
        )
    secret, token = env.get("META_APP_SECRET"), env.get("META_VERIFY_TOKEN", "")
    graph = env.get("META_GRAPH_URL", "https://graph.facebook.com")
    version = env.get("META_API_VERSION", "v21.0")
    if secret and env.get("WHATSAPP_ACCESS_TOKEN"):
        found["whatsapp"] = WhatsAppChannel(
            secret,
            token,
            env["WHATSAPP_ACCESS_TOKEN"],
            graph,
            version,
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        )
    if secret and env.get("MESSENGER_ACCESS_TOKEN"):
        found["messenger"] = MessengerChannel(
            secret, token, env["MESSENGER_ACCESS_TOKEN"], graph, version
        )
    if secret and env.get("INSTAGRAM_ACCESS_TOKEN"):
        found["instagram"] = instagram_channel(
            secret, token, env["INSTAGRAM_ACCESS_TOKEN"], graph, version
        )
    return found
