"""Request and response models, named by direction (`LeadIn`, `ScoreOut`).

Closed vocabularies come from `data_contracts.vocab`, so the API can never accept a
seniority the features do not know; `industry` stays open (a new one is scored and flagged).
Timestamps must be ISO-8601 strings with a time zone: a naive or numeric time is ambiguous.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    with_config,
)
from pydantic_core import core_schema
from typing_extensions import TypedDict

from data_contracts.schemas import Account, EngagementEvent, Lead, field_limits
from data_contracts.vocab import (
    ABM_TIERS,
    CHANNELS,
    EVENT_TYPES,
    FUNCTIONS,
    QUADRANTS,
    REASON_TEXT_MAX,
    SCORE_MAX,
    SENIORITIES,
    SOURCES,
    TIERS,
)

if TYPE_CHECKING:
    Seniority = str
    Function = str
    Source = str
    EventType = str
    Channel = str
    Quadrant = str
    AbmTier = str
else:
    Seniority = Literal[SENIORITIES]
    Function = Literal[FUNCTIONS]
    Source = Literal[SOURCES]
    EventType = Literal[EVENT_TYPES]
    Channel = Literal[CHANNELS]
    Quadrant = Literal[QUADRANTS]
    AbmTier = Literal[ABM_TIERS]


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # excluded


TIMESTAMP_MESSAGE = (
    "must be an ISO-8601 timestamp string with a time zone, "
    f"between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
)


def _timestamp_schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """An aware datetime from a string only, in range, checked inside pydantic-core.

    Why not Python validators: pydantic would read a number as a Unix time (so strings
    only), and out-of-range years are typos that would overflow the microsecond time axis.
    Python before/after validators on every event cost ~60% of validating a 10,000-lead
    batch (210k timestamps); this chain of core schemas does the same checks in Rust.
    Python callers may also pass an aware `datetime`.
    """

    def in_range(strict: bool) -> core_schema.CoreSchema:
        return core_schema.datetime_schema(
            strict=strict, tz_constraint="aware", ge=EARLIEST, lt=LATEST
        )

    return core_schema.union_schema(
        [
            core_schema.chain_schema([core_schema.str_schema(strict=True), in_range(False)]),
            in_range(True),
        ],
        mode="left_to_right",
        custom_error_type="timestamp",
        custom_error_message=TIMESTAMP_MESSAGE,
    )


def _utf8(value: str) -> str:
    """Lone surrogates are valid JSON but not text; they would break storage downstream."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Timestamp = Annotated[
    datetime,
    GetPydanticSchema(_timestamp_schema),
    # The range is checked in pydantic-core, which JSON Schema cannot express for date-time
    # strings: the spec says it in words, from the same bounds.
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": (
                "An ISO-8601 timestamp string with a time zone, from "
                f"{EARLIEST:%Y-%m-%dT%H:%M:%SZ} up to (not including) {LATEST:%Y-%m-%dT%H:%M:%SZ}."
            ),
        }
    ),
]


Utf8 = AfterValidator(_utf8)


def _lead_text(column: str) -> Any:
    """A text field with the `Lead` contract's bounds for `column`."""
    return _text(Lead, column)


def _text(model: Any, column: str) -> Any:
    """A text field with contract `model`'s bounds for `column`."""
    return Annotated[StrictStr, Field(**field_limits(model, column)), Utf8]


if TYPE_CHECKING:
    LeadId = str
    Email = str
    Company = str
    AccountId = str
    Phone = str
    Mobile = str
    Industry = str
    Country = str
    Title = str
    Campaign = str
    AccountName = str
    Domain = str
    BusinessUnit = str
    Owner = str
    AccountKey = str
else:
    LeadId = _lead_text("lead_id")
    Email = _lead_text("email")
    Company = _lead_text("company")
    AccountId = _lead_text("account_id")
    Phone = _lead_text("phone")
    Mobile = _lead_text("mobile")
    Industry = _lead_text("industry")
    Country = _lead_text("country")
    Title = _lead_text("title")
    Campaign = _text(EngagementEvent, "campaign")
    AccountName = _text(Account, "name")
    Domain = _text(Account, "domain")
    BusinessUnit = _text(Account, "business_unit")
    Owner = _text(Account, "owner")
    AccountKey = _text(Account, "account_id")

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)

# A mapped extra input: its name as the mapping declared it, its value a JSON number
# (numeric) or string (categorical), null for known to be empty. Which names and kinds a
# champion takes is its own (`GET /v1/model`, the live OpenAPI); `check_extras` judges them.
MAX_EXTRAS = 200
EXTRA_NAME_CHARS = 200
EXTRA_TEXT_CHARS = 1_000
if TYPE_CHECKING:
    ExtraName = str
    ExtraValue = str | float | int | None
else:
    ExtraName = Annotated[StrictStr, Field(min_length=1, max_length=EXTRA_NAME_CHARS), Utf8]
    ExtraValue = (
        Annotated[StrictStr, Field(max_length=EXTRA_TEXT_CHARS), Utf8]
        | StrictInt
        | StrictFloat
        | None
    )


@with_config(_STRICT)
class EventIn(TypedDict):
    """One engagement event of the lead being scored.

    A TypedDict, not a model: a batch holds ~200k events, and validating into dicts costs
    a third of building model instances.
    """

    occurred_at: Timestamp
    type: EventType
    channel: NotRequired[Channel | None]
    campaign: NotRequired[Campaign | None]


class LeadIn(BaseModel):
    """A lead as marketing automation knows it: the `Lead` contract's fields."""

    model_config = _STRICT

    lead_id: LeadId
    created_at: Timestamp
    seniority: Seniority
    function: Function
    source: Source
    is_named_account: StrictBool
    email: Email | None = None
    company: Company | None = None
    account_id: AccountId | None = None
    phone: Phone | None = None
    mobile: Mobile | None = None
    industry: Industry | None = None
    employees: Annotated[StrictInt, Field(**field_limits(Lead, "employees"))] | None = None
    annual_revenue: Annotated[StrictFloat, Field(**field_limits(Lead, "annual_revenue"))] | None = (
        None
    )
    country: Country | None = None
    title: Title | None = None


class AccountIn(BaseModel):
    """An account as the CRM knows it: the `Account` contract's fields."""

    model_config = _STRICT

    account_id: AccountKey
    name: AccountName | None = None
    domain: Domain | None = None
    industry: Industry | None = None
    employees: Annotated[StrictInt, Field(**field_limits(Account, "employees"))] | None = None
    annual_revenue: (
        Annotated[StrictFloat, Field(**field_limits(Account, "annual_revenue"))] | None
    ) = None
    country: Country | None = None
    is_named_account: StrictBool = False
    abm_tier: AbmTier | None = None
    parent_account_id: AccountKey | None = None
    business_unit: BusinessUnit | None = None
    owner: Owner | None = None


# Contacts one account request may carry (each with its own events); the body-size limit
# bounds the events.
MAX_ACCOUNT_CONTACTS = 500


class ContactIn(BaseModel):
    """One contact at an account, with its engagement: a colleague of the lead scored."""

    model_config = _STRICT

    lead: LeadIn
    events: list[EventIn] = Field(default_factory=list)


class AccountContextIn(BaseModel):
    """An account and its contacts: what account features and the account score read.

    The account row is optional (contacts only: the account's firmographics unknown);
    every contact's `account_id` must be the account's.
    """

    model_config = _STRICT

    account: AccountIn | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_ACCOUNT_CONTACTS)


class AccountScoreIn(AccountContextIn):
    """An account (or its contacts only) to score as of a moment (default: now)."""

    as_of: Timestamp | None = None


class ScoreIn(BaseModel):
    """One lead, its recent engagement, and the moment to score it at (default: now)."""

    model_config = _STRICT

    lead: LeadIn
    events: list[EventIn] = Field(default_factory=list)
    as_of: Timestamp | None = None
    account: AccountContextIn | None = Field(
        default=None,
        description=(
            "The lead's account and its other contacts with their events, for champions "
            "that read account features and for the answer's account part. Without it a "
            "lead with an `account_id` is scored as the only known contact of its account."
        ),
    )
    extras: dict[ExtraName, ExtraValue] = Field(
        default_factory=dict,
        max_length=MAX_EXTRAS,
        description=(
            "The mapped extra inputs the serving model was trained with, by name (see "
            "`GET /v1/model` `extras`): a number for a numeric input, a string for a "
            "categorical one, null when known to be empty. An unknown name is refused; a "
            "missing one is scored as unknown and named in the answer's `missing_inputs`."
        ),
    )


class BatchScoreIn(BaseModel):
    """Many leads. Items are validated one by one so one bad lead cannot sink the batch."""

    model_config = _STRICT

    items: Annotated[
        list[Any],
        Field(min_length=1),
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/ScoreIn"},
                "description": "ScoreIn objects; each is validated on its own.",
            }
        ),
    ]
    as_of: Timestamp | None = Field(
        default=None, description="Default `as_of` for items that carry none."
    )


# Request examples for the OpenAPI page (`/docs`), so an integrator can copy a valid body.
# Tests post each one to a live server: they must stay valid requests.
_EXAMPLE_LEAD: dict[str, Any] = {
    "lead_id": "L-20261102-0042",
    "created_at": "2026-11-02T09:30:00Z",
    "seniority": "vp",
    "function": "marketing",
    "source": "inbound_form",
    "is_named_account": False,
    "email": "dana.reyes@northwind-software.example",
    "company": "Northwind Software",
    "industry": "Software",
    "employees": 800,
    "annual_revenue": 95000000.0,
    "country": "US",
    "title": "VP Marketing",
}
_EXAMPLE_EVENTS: list[dict[str, Any]] = [
    {"occurred_at": "2026-11-02T09:31:00Z", "type": "content_download", "channel": "web"},
    {"occurred_at": "2026-11-09T16:05:00Z", "type": "webinar_registered", "channel": "email"},
    {"occurred_at": "2026-11-12T10:15:00Z", "type": "pricing_page", "channel": "web"},
    {"occurred_at": "2026-11-12T10:18:00Z", "type": "pricing_page", "channel": "web"},
]
SCORE_EXAMPLES: dict[str, dict[str, Any]] = {
    "lead_with_events": {
        "summary": "A lead with its recent engagement",
        "description": "Scored as of now; `as_of` may name an earlier moment.",
        "value": {"lead": _EXAMPLE_LEAD, "events": _EXAMPLE_EVENTS},
    },
}
BATCH_EXAMPLES: dict[str, dict[str, Any]] = {
    "two_leads": {
        "summary": "Two leads, one without events, scored as of one moment",
        "value": {
            "items": [
                {"lead": _EXAMPLE_LEAD, "events": _EXAMPLE_EVENTS},
                {
                    "lead": {
                        "lead_id": "L-20261105-0107",
                        "created_at": "2026-11-05T14:00:00Z",
                        "seniority": "manager",
                        "function": "it",
                        "source": "webinar",
                        "is_named_account": True,
                        "industry": "Manufacturing",
                        "country": "DE",
                    },
                    "events": [],
                },
            ],
            "as_of": "2026-11-20T08:00:00Z",
        },
    },
}


class ReasonOut(BaseModel):
    """Why a score is what it is, in a BDR's words."""

    feature: str
    text: str
    direction: Literal["up", "down"]
    weight: float


REASON_TEXT = Field(
    max_length=REASON_TEXT_MAX,
    description=(
        "The reasons as one plain-text line (the pluses, then 'Against:' the minuses), at "
        f"most {REASON_TEXT_MAX} characters: a CRM text property can hold it as it is."
    ),
)


class PartOut(BaseModel):
    """A fit or interest score with its reasons."""

    score: int = Field(ge=0, le=SCORE_MAX)
    probability: float = Field(ge=0, le=1)
    reasons: list[ReasonOut]
    reason_text: str = REASON_TEXT


class CombinedOut(BaseModel):
    """The combined win score; its `reason_text` leads with the strongest fit and interest
    reasons."""

    score: int = Field(ge=0, le=SCORE_MAX)
    probability: float = Field(ge=0, le=1)
    reason_text: str = REASON_TEXT


class FeatureSetOut(BaseModel):
    """The feature set a model was trained on; `label` (`name@version+digest`) differs
    whenever the inputs differ (mapped extras, interest parameters)."""

    name: str
    version: str
    digest: str
    label: str


class LeadAccountOut(BaseModel):
    """The account part of a lead's answer: how its account scores, and whom to reach next."""

    account_id: str
    quadrant: Quadrant
    action: str
    score: int = Field(ge=0, le=SCORE_MAX, description="The account's combined score.")
    probability: float = Field(ge=0, le=1)
    missing_roles: list[str] = Field(description="Buying roles with no engaged contact yet.")
    group_text: str = Field(
        description='The buying group in words: "3 engaged contacts, no decision maker yet".'
    )
    model_version: str = Field(description="The account model version that scored it.")


class AccountScoreOut(BaseModel):
    """The answer for one account: its scores, quadrant and action, and its buying group."""

    request_id: str
    account_id: str
    as_of: datetime
    fit: PartOut
    interest: PartOut
    combined: CombinedOut
    quadrant: Quadrant
    action: str
    tier: int = Field(ge=min(TIERS), le=max(TIERS))
    engaged_contacts: int = Field(ge=0)
    contacts: int = Field(ge=0, description="Contacts known at `as_of` (created before it).")
    roles_covered: list[str] = Field(description="Buying roles with an engaged contact.")
    missing_roles: list[str] = Field(description="Buying roles with no engaged contact yet.")
    group_text: str
    model_version: str
    feature_sets: list[FeatureSetOut]
    contract_version: str
    api_contract_version: str


class ScoreOut(BaseModel):
    """The routing answer for one lead."""

    request_id: str
    lead_id: str
    as_of: datetime
    fit: PartOut
    interest: PartOut
    combined: CombinedOut
    quadrant: Quadrant
    action: str
    tier: int = Field(ge=min(TIERS), le=max(TIERS))
    speed_to_lead_minutes: int = Field(ge=0)
    unseen_categories: list[str]
    missing_inputs: list[str] = Field(
        description="Extra inputs the model was trained with that this request did not send: "
        "it scored them as unknown."
    )
    model_version: str
    feature_sets: list[FeatureSetOut]
    contract_version: str
    api_contract_version: str
    account: LeadAccountOut | None = Field(
        default=None,
        description="The lead's account scored by the account champion; null when the lead "
        "has no account_id or no account model serves (`account_note` says which).",
    )
    account_note: str | None = Field(
        default=None, description="Why `account` is null; null when it is not."
    )


class FieldErrorOut(BaseModel):
    """One problem with the input: where (`loc`) and what (`msg`)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    detail: list[FieldErrorOut] | str
    request_id: str | None = None


class BatchItemOut(BaseModel):
    """The answer for one item, in request order: a score or the item's errors."""

    index: int
    ok: bool
    result: ScoreOut | None = None
    errors: list[FieldErrorOut] | None = None


class BatchScoreOut(BaseModel):
    request_id: str
    model_version: str
    n_ok: int
    n_failed: int
    results: list[BatchItemOut]


class SignoffOut(BaseModel):
    decision: str | None = None
    by: str | None = None
    at: str | None = None
    comment: str | None = None
    binding_matches: bool


class ExtraInputOut(BaseModel):
    """A mapped input the serving model was trained with, sent in `ScoreIn.extras`."""

    name: str
    kind: Literal["numeric", "categorical"]
    role: Literal["fit", "interest"]


class ModelOut(BaseModel):
    """What is serving: version, who signed it off, its policy, its window and numbers,
    and the extra inputs a request should carry."""

    name: str
    version: str
    run_id: str | None
    loaded_at: datetime
    binding: str | None
    signoffs: dict[str, SignoffOut]
    policy: dict[str, Any]
    training_window: dict[str, Any]
    metrics: dict[str, float]
    feature_sets: list[FeatureSetOut]
    contract_version: str
    extras: list[ExtraInputOut]
    source: str | None = Field(
        default=None, description="What the model was trained on (a mapping or a folder)."
    )


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    ready: bool
    model_version: str | None = None
    reason: str | None = None
