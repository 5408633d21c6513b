"""Values that slots, context and payloads hold: plain JSON scalars."""

from __future__ import annotations

from typing import Literal

Value = str | int | float | bool | None
Payload = dict[str, Value]

BotStatusName = Literal["active", "paused", "stopped"]
Mode = Literal["auto", "suggest"]
TransferReason = Literal[
    "bot_step", "workflow", "collaboration", "topic_switch", "fallback", "api", "handback"
]
Scope = Literal["conversation", "contact"]
