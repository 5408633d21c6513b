"""What a bot may see, and statuses that release themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.state import ConversationState, HistoryLine
from baton.router import messages as m
from baton.router.messages import Inbound
from baton.router.views import readable_context, visible_history
from baton.spec.bot import BotFile, ContextContract, HistoryPolicy
from baton.spec.project import BotDefinition
from baton.testing import TestClock
from tests.conftest import EngineOpener, ProjectWriter
from tests.router.test_router import PROJECT


def bot(history: HistoryPolicy, reads: list[str]) -> BotDefinition:
    settings = BotFile(name="b", history=history, context=ContextContract(reads=reads))
    return BotDefinition("b", __import__("pathlib").Path("."), settings)


def test_history_policies_full_last_summary_none() -> None:
    state = ConversationState()
    state.history = [HistoryLine("user", f"u{i}") for i in range(5)]
    assert len(visible_history(state, bot(HistoryPolicy(policy="full"), []))) == 5
    assert [
        h.text for h in visible_history(state, bot(HistoryPolicy(policy="last", last=2), []))
    ] == [
        "u3",
        "u4",
    ]
    (summary,) = visible_history(state, bot(HistoryPolicy(policy="summary"), []))
    assert summary.role == "summary" and "u0" in summary.text and "u4" in summary.text
    assert visible_history(state, bot(HistoryPolicy(policy="none"), [])) == ()


def test_a_bot_reads_its_own_keys_and_declared_reads_only() -> None:
    state = ConversationState()
    state.context = {"b.mine": 1, "other.shared": 2, "other.private": 3}
    assert readable_context(state, bot(HistoryPolicy(), ["other.shared"])) == {
        "b.mine": 1,
        "other.shared": 2,
    }


async def test_a_timed_pause_releases_itself_and_says_so(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "ivy", "hello"))).contact_id
    soon = (clock.now() + timedelta(minutes=25)).isoformat()
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetStatus("paused", until=soon))
    assert (await engine.router.handle(Inbound("web", "ivy", "hello"))).replies == []
    clock.advance(26)
    later = await engine.router.handle(Inbound("web", "ivy", "hello"))
    released = [e for e in later.events if isinstance(e, ev.BotStatusChanged)]
    assert released and released[0].status == "active" and released[0].by == "timer"
    assert later.replies


async def test_a_pause_until_a_time_without_a_zone_means_utc(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    """A stored ``until`` with no zone (an older event, a workflow file) once made every
    later message fail on comparing naive and aware times."""
    from baton.runtime.commands import BadCommand, parse_command

    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "naive", "hello"))).contact_id
    soon = (clock.now() + timedelta(minutes=25)).replace(tzinfo=None).isoformat()
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetStatus("paused", until=soon))
    assert (await engine.router.handle(Inbound("web", "naive", "hello"))).replies == []
    clock.advance(26)
    assert (await engine.router.handle(Inbound("web", "naive", "hello"))).replies
    command = parse_command(f"/status paused --until {soon}")
    assert isinstance(command, m.SetStatus) and command.until == f"{soon}+00:00"
    with pytest.raises(BadCommand, match="is not an ISO time"):
        parse_command("/status paused --until next-tuesday")


async def test_a_pause_outlives_an_idle_conversation_until_it_runs_out(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "jo", "hello"))
    later = (clock.now() + timedelta(hours=2)).isoformat()
    await engine.router.command(
        DEFAULT_ACCOUNT, first.contact_id, m.SetStatus("paused", until=later)
    )
    clock.advance(40)  # past the idle timeout: a new conversation, still paused
    second = await engine.router.handle(Inbound("web", "jo", "hello"))
    assert second.conversation_id != first.conversation_id and second.replies == []
    clock.advance(90)
    assert (await engine.router.handle(Inbound("web", "jo", "hello"))).replies


async def test_a_pause_without_an_end_is_the_contacts_until_resumed_a_takeover_is_not(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    """An operator's pause with no end follows the contact into its next conversation, as
    a timed one does (it ended with the idle conversation, so the bot spoke again); a human
    agent's takeover pause ends with its conversation."""
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "kim", "hello"))
    await engine.router.command(DEFAULT_ACCOUNT, first.contact_id, m.SetStatus("paused"))
    clock.advance(40)
    second = await engine.router.handle(Inbound("web", "kim", "hello"))
    assert second.conversation_id != first.conversation_id and second.replies == []
    await engine.router.command(DEFAULT_ACCOUNT, first.contact_id, m.SetStatus("active"))
    assert (await engine.router.handle(Inbound("web", "kim", "hello"))).replies

    took = await engine.router.command(
        DEFAULT_ACCOUNT, first.contact_id, m.HumanMessage("hi", "ana")
    )
    assert any(isinstance(e, ev.HumanTookOver) for e in took.events)
    clock.advance(40)
    third = await engine.router.handle(Inbound("web", "kim", "hello"))
    assert third.conversation_id != second.conversation_id and third.replies


async def test_waiting_suggestions_can_be_resolved_without_their_ids(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    from baton.runtime.commands import parse_command

    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "sugg", "hello"))).contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetMode("suggest"))
    first = await engine.router.handle(Inbound("web", "sugg", "hello"))
    second = await engine.router.handle(Inbound("web", "sugg", "hello again"))
    assert first.replies[0].suggestion_id and second.replies[0].suggestion_id
    edit = parse_command("/edit last Hi there!")
    edited = await engine.router.command(DEFAULT_ACCOUNT, contact, edit)
    resolved = [e for e in edited.events if isinstance(e, ev.SuggestionResolved)]
    assert [e.suggestion_id for e in resolved] == [second.replies[0].suggestion_id]
    assert [r.text for r in edited.replies] == ["Hi there!"]
    discarded = await engine.router.command(DEFAULT_ACCOUNT, contact, parse_command("/discard"))
    resolved = [e for e in discarded.events if isinstance(e, ev.SuggestionResolved)]
    assert [e.suggestion_id for e in resolved] == [first.replies[0].suggestion_id]
    # a bare /approve takes the oldest: one by one, replies go out in the order written
    third = await engine.router.handle(Inbound("web", "sugg", "one"))
    fourth = await engine.router.handle(Inbound("web", "sugg", "two"))
    for expected in (third, fourth):
        approved = await engine.router.command(DEFAULT_ACCOUNT, contact, parse_command("/approve"))
        resolved = [e for e in approved.events if isinstance(e, ev.SuggestionResolved)]
        assert [e.suggestion_id for e in resolved] == [expected.replies[0].suggestion_id]
    with pytest.raises(m.UnknownSuggestion, match="waiting: none"):
        await engine.router.command(DEFAULT_ACCOUNT, contact, parse_command("/approve"))


def test_which_statuses_outlive_a_conversation() -> None:
    """An untimed pause of an older snapshot (no ``by``) may be a takeover's: it lasts only
    when timed, as pauses did before they said who set them."""
    from datetime import UTC, datetime

    from baton.domain.state import StatusEntry
    from baton.router.statuses import lasting_statuses

    state = ConversationState()
    later = "2030-01-01T00:00:00+00:00"
    state.statuses = {
        "legacy": StatusEntry("paused"),
        "legacy_timed": StatusEntry("paused", later),
        "operator": StatusEntry("paused", None, "operator"),
        "takeover": StatusEntry("paused", later, "human_takeover"),
        "gone": StatusEntry("stopped"),
        "fine": StatusEntry("active"),
    }
    kept = lasting_statuses(state, datetime(2026, 11, 24, tzinfo=UTC))
    assert sorted(kept) == ["gone", "legacy_timed", "operator"]
