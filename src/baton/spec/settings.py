"""``baton.yml``: the project's name, channels and runtime settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from baton.spec.base import LanguageCode, SpecModel
from baton.spec.workflow import WorkflowSettings

CHANNELS = ("web", "rest", "sms", "whatsapp", "messenger", "instagram", "cli")


def _store_url(text: str) -> str:
    """A SQLite or PostgreSQL URL, or a plain path to a SQLite file (as the store takes)."""
    scheme = text.partition("://")[0].partition("+")[0] if "://" in text else ""
    if scheme and scheme not in ("sqlite", "postgresql", "postgres"):
        raise ValueError(
            f"Baton keeps its data in SQLite or PostgreSQL, not {scheme}; fix: write "
            "sqlite:///path/to/baton.db or postgresql://user@host/db, or leave it empty"
        )
    return text


class Settings(SpecModel):
    """Runtime settings; every one has a default that works on a laptop."""

    database_url: Annotated[str, AfterValidator(_store_url)] = Field(
        "", description="SQLAlchemy URL; empty means a SQLite file at .baton/baton.db"
    )
    max_message_chars: int = Field(4096, ge=1, description="longest accepted message")
    idle_timeout_minutes: float = Field(
        30.0, gt=0, description="a conversation idle this long ends; the next message starts anew"
    )
    hop_budget: int = Field(4, ge=1, le=20, description="most transfers or calls within one turn")
    ping_pong_turns: int = Field(
        3,
        ge=0,
        le=100,
        description="a collaboration transfer back to a bot that handed over within this "
        "many turns is refused, unless the user's message clearly asks for it; a flow's "
        "transfer step back is refused only within the same turn",
    )
    action_timeout_seconds: float = Field(
        5.0, gt=0, description="default limit for a project action"
    )
    host: str = Field("127.0.0.1", description="address `baton serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `baton serve` listens on")


class ProjectFile(SpecModel):
    """The project's ``baton.yml``."""

    name: str = Field(description="the project's name")
    description: str = ""
    language: LanguageCode = Field("en", description="default language of contacts")
    channels: list[str] = Field(
        default_factory=lambda: ["web", "rest", "cli"], description="channels the project serves"
    )
    actions: str | None = Field(
        None, description="Python file (relative to the project) that registers actions"
    )
    settings: Settings = Field(default_factory=lambda: Settings())
    workflows: WorkflowSettings = Field(
        default_factory=lambda: WorkflowSettings(),
        description="known tags, fields and forms; human takeover; language detection; bounds",
    )
