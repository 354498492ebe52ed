"""Allowed values for every closed vocabulary in the contracts.

Everything else in Handoff (generator, features, serving schemas, mappings) reads
these tuples from here, so a new category is added in exactly one place.
"""

from __future__ import annotations

SENIORITIES: tuple[str, ...] = ("ic", "manager", "director", "vp", "c_level", "unknown")

FUNCTIONS: tuple[str, ...] = (
    "sales",
    "marketing",
    "engineering",
    "it",
    "finance",
    "operations",
    "hr",
    "executive",
    "product",
    "education",
    "other",
    "unknown",
)

# How a person says each value (reason codes, the review pages); a value not listed is said
# as it is spelt, with spaces for underscores. "unknown" is said by each feature's own phrase.
SENIORITY_WORDS: dict[str, str] = {
    "ic": "IC",
    "manager": "Manager",
    "director": "Director",
    "vp": "VP",
    "c_level": "C-level",
}
FUNCTION_WORDS: dict[str, str] = {
    "it": "IT",
    "hr": "HR",
    "executive": "an executive role",
    "other": "another function",
}

SOURCES: tuple[str, ...] = (
    "inbound_form",
    "webinar",
    "tradeshow",
    "content",
    "paid",
    "outbound",
    "referral",
    "partner",
    "other",
)

SOURCE_WORDS: dict[str, str] = {
    "inbound_form": "an inbound form",
    "webinar": "a webinar",
    "tradeshow": "a tradeshow",
    "content": "a content download",
    "paid": "paid ads",
    "outbound": "outbound prospecting",
    "referral": "a referral",
    "partner": "a partner",
    "other": "another source",
}

EVENT_TYPES: tuple[str, ...] = (
    "web_visit",
    "pricing_page",
    "content_download",
    "webinar_registered",
    "webinar_attended",
    "tradeshow_visit",
    "email_open",
    "email_click",
    "contact_us",
    "demo_request",
    "free_trial",
    "unsubscribe",
)

# Events that signal buying intent rather than curiosity.
HIGH_INTENT_EVENT_TYPES: tuple[str, ...] = (
    "pricing_page",
    "demo_request",
    "contact_us",
    "free_trial",
)

CHANNELS: tuple[str, ...] = (
    "web",
    "email",
    "event",
    "paid_search",
    "paid_social",
    "organic",
    "direct",
    "partner",
    "phone",
    "other",
)

# Lifecycle stages in the order a lead moves through them. sales_accepted and
# sales_rejected are alternatives at the same step, as are closed_won and closed_lost.
STAGES: tuple[str, ...] = (
    "mql",
    "accepted",
    "meeting_set",
    "sales_accepted",
    "sales_rejected",
    "opportunity",
    "closed_won",
    "closed_lost",
)

# Rank of each stage in the lifecycle: stage times must not decrease with rank.
STAGE_RANK: dict[str, int] = {
    "mql": 0,
    "accepted": 1,
    "meeting_set": 2,
    "sales_accepted": 3,
    "sales_rejected": 3,
    "opportunity": 4,
    "closed_won": 5,
    "closed_lost": 5,
}

TERMINAL_STAGES: tuple[str, ...] = ("closed_won", "closed_lost", "sales_rejected")

REJECT_REASONS: tuple[str, ...] = (
    "no_budget",
    "no_authority",
    "no_need",
    "bad_timing",
    "poor_fit",
    "competitor",
    "duplicate",
    "no_show",
    "unreachable",
    "other",
)

# Stages that may carry a meeting rating (the AE rates the meeting they were handed).
RATED_STAGES: tuple[str, ...] = ("meeting_set", "sales_accepted", "sales_rejected")

# Stages that may carry a deal amount.
AMOUNT_STAGES: tuple[str, ...] = ("opportunity", "closed_won", "closed_lost")

# A contact's role in the account's buying group (`features.roles` derives it).
BUYING_ROLES: tuple[str, ...] = ("decision_maker", "buyer", "influencer", "user", "unknown")
BUYING_ROLE_WORDS: dict[str, str] = {
    "decision_maker": "decision maker",
    "buyer": "buyer",
    "influencer": "influencer",
    "user": "user",
    "unknown": "contact of unknown role",
}

# The shipped buying-role policy (`features.roles.RolePolicy`'s default, and the generator's
# truth): (role, seniorities, functions), first match wins, an empty tuple matches any value,
# no match is "unknown".
DEFAULT_ROLE_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("decision_maker", ("c_level", "vp"), ()),
    ("buyer", ("manager", "director"), ("finance", "other")),
    ("influencer", ("manager", "director"), ()),
    ("user", ("ic",), ()),
)

# A contact counts as engaged (their role covered) with a touch in this many days before the
# snapshot: the account features and the generator's buying-group truth both read it.
ENGAGED_DAYS = 90

# ABM tiers of a named account (tier_1 = the accounts marketing and sales work hardest).
ABM_TIERS: tuple[str, ...] = ("tier_1", "tier_2", "tier_3")

# Routing tiers a quadrant's action carries (1 = work first).
TIERS: tuple[int, ...] = (1, 2, 3, 4)

# Scores are calibrated probabilities in percent: 0..SCORE_MAX.
SCORE_MAX = 100

# A score's one-line `reason_text` fits a CRM's plain text property: Salesforce's Text fields
# hold at most 255 characters (HubSpot's single-line text property holds far more).
REASON_TEXT_MAX = 255

# The fit x interest quadrants, in the order of the rule that assigns them
# (`models.policy.quadrant_codes`): high fit & high interest, high fit & low interest,
# low fit & high interest, low fit & low interest.
QUADRANTS: tuple[str, ...] = ("sales_now", "nurture", "order_taker", "group_resources")

FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "gmx.com",
    "mail.com",
    "proton.me",
    "protonmail.com",
    "yandex.com",
    "live.com",
    "msn.com",
    "qq.com",
    "163.com",
)
