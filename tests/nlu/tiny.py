"""A tiny two-bot project's labelled examples (2 bots, 3 intents each, 4-5 examples)."""

from __future__ import annotations

from baton.nlu.data import Row

DATA = {
    "appointment": {
        "book": [
            "I want to book an appointment",
            "can I schedule a visit with the doctor",
            "make an appointment for tomorrow",
            "I need to see a doctor next week",
            "book me in for a check-up",
        ],
        "cancel": [
            "cancel my appointment",
            "I can't make it to my visit, please cancel",
            "call off tomorrow's appointment",
            "I want to cancel the booking",
        ],
        "reschedule": [
            "move my appointment to friday",
            "can I change the time of my visit",
            "reschedule my check-up",
            "push my appointment to later",
        ],
    },
    "billing": {
        "pay": [
            "I want to pay my bill",
            "how do I pay the invoice",
            "pay what I owe",
            "settle my balance by card",
        ],
        "refund": [
            "I want my money back",
            "can I get a refund",
            "refund the overcharge",
            "you charged me twice, give it back",
        ],
        "balance": [
            "how much do I owe",
            "what is my balance",
            "show my outstanding amount",
            "how much is left on my bill",
        ],
    },
}


def rows() -> list[Row]:
    return [
        Row(text, intent, bot)
        for bot, intents in DATA.items()
        for intent, examples in intents.items()
        for text in examples
    ]
