"""The operator's slash commands, shared by ``baton chat`` and stories."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from baton.domain.errors import BatonError
from baton.domain.values import Payload, Value
from baton.router import messages as m
from baton.spec.workflow import MAX_MINUTES

HELP = """\
/assign BOT [auto|suggest]             make BOT the owner
/status active|paused|stopped [BOT] [--until ISO-TIME]
/mode auto|suggest [BOT]
/escalate [REASON]                     hand to a human
/handback [BOT]                        give back to a bot
/human TEXT                            send a message as a human agent
/approve [ID] | /discard [ID] | /edit ID TEXT   resolve a suggestion (ID `next`, or
                                       none for approve/discard: the oldest waiting one;
                                       `last`: the latest)
/end                                   end the conversation
/tag add|remove TAG                    change a contact tag (workflows react)
/field NAME VALUE                      set a contact field
/form NAME [key=value ...]             submit a form for the contact
/book [BOT] [key=value ...]            record a booked appointment
/timers                                fire the timers that are due
/context  /history  /new  /help        show context, the transcript; start over
"""


class BadCommand(BatonError):
    """A slash command that can't be parsed; the message says the right form."""


@dataclass(frozen=True, slots=True)
class Query:
    """A command that only shows something or resets the session."""

    name: Literal["context", "history", "new", "help"]


@dataclass(frozen=True, slots=True)
class RunTimers:
    """Fire the timers that are due."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Advance the clock (stories and the test clock only)."""

    minutes: float


Parsed = m.Command | Query | Wait | RunTimers


def parse_command(line: str) -> Parsed:
    """Parse one slash command."""
    words = line.strip().split()
    if not words or not words[0].startswith("/"):
        raise BadCommand(f"not a command: {line!r}; commands start with '/'")
    name, args = words[0][1:].lower(), words[1:]
    rest = line.strip()[len(words[0]) :].strip()
    if name in ("context", "history", "new", "help"):
        return Query(cast(Literal["context", "history", "new", "help"], name))
    if name == "assign" and 1 <= len(args) <= 2:
        return m.Assign(args[0], _mode(args[1]) if len(args) == 2 else None)
    if name == "status" and args:
        return _status(args)
    if name == "mode" and 1 <= len(args) <= 2:
        return m.SetMode(_mode(args[0]), args[1] if len(args) == 2 else None)
    if name == "escalate":
        return m.EscalateToHuman(rest)
    if name == "handback" and len(args) <= 1:
        return m.HandBack(args[0] if args else None)
    if name == "human" and rest:
        return m.HumanMessage(rest)
    if name in ("approve", "discard") and len(args) <= 1:
        outcome: Literal["approved", "discarded"] = "approved" if name == "approve" else "discarded"
        return m.ResolveSuggestion(args[0] if args else m.NEXT_SUGGESTION, outcome)
    if name == "edit" and len(args) >= 2:
        return m.ResolveSuggestion(args[0], "edited", rest[len(args[0]) :].strip())
    if name == "end":
        return m.EndConversation()
    if name == "tag" and len(args) == 2 and args[0] in ("add", "remove"):
        return m.AddTag(args[1]) if args[0] == "add" else m.RemoveTag(args[1])
    if name == "field" and len(args) >= 2:
        return m.SetField(args[0], scalar(rest[len(args[0]) :].strip()))
    if name == "form" and args:
        return m.SubmitForm(args[0], pairs(args[1:]), by="operator")
    if name == "book":
        bot = args[0] if args and "=" not in args[0] else None
        return m.BookAppointment(bot, pairs(args[1:] if bot else args), by="operator")
    if name == "timers" and not args:
        return RunTimers()
    if name == "wait":
        return _wait(args)
    raise BadCommand(f"can't read {line.strip()!r}. Commands:\n{HELP}")


def _wait(args: list[str]) -> Wait:
    """``/wait MINUTES`` (stories only): a positive, finite number of minutes."""
    usage = (
        "/wait MINUTES moves a story's clock forward: a number of minutes above 0, "
        f"at most {MAX_MINUTES} (ten years)"
    )
    try:
        minutes = float(args[0]) if len(args) == 1 else math.nan
    except ValueError:
        minutes = math.nan
    if not math.isfinite(minutes) or not 0 < minutes <= MAX_MINUTES:
        raise BadCommand(f"can't read {'/wait ' + ' '.join(args)!r}: {usage}")
    return Wait(minutes)


def _mode(word: str) -> Literal["auto", "suggest"]:
    if word not in ("auto", "suggest"):
        raise BadCommand(f"mode must be auto or suggest, not {word!r}")
    return cast(Literal["auto", "suggest"], word)


def _status(args: list[str]) -> m.SetStatus:
    status = args[0]
    if status not in ("active", "paused", "stopped"):
        raise BadCommand(f"status must be active, paused or stopped, not {status!r}")
    until = None
    rest = args[1:]
    if "--until" in rest:
        at = rest.index("--until")
        if at + 1 >= len(rest):
            raise BadCommand("--until needs an ISO time, e.g. 2026-12-01T09:00:00+00:00")
        try:
            moment = datetime.fromisoformat(rest[at + 1])
        except ValueError as error:
            raise BadCommand(
                f"--until {rest[at + 1]!r} is not an ISO time, e.g. 2026-12-01T09:00:00+00:00"
            ) from error
        until = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
        rest = rest[:at] + rest[at + 2 :]
    bot = rest[0] if rest else None
    typed = cast(Literal["active", "paused", "stopped"], status)
    return m.SetStatus(typed, bot, until)


def scalar(text: str) -> Value:
    """A typed value from text: whole and decimal numbers, true/false, null; else the text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def pairs(words: list[str]) -> Payload:
    """``key=value`` words as a payload (values typed by :func:`scalar`)."""
    found: Payload = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise BadCommand(f"expected key=value, got {word!r}")
        found[key] = scalar(value)
    return found
