"""Python actions of the clinic example, used by the appointment bot only.

Baton imports this file (``actions: actions.py`` in baton.yml) and calls
``register(registry)``. An action takes its step's inputs (a dict) and returns
a dict; ``value`` is what the step's ``save_as`` slot receives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton.bots.actions import ActionRegistry


def register(registry: ActionRegistry) -> None:
    """Add the clinic's actions."""
    registry.add("next_free_slot", next_free_slot)
    registry.add("send_sms_reminder", send_sms_reminder)


async def next_free_slot(inputs: dict[str, Any]) -> dict[str, Any]:
    """The clinic's next opening (a real project would ask its calendar)."""
    return {"value": "Tuesday at 10:00"}


async def send_sms_reminder(inputs: dict[str, Any]) -> dict[str, Any]:
    """Send an SMS reminder; the demo gateway is always down, to show failures."""
    raise RuntimeError("SMS gateway unreachable")
