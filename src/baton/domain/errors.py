"""Every error Baton raises on purpose.

::

    BatonError
    ├── ProjectInvalid        a project folder has problems (each with file, line, fix)
    ├── MessageRejected       an inbound message is empty, blank or too long
    ├── UnknownBot            a bot id that the project does not define
    ├── UnknownConversation   a conversation id with no events in this account
    ├── ConcurrentWrite       another writer appended to the conversation first
    └── StoreUnavailable      the database can't be reached or migrated
"""

from __future__ import annotations

from dataclasses import dataclass


class BatonError(Exception):
    """Root of every error Baton raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a project file: where, what, and how to fix it."""

    file: str
    line: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        fix = f"\n    fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.message}{fix}"


class ProjectInvalid(BatonError):
    """Raised when a project fails ``baton check``; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"the project has {len(problems)} problem(s):\n{lines}")


class MessageRejected(BatonError):
    """Raised when an inbound message can't be processed (empty, blank, too long)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class UnknownBot(BatonError):
    """Raised when a bot id is not defined in the project."""

    def __init__(self, bot_id: str, known: list[str]) -> None:
        self.bot_id = bot_id
        super().__init__(f"no bot {bot_id!r}; the project defines: {', '.join(sorted(known))}")


class UnknownConversation(BatonError):
    """Raised when a conversation id is not found in the account."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"no conversation {conversation_id!r} in this account")


class ConcurrentWrite(BatonError):
    """Raised when a conversation's log grew since it was read; retry the turn."""

    def __init__(self, conversation_id: str, expected: int) -> None:
        self.conversation_id = conversation_id
        self.expected = expected
        super().__init__(
            f"conversation {conversation_id!r} moved past version {expected}; "
            "another writer got there first, so the turn must be retried"
        )


class StoreUnavailable(BatonError):
    """Raised when the event store can't be opened or migrated."""
