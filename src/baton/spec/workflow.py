"""``workflows/<name>.yml``: a trigger, optional conditions and a list of actions.

Every trigger, condition and action is a mapping with exactly one key naming
its kind (like a flow step)::

    trigger: {tag_added: vip}
    conditions:
      all:
        - channel: [sms, whatsapp]
        - not: {bot: billing}
    actions:
      - send: "Let me connect you with our VIP desk."
      - assign: {bot: vip, mode: auto}
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from baton.spec.base import CLOCK_PATTERN, Said, SpecModel

Scalar = str | int | float | bool | None

TRIGGER_KINDS = (
    "tag_added",
    "tag_removed",
    "field_updated",
    "form_submitted",
    "bot_action",
    "message_received",
    "conversation_started",
    "language_detected",
    "appointment_booked",
    "no_reply",
)
CONDITION_KINDS = (
    "all",
    "any",
    "not",
    "tag",
    "field",
    "channel",
    "language",
    "bot",
    "bot_status",
    "human",
    "mode",
    "time",
)
ACTION_KINDS = (
    "send",
    "assign",
    "set_status",
    "add_tag",
    "remove_tag",
    "set_field",
    "wait",
    "webhook",
    "escalate",
    "end",
)


def attribute(kind: str) -> str:
    """The model attribute of a kind (``all`` is ``all_``: Python keywords and built-ins)."""
    return f"{kind}_" if kind in ("all", "any", "not") else kind


class _OneOf(SpecModel):
    """A mapping with exactly one of ``kinds`` set."""

    kinds: ClassVar[tuple[str, ...]] = ()
    what: ClassVar[str] = "item"

    @property
    def kind(self) -> str:
        """The key that names this item's kind."""
        return self._set()[0]

    def value(self) -> Any:
        """The value under the kind's key."""
        return getattr(self, attribute(self.kind))

    def _set(self) -> list[str]:
        return [k for k in self.kinds if getattr(self, attribute(k)) is not None]

    @model_validator(mode="after")
    def _exactly_one(self) -> _OneOf:
        found = self._set()
        if len(found) != 1:
            kinds = ", ".join(self.kinds)
            got = ", ".join(found) if found else "none"
            raise ValueError(f"a {self.what} has exactly one of: {kinds} (got {got})")
        return self


# -- triggers ----------------------------------------------------------------


class FieldTrigger(SpecModel):
    """A custom field changed; with ``to``, only when it changed to this value."""

    field: str
    to: Scalar | list[Scalar] = Field(None, description="value(s) the field changed to")


class BotActionTrigger(SpecModel):
    """A flow's ``fire`` step fired ``action`` (from ``bot``, if given)."""

    action: str
    bot: str | None = None


class MessageTrigger(SpecModel):
    """The contact sent a message, optionally with a keyword, a pattern, on a channel."""

    keyword: str | list[str] | None = Field(None, description="whole word(s), any case")
    pattern: str | None = Field(None, description="a regular expression searched in the text")
    channel: str | list[str] | None = None
    first: bool = Field(False, description="only the conversation's first message")


class StartedTrigger(SpecModel):
    """A conversation started (on ``channel``, if given)."""

    channel: str | list[str] | None = None


class LanguageTrigger(SpecModel):
    """The contact's language was detected (as one of ``language``, if given)."""

    language: str | list[str] | None = None


class AppointmentTrigger(SpecModel):
    """An appointment was booked (by ``bot``, if given)."""

    bot: str | None = None


#: the longest span a workflow may wait, watch or pause for: ten years, in minutes (a
#: longer one is a typo, and one past the year 9999 broke every turn that armed it)
MAX_MINUTES = 10 * 365 * 24 * 60


class NoReplyTrigger(SpecModel):
    """The contact did not answer a message sent to them within the duration."""

    minutes: float = Field(gt=0, le=MAX_MINUTES)


class TriggerSpec(_OneOf):
    """What starts the workflow."""

    kinds: ClassVar[tuple[str, ...]] = TRIGGER_KINDS
    what: ClassVar[str] = "trigger"

    tag_added: str | None = None
    tag_removed: str | None = None
    field_updated: FieldTrigger | str | None = None
    form_submitted: str | None = None
    bot_action: BotActionTrigger | str | None = None
    message_received: MessageTrigger | None = None
    conversation_started: StartedTrigger | None = None
    language_detected: LanguageTrigger | str | None = None
    appointment_booked: AppointmentTrigger | None = None
    no_reply: NoReplyTrigger | None = None


# -- conditions --------------------------------------------------------------


class FieldCondition(SpecModel):
    """A custom field compared with a value (no comparison: the field is set)."""

    name: str
    equals: Scalar = None
    not_equals: Scalar = None
    in_: list[Scalar] | None = Field(None, alias="in")
    exists: bool | None = None
    gt: float | None = None
    lt: float | None = None


class StatusCondition(SpecModel):
    """A bot's status for the contact (default: the current owner's)."""

    bot: str | None = None
    is_: Literal["active", "paused", "stopped"] = Field(alias="is")


class TimeCondition(SpecModel):
    """Time of day (``HH:MM``, in ``timezone``) and days of the week."""

    after: str | None = Field(None, pattern=CLOCK_PATTERN)
    before: str | None = Field(None, pattern=CLOCK_PATTERN)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=list
    )
    timezone: str = "UTC"


class ConditionSpec(_OneOf):
    """A condition: a test, or ``all``/``any``/``not`` of conditions."""

    kinds: ClassVar[tuple[str, ...]] = CONDITION_KINDS
    what: ClassVar[str] = "condition"

    all_: list[ConditionSpec] | None = Field(None, alias="all")
    any_: list[ConditionSpec] | None = Field(None, alias="any")
    not_: ConditionSpec | None = Field(None, alias="not")
    tag: str | None = Field(None, description="the contact has this tag")
    field: FieldCondition | None = None
    channel: str | list[str] | None = None
    language: str | list[str] | None = None
    bot: str | None = Field(None, description="the current bot ('none': no bot assigned)")
    bot_status: StatusCondition | None = None
    human: bool | None = Field(
        None,
        description="a human agent owns the conversation (escalated, or took over): "
        "`human: false` keeps a nudge from interrupting an agent's talk",
    )
    mode: Literal["auto", "suggest"] | None = Field(
        None, description="the current bot's mode for the contact (suggest: a human reviews)"
    )
    time: TimeCondition | None = None


# -- actions -----------------------------------------------------------------


class AssignAction(SpecModel):
    """Make ``bot`` the contact's bot, in auto-pilot or suggestive mode."""

    bot: str
    mode: Literal["auto", "suggest"] | None = None


class StatusAction(SpecModel):
    """Set a bot's status (default: the current bot); a pause may be timed."""

    status: Literal["active", "paused", "stopped"]
    bot: str | None = None
    minutes: float | None = Field(None, gt=0, le=MAX_MINUTES, description="paused for this long")
    until: str | None = Field(None, description="paused until this ISO time")


class FieldAction(SpecModel):
    """Set a custom field of the contact."""

    name: str
    value: Scalar


class WaitAction(SpecModel):
    """Wait (a durable timer), then run the actions after this one."""

    minutes: float = Field(0, ge=0, le=MAX_MINUTES)
    hours: float = Field(0, ge=0, le=MAX_MINUTES / 60)
    days: float = Field(0, ge=0, le=MAX_MINUTES / 1440)

    @property
    def total_minutes(self) -> float:
        """The wait in minutes."""
        return self.minutes + 60 * self.hours + 1440 * self.days

    @model_validator(mode="after")
    def _at_most_ten_years(self) -> WaitAction:
        if self.total_minutes > MAX_MINUTES:
            raise ValueError(
                f"the wait adds up to {self.total_minutes:g} minutes; "
                f"at most {MAX_MINUTES} (ten years)"
            )
        return self


class WebhookAction(SpecModel):
    """POST a JSON body, HMAC-SHA256 signed, with a timeout and retries."""

    url: str
    secret: str | None = Field(None, description="signing key (prefer secret_env)")
    secret_env: str | None = Field(None, description="environment variable holding the key")
    timeout: float = Field(5.0, gt=0, description="seconds per attempt")
    retries: int = Field(2, ge=0, description="extra attempts after a failure")
    payload: dict[str, Scalar] = Field(default_factory=dict, description="extra body fields")


class EscalateAction(SpecModel):
    """Hand the conversation to a human."""

    reason: str = ""


class ActionSpec(_OneOf):
    """One action of a workflow."""

    kinds: ClassVar[tuple[str, ...]] = ACTION_KINDS
    what: ClassVar[str] = "action"

    send: Said | None = Field(None, description="a text to the contact (not blank)")
    assign: AssignAction | str | None = None
    set_status: StatusAction | None = None
    add_tag: str | None = None
    remove_tag: str | None = None
    set_field: FieldAction | None = None
    wait: WaitAction | None = None
    webhook: WebhookAction | None = None
    escalate: EscalateAction | str | None = None
    end: str | bool | None = None


class WorkflowFile(SpecModel):
    """A ``workflows/<name>.yml`` file: the workflow's name is the file's."""

    description: str = ""
    enabled: bool = True
    trigger: TriggerSpec
    conditions: ConditionSpec | list[ConditionSpec] | None = Field(
        None, description="a condition, or a list that must all hold"
    )
    actions: list[ActionSpec] = Field(min_length=1)


ConditionSpec.model_rebuild()


# -- project-level settings (``workflows:`` in baton.yml) ---------------------


class FormSpec(SpecModel):
    """A form contacts can submit: its fields are stored on the contact."""

    fields: list[str] = Field(default_factory=list)


class HumanTakeover(SpecModel):
    """What a human agent's message does to the bot."""

    pause_bot: bool = Field(True, description="a human agent's message pauses the bot")
    release_minutes: float | None = Field(
        None, gt=0, description="the bot resumes this long after the human's last message"
    )


class LanguageDetection(SpecModel):
    """Offline detection of the contact's language from their messages."""

    enabled: bool | None = Field(
        None, description="default: on when a workflow triggers on or tests the language"
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "es", "fr", "de", "it", "pt"],
        description="ISO 639-1 codes the detector chooses among",
    )
    min_confidence: float = Field(0.9, ge=0, le=1)
    min_chars: int = Field(12, ge=1, description="shorter messages are not judged")


class WorkflowSettings(SpecModel):
    """Known tags, fields and forms, human takeover, language detection and loop bounds."""

    tags: list[str] = Field(default_factory=list, description="tags used besides those actions add")
    fields: list[str] = Field(
        default_factory=list, description="custom fields used besides those actions and forms set"
    )
    forms: dict[str, FormSpec] = Field(default_factory=dict)
    human_takeover: HumanTakeover = Field(default_factory=lambda: HumanTakeover())
    language_detection: LanguageDetection = Field(default_factory=lambda: LanguageDetection())
    max_depth: int = Field(
        5, ge=1, description="workflows triggered by workflows' actions, at most this deep"
    )
    max_runs: int = Field(30, ge=1, description="workflow runs per conversation per window")
    window_minutes: float = Field(60.0, gt=0, description="the window of `max_runs`")
