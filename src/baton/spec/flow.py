"""``bots/<id>/flows.yml``: flows as lists of steps.

A step is a one-key mapping whose key names its kind::

    - say: "Hello {{ slots.name }}"
    - ask: {slot: date, prompt: "Which day?"}
    - branch: [{if: "context['assessment.risk'] == 'high'", then: [...]}, {else: [...]}]
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from baton.spec.base import Said, SaidTexts, SpecModel
from baton.spec.bot import SlotType

STEP_KINDS = (
    "say",
    "ask",
    "set",
    "branch",
    "action",
    "fire",
    "transfer",
    "call",
    "return",
    "escalate",
    "end",
)

Scalar = str | int | float | bool | None


class AskSpec(SpecModel):
    """Ask for a slot, validate the answer, reprompt, then give up a defined way."""

    slot: str
    prompt: Said
    type: SlotType | None = Field(None, description="overrides the slot's declared type")
    choices: list[str] = Field(default_factory=list)
    reprompt: Said | None = None
    max_retries: int = Field(2, ge=0)
    on_fail: list[Step] = Field(
        default_factory=list, description="steps run when retries are exhausted (default: fallback)"
    )


class SetSpec(SpecModel):
    """Set a slot or a shared-context key to a value or a template."""

    slot: str | None = None
    context: str | None = None
    value: Scalar


class BranchCase(SpecModel):
    """``{if: CONDITION, then: [...]}`` or ``{else: [...]}``."""

    if_: str | None = Field(None, alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] | None = Field(None, alias="else")


class ActionSpec(SpecModel):
    """Call a Python action registered by the project."""

    name: str
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    save_as: str | None = Field(None, description="slot receiving the action's `value` result")
    timeout: float | None = Field(None, gt=0)


class FireSpec(SpecModel):
    """Fire a named bot action that workflows can react to."""

    name: str
    payload: dict[str, Scalar] = Field(default_factory=dict)


REFUSED = (
    "said instead of the bot's fallback when the router refuses the handover (the target is"
    " stopped or paused for the contact, doesn't serve the channel, ...)"
)


class TransferSpec(SpecModel):
    """Hand the conversation to another bot."""

    to: str
    with_message: bool = Field(
        False, description="let the new bot handle the user's last message itself"
    )
    context: list[str] = Field(default_factory=list, description="context keys the handover cites")
    refused: Said | None = Field(None, description=REFUSED)


class CallSpec(SpecModel):
    """Call another bot; it returns here with the outputs it declares."""

    bot: str
    flow: str | None = None
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=list, description="slots filled from the outputs")
    refused: Said | None = Field(None, description=REFUSED)


class ReturnSpec(SpecModel):
    """Return to the calling bot with outputs."""

    outputs: dict[str, Scalar] = Field(default_factory=dict)


class EscalateSpec(SpecModel):
    """Hand the conversation to a human."""

    reason: str = ""
    message: Said | None = None


class SayStep(SpecModel):
    say: SaidTexts


class AskStep(SpecModel):
    ask: AskSpec


class SetStep(SpecModel):
    set: SetSpec


class BranchStep(SpecModel):
    branch: list[BranchCase] = Field(min_length=1)


class ActionStep(SpecModel):
    action: ActionSpec | str


class FireStep(SpecModel):
    fire: FireSpec | str


class TransferStep(SpecModel):
    transfer: TransferSpec | str


class CallStep(SpecModel):
    call: CallSpec | str


class ReturnStep(SpecModel):
    return_: ReturnSpec | None = Field(None, alias="return")


class EscalateStep(SpecModel):
    escalate: EscalateSpec | str


class EndStep(SpecModel):
    """``end: true`` or ``end: flow`` ends the flow; ``end: conversation`` the conversation."""

    end: Literal[True, "flow", "conversation"]


def step_kind(value: Any) -> str | None:
    """Name the kind of a raw step mapping (its first known key)."""
    if isinstance(value, dict):
        for key in value:
            if key in STEP_KINDS:
                return str(key)
        return None
    for kind in STEP_KINDS:
        if isinstance(value, _KIND_MODELS[kind]):
            return kind
    return None


Step = Annotated[
    Annotated[SayStep, Tag("say")]
    | Annotated[AskStep, Tag("ask")]
    | Annotated[SetStep, Tag("set")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[ActionStep, Tag("action")]
    | Annotated[FireStep, Tag("fire")]
    | Annotated[TransferStep, Tag("transfer")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[ReturnStep, Tag("return")]
    | Annotated[EscalateStep, Tag("escalate")]
    | Annotated[EndStep, Tag("end")],
    Discriminator(
        step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step must be a mapping with one of the keys: "
        + ", ".join(STEP_KINDS),
    ),
]

_KIND_MODELS: dict[str, type[SpecModel]] = {
    "say": SayStep,
    "ask": AskStep,
    "set": SetStep,
    "branch": BranchStep,
    "action": ActionStep,
    "fire": FireStep,
    "transfer": TransferStep,
    "call": CallStep,
    "return": ReturnStep,
    "escalate": EscalateStep,
    "end": EndStep,
}


class FlowSpec(SpecModel):
    """A named flow: the steps run in order."""

    description: str = ""
    steps: list[Step] = Field(min_length=1)


class FlowsFile(SpecModel):
    """A bot's ``flows.yml``."""

    flows: dict[str, FlowSpec] = Field(default_factory=dict)


AskSpec.model_rebuild()
BranchCase.model_rebuild()
