"""``rebase``: a contact change applied to the contact as stored now."""

from __future__ import annotations

from baton.domain.records import Contact, rebase


def test_a_change_keeps_what_was_saved_since_it_started() -> None:
    before = Contact(
        "a", "c", {"sms": "+1"}, ("old", "gone"), {"plan": "free", "seats": 1, "x": 0}, "en"
    )
    after = Contact(
        "a", "c", {"sms": "+1", "web": "s1"}, ("old", "new"), {"plan": "gold", "seats": 1}, "en"
    )
    stored = Contact(  # another instance added a tag, a field and an identity, set the language
        "a",
        "c",
        {"sms": "+1", "whatsapp": "w"},
        ("old", "gone", "theirs"),
        {"plan": "free", "seats": 2, "x": 0, "theirs": True},
        "fr",
    )
    merged = rebase(stored, before, after)
    assert merged.tags == ("old", "theirs", "new")
    assert merged.fields == {"plan": "gold", "seats": 2, "theirs": True}
    assert merged.identities == {"sms": "+1", "whatsapp": "w", "web": "s1"}
    assert merged.language == "fr"  # this change left the language alone


def test_no_change_is_the_stored_contact_and_a_change_wins_where_both_changed() -> None:
    stored = Contact("a", "c", tags=("t",), fields={"f": 1}, language="de")
    before = Contact("a", "c", tags=(), fields={"f": 0}, language="en")
    assert rebase(stored, before, before) == stored
    after = Contact("a", "c", tags=("t",), fields={"f": 2}, language="it")
    assert rebase(stored, before, after) == Contact(
        "a", "c", tags=("t",), fields={"f": 2}, language="it"
    )
