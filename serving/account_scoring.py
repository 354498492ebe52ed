"""Account requests into account answers: the checks pydantic cannot make alone, the
contract-shaped tables the account model reads, and the answer shapes.

Many contexts are scored in one call (a batch of leads, each with its account): each
context gets a key of its own (`"0"`, `"1"`, ...) for its account row and contacts, so two
leads of one account, each seen with the colleagues its request sent, never mix. Features
are built by the account model (`models.account_pyfunc.AccountModel.score_accounts`, the
code training built account rows with); nothing here computes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from data_contracts.vocab import BUYING_ROLE_WORDS
from features._time import from_epoch_us
from features.account_sets import GROUP_ROLES, engaged_role_column
from features.lead_accounts import AccountInputs
from models.account_pyfunc import AccountModel
from models.mlflow_layout import account_model_name
from serving.champion import Champion, ChampionHolder
from serving.schemas import AccountContextIn, AccountIn, ContactIn, EventIn, LeadIn, ScoreIn
from serving.scoring import FieldError, aware_us, build_columns, check_item, utc_now
from serving.settings import ServingSettings

NO_ACCOUNT_CHAMPION = (
    "no account champion: train one (handoff train-accounts DIR), sign it off and promote it "
    "(handoff promote VERSION --accounts)"
)
NO_ACCOUNT_ID = "the lead has no account_id"
_ACCOUNT_FIELDS = (
    "account_id",
    "employees",
    "annual_revenue",
    "is_named_account",
    "abm_tier",
    "parent_account_id",
)


@dataclass(frozen=True)
class Context:
    """One account to score: its id, its row (None: contacts only), its contacts, as of."""

    account_id: str
    account: AccountIn | None
    contacts: list[ContactIn]
    as_of: datetime


def check_context(
    body: AccountContextIn,
    *,
    as_of: datetime,
    skew: timedelta,
    max_events: int,
    loc: tuple[str | int, ...] = ("body",),
) -> tuple[str | None, list[FieldError]]:
    """The account id the context is about, and every problem with it: neither an account
    nor a contact, a contact of another account (or none), a contact sent twice, a contact
    or event from after `as_of`, too many events."""
    errors: list[FieldError] = []
    if body.account is None and not body.contacts:
        return None, [
            FieldError(
                loc, "send an account, or at least one contact with an account_id", "missing"
            )
        ]
    account_id = body.account.account_id if body.account is not None else None
    seen: dict[str, int] = {}
    for i, contact in enumerate(body.contacts):
        where = (*loc, "contacts", i, "lead")
        theirs = contact.lead.account_id
        if account_id is None:
            account_id = theirs
        if theirs is None or theirs != account_id:
            said = f"account {account_id!r}" if account_id is not None else "an account"
            errors.append(
                FieldError(
                    (*where, "account_id"),
                    f"every contact must belong to {said}"
                    + ("; this one names none" if theirs is None else "; this one names another"),
                    "account_mismatch",
                )
            )
        first = seen.setdefault(contact.lead.lead_id, i)
        if first != i:
            errors.append(
                FieldError(
                    (*where, "lead_id"), f"contact sent twice (first at index {first})", "duplicate"
                )
            )
        item = ScoreIn.model_construct(
            lead=contact.lead, events=contact.events, as_of=None, account=None, extras={}
        )
        errors += check_item(
            item,
            now=as_of,
            skew=skew,
            max_events=max_events,
            default_as_of=as_of,
            loc=(*loc, "contacts", i),
        )[1]
    return account_id, errors


def lead_context(item: ScoreIn, as_of: datetime) -> Context | None:
    """The account context of a lead's request: the lead itself among its account's
    contacts (added when the request's context does not list it); None without an account."""
    account_id = item.lead.account_id
    if account_id is None:
        return None
    given = item.account
    contacts = list(given.contacts) if given is not None else []
    if all(c.lead.lead_id != item.lead.lead_id for c in contacts):
        contacts.append(ContactIn(lead=item.lead, events=item.events))
    return Context(account_id, given.account if given else None, contacts, as_of)


def _utc(values: np.ndarray) -> pd.Series:
    return pd.Series(from_epoch_us(np.asarray(values, dtype=np.int64)))


def context_frames(contexts: Sequence[Context]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The leads, events and accounts tables of many contexts, each context's rows under its
    own key, so contexts never share a contact or an account row."""
    leads: list[LeadIn] = []
    events: list[list[EventIn]] = []
    keys: list[str] = []
    for k, ctx in enumerate(contexts):
        for c in ctx.contacts:
            leads.append(c.lead)
            events.append(list(c.events))
            keys.append(str(k))
    lead_cols, event_cols = build_columns(leads, events)
    lead_ids = np.array(
        [f"{key}:{lid}" for key, lid in zip(keys, lead_cols["lead_id"], strict=True)], dtype=object
    )
    counts = [len(e) for e in events]
    lead_frame = pd.DataFrame(
        {**lead_cols, "lead_id": lead_ids, "account_id": np.array(keys, dtype=object)}
    )
    lead_frame["created_at"] = _utc(lead_cols["created_at"])
    event_frame = pd.DataFrame({**event_cols, "lead_id": np.repeat(lead_ids, counts)})
    event_frame["occurred_at"] = _utc(event_cols["occurred_at"])
    rows = []
    for k, ctx in enumerate(contexts):
        given = ctx.account.model_dump() if ctx.account is not None else {}
        rows.append({f: given.get(f) for f in _ACCOUNT_FIELDS} | {"account_id": str(k)})
    accounts = pd.DataFrame(rows, columns=list(_ACCOUNT_FIELDS))
    accounts["is_named_account"] = accounts["is_named_account"].fillna(False).astype(bool)
    return lead_frame, event_frame, accounts


def lead_account_inputs(
    items: Sequence[ScoreIn], as_ofs: Sequence[datetime]
) -> AccountInputs | None:
    """What a lead champion that reads account features sees each lead with: its request's
    account context (`lead_context`: the lead among its colleagues), each context its own
    account row; None when no lead has an account (each scores as a lead alone)."""
    contexts = [lead_context(item, as_of) for item, as_of in zip(items, as_ofs, strict=True)]
    present = [c for c in contexts if c is not None]
    if not present:
        return None
    rows = np.full(len(items), -1, dtype=np.int64)
    rows[[i for i, c in enumerate(contexts) if c is not None]] = np.arange(len(present))
    return AccountInputs(*context_frames(present), rows)


def account_model(champion: Champion) -> AccountModel:
    """The account champion's model (the holder loads nothing else: `model_type`)."""
    return cast(AccountModel, champion.model)


def score_contexts(model: AccountModel, contexts: Sequence[Context]) -> pd.DataFrame:
    """One scored row per context, in their order (`AccountModel.score_accounts`)."""
    leads, events, accounts = context_frames(contexts)
    as_of = aware_us([c.as_of for c in contexts])
    return model.score_accounts(leads, events, accounts, as_of)


def warm_up_account(model: Any) -> None:
    """Score one made-up account so the first real request does not pay first-call costs."""
    now = utc_now()
    lead = LeadIn(
        lead_id="warm-up",
        created_at=now - timedelta(days=3),
        seniority="director",
        function="it",
        source="inbound_form",
        is_named_account=False,
        account_id="warm-up",
    )
    event = EventIn(occurred_at=now - timedelta(days=1), type="pricing_page", channel="web")
    contact = ContactIn(lead=lead, events=[event])
    score_contexts(model, [Context("warm-up", None, [contact], now)])


def account_holder(settings: ServingSettings) -> ChampionHolder:
    """The follower of the account champion (`account_model_name` of the lead model's name):
    the same loading, sign-off and binding rule as the lead champion's."""
    named = settings.model_copy(update={"model_name": account_model_name(settings.model_name)})
    return ChampionHolder(
        named, model_type=AccountModel, warm=warm_up_account, no_champion=NO_ACCOUNT_CHAMPION
    )


def _roles(row: pd.Series) -> list[str]:
    return [BUYING_ROLE_WORDS[r] for r in GROUP_ROLES if row[engaged_role_column(r)] > 0]


def _part(row: pd.Series, part: str) -> dict[str, Any]:
    out = {
        "score": int(row[f"{part}_score"]),
        "probability": float(row[f"{part}_probability"]),
        "reason_text": str(row.get(f"{part}_reason_text", "") or ""),
    }
    if part != "combined":
        reasons = row.get(f"{part}_reasons")
        out["reasons"] = list(reasons) if isinstance(reasons, list | tuple) else []
    return out


def _missing(row: pd.Series) -> list[str]:
    text = str(row["missing_roles"] or "")
    return [w for w in text.split(", ") if w]


def account_answer(
    row: pd.Series, ctx: Context, champion: Champion, request_id: str
) -> dict[str, Any]:
    """The `AccountScoreOut` of one scored context."""
    return {
        "request_id": request_id,
        "account_id": ctx.account_id,
        "as_of": ctx.as_of.isoformat().replace("+00:00", "Z"),
        "fit": _part(row, "fit"),
        "interest": _part(row, "interest"),
        "combined": _part(row, "combined"),
        "quadrant": str(row["quadrant"]),
        "action": str(row["action"]),
        "tier": int(row["tier"]),
        "engaged_contacts": int(row["engaged_contacts"]),
        "contacts": int(row["contacts"]),
        "roles_covered": _roles(row),
        "missing_roles": _missing(row),
        "group_text": str(row["group_text"]),
        "model_version": champion.version,
        "feature_sets": champion.feature_sets,
        "contract_version": champion.contract_version,
        "api_contract_version": CONTRACT_VERSION,
    }


def lead_account_part(row: pd.Series, ctx: Context, champion: Champion) -> dict[str, Any]:
    """The `LeadAccountOut` of a lead's scored account."""
    return {
        "account_id": ctx.account_id,
        "quadrant": str(row["quadrant"]),
        "action": str(row["action"]),
        "score": int(row["combined_score"]),
        "probability": float(row["combined_probability"]),
        "missing_roles": _missing(row),
        "group_text": str(row["group_text"]),
        "model_version": champion.version,
    }


def with_account_parts(
    answers: list[dict[str, Any]],
    items: Sequence[ScoreIn],
    as_ofs: Sequence[datetime],
    champion: Champion | None,
    reason: str,
) -> list[dict[str, Any]]:
    """Each lead's answer with its account part (scored in one call for all the leads), or
    null and the reason: no account_id, or no account champion (`reason`)."""
    contexts = [lead_context(item, as_of) for item, as_of in zip(items, as_ofs, strict=True)]
    wanted = [i for i, c in enumerate(contexts) if c is not None]
    for i, answer in enumerate(answers):
        answer["account"] = None
        answer["account_note"] = NO_ACCOUNT_ID if contexts[i] is None else reason
    if champion is None or not wanted:
        return answers
    scored = score_contexts(account_model(champion), [cast(Context, contexts[i]) for i in wanted])
    for i, (_, row) in zip(wanted, scored.iterrows(), strict=True):
        answers[i]["account"] = lead_account_part(row, cast(Context, contexts[i]), champion)
        answers[i]["account_note"] = None
    return answers


def check_lead_account(
    item: ScoreIn,
    as_of: datetime,
    *,
    skew: timedelta,
    max_events: int,
    loc: tuple[str | int, ...] = ("body",),
) -> list[FieldError]:
    """A lead's `account` context must be about the lead's own account (and be a valid
    context); no context, no problem."""
    given = item.account
    if given is None or (given.account is None and not given.contacts):
        return []
    where = (*loc, "account")
    account_id, errors = check_context(
        given, as_of=as_of, skew=skew, max_events=max_events, loc=where
    )
    if item.lead.account_id is None:
        errors.append(
            FieldError(
                (*loc, "lead", "account_id"),
                "the request sends an account context, so the lead needs its account_id",
                "missing",
            )
        )
    elif account_id is not None and account_id != item.lead.account_id:
        errors.append(
            FieldError(
                (*where, "account", "account_id") if given.account else where,
                f"the account context is about {account_id!r}, not the lead's account",
                "account_mismatch",
            )
        )
    return errors
