"""Synthetic engagement events and the latent interest they express.

Part of `data_contracts.synthetic`. Events come in layers, drawn per chunk of leads with
numpy (µs integer timestamps throughout):

* the form fill that created the lead (by source) and anonymous web history before it;
* bursty sessions before the hand-off (MQL) moment: the more interested the lead, the more
  sessions, the more high-intent pages, and the closer to the MQL moment;
* marketing nurture after the hand-off, decaying, cut short by an unsubscribe;
* sales-led activity after an opportunity opens, heavier for deals that will be won: the
  leak a model that peeks past its snapshot would exploit.

`latent_interest` is computed from the realised events strictly before the snapshot only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from data_contracts.synthetic_leads import _pick, _take
from data_contracts.vocab import CHANNELS, EVENT_TYPES, SOURCES

DAY_US = 86_400 * 1_000_000
MINUTE_US = 60 * 1_000_000
HALF_LIFE_DAYS = 14.0
PRE_CREATION_DAYS = 30.0

T = {name: i for i, name in enumerate(EVENT_TYPES)}

# How much each touch says about buying interest (decayed with a 14-day half-life).
INTEREST_WEIGHT = np.array(
    [
        dict(
            web_visit=1.0,
            pricing_page=3.0,
            content_download=2.0,
            webinar_registered=1.5,
            webinar_attended=3.0,
            tradeshow_visit=2.0,
            email_open=0.25,
            email_click=1.0,
            contact_us=5.0,
            demo_request=6.0,
            free_trial=5.0,
            unsubscribe=-4.0,
        )[t]
        for t in EVENT_TYPES
    ]
)
INTEREST_CENTER, INTEREST_SCALE = 1.35, 0.94  # set from a large sample: latent_interest ~ N(0, 1)

_HIGH = np.array([T["pricing_page"], T["demo_request"], T["contact_us"], T["free_trial"]])
_HIGH_P = np.array([0.55, 0.15, 0.15, 0.15])
_LOW = np.array(
    [
        T[t]
        for t in (
            "web_visit",
            "content_download",
            "webinar_registered",
            "webinar_attended",
            "tradeshow_visit",
            "email_open",
            "email_click",
            "unsubscribe",
        )
    ]
)
_LOW_P = np.array([0.46, 0.12, 0.05, 0.03, 0.02, 0.21, 0.10, 0.01])

# The touch that created the lead, by source (types, probabilities); none for sales-sourced.
CREATION: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "inbound_form": (
        ("contact_us", "demo_request", "free_trial", "content_download"),
        (3, 3, 2, 2),
    ),
    "webinar": (("webinar_registered",), (1,)),
    "tradeshow": (("tradeshow_visit",), (1,)),
    "content": (("content_download",), (1,)),
    "paid": (("content_download", "free_trial", "demo_request"), (7, 1.5, 1.5)),
}
# Source effects on the hidden intent and on how many touches precede the hand-off.
SOURCE_INTENT = dict(
    inbound_form=0.4,
    webinar=0.0,
    tradeshow=-0.2,
    content=-0.1,
    paid=-0.2,
    outbound=-0.6,
    referral=0.5,
    partner=0.3,
    other=-0.3,
)

_CH = {c: i for i, c in enumerate(CHANNELS)}


def _channel_probs(**weights: float) -> np.ndarray:
    row = np.zeros(len(CHANNELS))
    for name, w in weights.items():
        row[_CH[name]] = w
    return row / row.sum()


_WEB = dict(web=0.25, email=0.05, paid_search=0.15, paid_social=0.1, organic=0.25, direct=0.15)
CHANNEL_BY_TYPE: dict[str, np.ndarray] = {
    "web_visit": _channel_probs(**_WEB, partner=0.03, other=0.02),
    "pricing_page": _channel_probs(web=0.3, paid_search=0.15, organic=0.2, direct=0.3, email=0.05),
    "content_download": _channel_probs(
        web=0.3, email=0.15, paid_social=0.2, paid_search=0.1, organic=0.15, partner=0.1
    ),
    "webinar_registered": _channel_probs(
        email=0.5, web=0.2, paid_social=0.15, partner=0.1, event=0.05
    ),
    "webinar_attended": _channel_probs(event=0.8, web=0.2),
    "tradeshow_visit": _channel_probs(event=0.95, other=0.05),
    "email_open": _channel_probs(email=1),
    "email_click": _channel_probs(email=1),
    "contact_us": _channel_probs(web=0.5, direct=0.3, phone=0.15, other=0.05),
    "demo_request": _channel_probs(web=0.55, paid_search=0.2, direct=0.2, partner=0.05),
    "free_trial": _channel_probs(web=0.5, direct=0.25, paid_search=0.15, organic=0.1),
    "unsubscribe": _channel_probs(email=1),
}

THEMES = (
    "Pipeline Analytics",
    "Revenue Operations",
    "Data Privacy",
    "AI Forecasting",
    "Customer Retention",
    "Cloud Migration",
    "Sales Enablement",
    "Account-Based Marketing",
)
SHOWS = ("SaaStr", "Dreamforce", "INBOUND", "Web Summit", "DMEXCO", "CeBIT", "MWC", "B2B Summit")
FAMILIES = ("newsletter", "nurture", "webinar", "tradeshow", "ppc", "social", "syndication")


@dataclass
class Events:
    """A batch of events as integer codes: lead row in the chunk, µs time, type index."""

    lead: np.ndarray
    t: np.ndarray
    type: np.ndarray
    sales: np.ndarray  # sales-led touch (no marketing campaign)

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in Events.FIELDS))

    def where(self, keep: np.ndarray) -> Events:
        return Events(*(getattr(self, f)[keep] for f in Events.FIELDS))

    FIELDS = ("lead", "t", "type", "sales")


def _events(lead: np.ndarray, t: np.ndarray, typ: np.ndarray, sales: bool = False) -> Events:
    return Events(
        lead.astype(np.int64), t.astype(np.int64), typ.astype(np.int8), np.full(len(lead), sales)
    )


def _trunc_exp(rng: np.random.Generator, scale: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Exponential(scale) draws truncated to [0, upper]: activity that decays from an anchor."""
    u = rng.random(len(scale))
    return -scale * np.log1p(-u * -np.expm1(-upper / scale))


def _mixed_types(rng: np.random.Generator, p_high: np.ndarray) -> np.ndarray:
    """Per event: a high-intent type with probability `p_high`, else a low-intent one."""
    high = rng.random(len(p_high)) < p_high
    return np.where(
        high, _HIGH[_pick(rng, _HIGH_P, len(high))], _LOW[_pick(rng, _LOW_P, len(high))]
    )


def marketing_events(
    rng: np.random.Generator,
    created: np.ndarray,
    snap: np.ndarray,
    intent: np.ndarray,
    source: np.ndarray,
    end: int,
) -> Events:
    """Every touch that does not depend on the sales outcome: creation, pre-MQL, nurture."""
    n = len(created)
    parts: list[Events] = []
    # 1. The form fill that created the lead.
    for name, (types, weights) in CREATION.items():
        rows = np.flatnonzero(source == SOURCES.index(name))
        codes = np.array([T[t] for t in types])[_pick(rng, np.array(weights, float), len(rows))]
        parts.append(_events(rows, created[rows], codes))
    webinar = np.flatnonzero((source == SOURCES.index("webinar")) & (rng.random(n) < 0.6))
    when = created[webinar] + (rng.integers(1, 21, len(webinar)) * DAY_US)
    parts.append(_events(webinar, when, np.full(len(webinar), T["webinar_attended"])))

    # 2. Bursty sessions before the hand-off, more, more intent-heavy and more recent with intent.
    is_mql = snap > created
    rate = np.exp(1.1 + 0.65 * intent) * np.where(is_mql, 1.0, 0.35)
    count = rng.poisson(rate)
    sessions = 1 + rng.binomial(np.maximum(count - 1, 0), 0.35)
    sessions = np.where(count > 0, sessions, 0)
    s_lead = np.repeat(np.arange(n), sessions)
    window = (snap - created) / DAY_US + PRE_CREATION_DAYS
    scale = 14.0 * np.exp(-0.5 * intent)
    s_delta = _trunc_exp(rng, scale[s_lead], window[s_lead]) * DAY_US
    first = np.concatenate([[0], np.cumsum(sessions)[:-1]])
    e_lead = np.repeat(np.arange(n), count)
    e_sess = first[e_lead] + (rng.random(len(e_lead)) * sessions[e_lead]).astype(np.int64)
    offset = rng.exponential(12 * MINUTE_US, len(e_lead)) + 1_000_000
    t = snap[e_lead] - s_delta[e_sess] - offset
    p_high = 1.0 / (1.0 + np.exp(2.0 - 1.0 * intent[e_lead]))
    typ = _mixed_types(rng, p_high)
    # Before the form fill only anonymous page views can be attributed to the lead.
    anon = t < created[e_lead]
    high = np.isin(typ, _HIGH)
    typ = np.where(anon, np.where(high, T["pricing_page"], T["web_visit"]), typ)
    parts.append(_events(e_lead, t, typ))

    # 3. Nurture after the hand-off: emails and site visits, decaying, until they go cold.
    period = np.minimum((end - snap) / DAY_US, rng.exponential(150.0, n))
    period = np.maximum(period, 0.0)
    m_email = rng.poisson(20.0 * np.exp(0.3 * intent) * -np.expm1(-period / 60.0))
    e_lead = np.repeat(np.arange(n), m_email)
    t = snap[e_lead] + _trunc_exp(rng, np.full(len(e_lead), 60.0), period[e_lead]) * DAY_US
    typ = np.where(rng.random(len(e_lead)) < 0.78, T["email_open"], T["email_click"])
    email = _events(e_lead, t, typ)
    m_web = rng.poisson(2.5 * np.exp(0.5 * intent) * -np.expm1(-period / 30.0))
    e_lead = np.repeat(np.arange(n), m_web)
    t = snap[e_lead] + _trunc_exp(rng, np.full(len(e_lead), 30.0), period[e_lead]) * DAY_US
    web_types = np.array([T[x] for x in ("web_visit", "pricing_page", "content_download")])
    web_types = np.append(web_types, [T["webinar_registered"], T["webinar_attended"]])
    typ = web_types[_pick(rng, np.array([0.6, 0.1, 0.15, 0.08, 0.07]), len(e_lead))]
    parts.append(_events(e_lead, t, typ))
    # Some cold leads unsubscribe; no marketing email reaches them afterwards.
    unsub = (rng.random(n) < 0.15 / (1.0 + np.exp(intent))) & (period > 0)
    unsub_t = np.where(unsub, snap + rng.random(n) * period * DAY_US, np.inf)
    email = email.where(email.t <= unsub_t[email.lead])
    rows = np.flatnonzero(unsub)
    parts += [email, _events(rows, unsub_t[rows], np.full(len(rows), T["unsubscribe"]))]
    return Events.concat(parts)


def latent_interest(events: Events, snap: np.ndarray) -> np.ndarray:
    """g(engagement before the hand-off): log of decayed, intent-weighted touches, standardised."""
    before = events.t < snap[events.lead]
    lead, age = events.lead[before], (snap[events.lead] - events.t)[before] / DAY_US
    w = INTEREST_WEIGHT[events.type[before]] * np.exp2(-age / HALF_LIFE_DAYS)
    raw = np.bincount(lead, weights=w, minlength=len(snap))
    return (np.log1p(np.maximum(raw, 0.0)) - INTEREST_CENTER) / INTEREST_SCALE


def sales_events(
    rng: np.random.Generator,
    opp_t: np.ndarray,
    close_t: np.ndarray,
    won: np.ndarray,
    end: int,
) -> Events:
    """Touches while a deal is open (and onboarding after a win): after the snapshot, leaky."""
    has_opp = opp_t < end
    stop = np.minimum(np.where(won, close_t + 30 * DAY_US, close_t), end)
    mean = np.where(won, 16.0, 5.0) * has_opp
    count = rng.poisson(mean)
    lead = np.repeat(np.arange(len(opp_t)), count)
    span = np.maximum(stop - opp_t, 0)[lead]
    t = opp_t[lead] + rng.random(len(lead)) * span
    kinds = np.array(
        [T[x] for x in ("email_click", "pricing_page", "web_visit", "webinar_attended")]
        + [T["contact_us"], T["free_trial"]]
    )
    typ = kinds[_pick(rng, np.array([0.35, 0.25, 0.25, 0.05, 0.05, 0.05]), len(lead))]
    return _events(lead, t, typ, sales=True)


def campaign_vocab(month0: np.datetime64, n_months: int) -> list[str]:
    """Campaign names for every (family, theme, month): code = (family*T + theme)*M + month."""
    months = [str(month0 + np.timedelta64(m, "M")) for m in range(n_months)]
    names: list[str] = []
    for family in FAMILIES:
        for i, theme in enumerate(THEMES):
            for ym in months:
                quarter = f"{ym[:4]}-Q{(int(ym[5:]) - 1) // 3 + 1}"
                names.append(
                    dict(
                        newsletter=f"Newsletter {ym}",
                        nurture=f"Nurture: {theme}",
                        webinar=f"Webinar: {theme} ({ym})",
                        tradeshow=f"{SHOWS[i]} {ym[:4]}",
                        ppc=f"PPC | {theme} | {quarter}",
                        social=f"Social | {theme} | {quarter}",
                        syndication=f"Syndication: {theme} eBook",
                    )[family]
                )
    return names


def events_table(
    rng: np.random.Generator,
    events: Events,
    lead_ids: pa.Array,
    month0: np.datetime64,
    campaigns: list[str],
) -> pa.Table:
    """Sort by lead and time, add channel and campaign, and build the contract table."""
    order = np.lexsort((events.t, events.lead))
    ev = events.where(order)
    e = len(ev.lead)
    channel = np.zeros(e, dtype=np.int64)
    for name, probs in CHANNEL_BY_TYPE.items():
        rows = np.flatnonzero(ev.type == T[name])
        channel[rows] = _pick(rng, probs, len(rows))
    sales_channel = rng.random(e) < 0.5
    channel = np.where(ev.sales & sales_channel & (channel == _CH["web"]), _CH["direct"], channel)

    family = np.full(e, -1)
    is_email = np.isin(ev.type, [T["email_open"], T["email_click"], T["unsubscribe"]])
    family[is_email] = np.where(rng.random(int(is_email.sum())) < 0.45, 0, 1)
    family[np.isin(ev.type, [T["webinar_registered"], T["webinar_attended"]])] = 2
    family[ev.type == T["tradeshow_visit"]] = 3
    family[(family < 0) & (channel == _CH["paid_search"])] = 4
    family[(family < 0) & (channel == _CH["paid_social"])] = 5
    family[(family < 0) & (channel == _CH["partner"]) & (ev.type == T["content_download"])] = 6
    family[ev.sales] = -1
    theme = rng.integers(0, len(THEMES), e)
    n_months = len(campaigns) // (len(FAMILIES) * len(THEMES))
    month = ev.t.astype("datetime64[us]").astype("datetime64[M]") - month0
    month = np.clip(month.astype(np.int64), 0, n_months - 1)
    code = (np.maximum(family, 0) * len(THEMES) + theme) * n_months + month
    return pa.table(
        {
            "lead_id": lead_ids.take(pa.array(ev.lead)),
            "occurred_at": pa.array(ev.t, type=pa.timestamp("us", tz="UTC")),
            "type": _take(list(EVENT_TYPES), ev.type.astype(np.int64)),
            "channel": _take(list(CHANNELS), channel, rng.random(e) < 0.02),
            "campaign": _take(campaigns, code, family < 0),
        }
    )
