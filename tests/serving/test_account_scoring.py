"""The account request helpers without a server: contexts kept apart, the lead among its
account's contacts, and the checks of a context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from serving.account_scoring import Context, check_context, context_frames, lead_context
from serving.schemas import AccountContextIn, AccountIn, ContactIn, LeadIn, ScoreIn

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _contact(lead_id: str, account_id: str | None = "A-1", days: int = 3) -> ContactIn:
    lead = LeadIn(
        lead_id=lead_id,
        created_at=NOW - timedelta(days=30),
        seniority="director",
        function="it",
        source="webinar",
        is_named_account=False,
        account_id=account_id,
    )
    events = [{"occurred_at": NOW - timedelta(days=days), "type": "pricing_page"}]
    return ContactIn(lead=lead, events=events)  # type: ignore[typeddict-item]


def test_context_frames_keep_two_contexts_of_one_account_apart() -> None:
    one = Context("A-1", AccountIn(account_id="A-1", employees=50), [_contact("C-1")], NOW)
    two = Context("A-1", None, [_contact("C-1"), _contact("C-2")], NOW)
    leads, events, accounts = context_frames([one, two])
    assert list(accounts["account_id"]) == ["0", "1"]
    assert accounts["employees"].tolist()[0] == 50
    assert leads.groupby("account_id").size().to_dict() == {"0": 1, "1": 2}
    assert leads["lead_id"].is_unique
    assert set(events["lead_id"]) <= set(leads["lead_id"])
    assert str(leads["created_at"].dtype) == "datetime64[us, UTC]"


def test_lead_context_adds_the_lead_to_its_account_contacts() -> None:
    lead = _contact("L-1")
    item = ScoreIn(
        lead=lead.lead, events=lead.events, account=AccountContextIn(contacts=[_contact("C-1")])
    )
    ctx = lead_context(item, NOW)
    assert ctx is not None and ctx.account_id == "A-1"
    assert [c.lead.lead_id for c in ctx.contacts] == ["C-1", "L-1"]
    alone = ScoreIn(lead=_contact("L-2", account_id=None).lead)
    assert lead_context(alone, NOW) is None


def test_check_context_names_each_problem() -> None:
    body = AccountContextIn(
        account=AccountIn(account_id="A-1"),
        contacts=[
            _contact("C-1"),
            _contact("C-2", "A-2"),
            _contact("C-1"),
            _contact("C-3", days=-2),
        ],
    )
    account_id, errors = check_context(body, as_of=NOW, skew=timedelta(seconds=5), max_events=100)
    assert account_id == "A-1"
    found = {(tuple(e.loc), e.type) for e in errors}
    assert (("body", "contacts", 1, "lead", "account_id"), "account_mismatch") in found
    assert (("body", "contacts", 2, "lead", "lead_id"), "duplicate") in found
    assert (("body", "contacts", 3, "events", 0, "occurred_at"), "future") in found
    assert len(errors) == 3


def test_check_context_contacts_only_takes_the_first_contacts_account() -> None:
    body = AccountContextIn(contacts=[_contact("C-1", "A-9"), _contact("C-2", "A-9")])
    assert check_context(body, as_of=NOW, skew=timedelta(0), max_events=100) == ("A-9", [])
    empty = check_context(AccountContextIn(), as_of=NOW, skew=timedelta(0), max_events=100)
    assert empty[0] is None and empty[1][0].loc == ("body",)
