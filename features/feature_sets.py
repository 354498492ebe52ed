"""The declared feature sets: every column a model sees has a name, kind, dtype and description.

A `FeatureSet` is logged with every training run (`feature_sets.json`) so a model version says
exactly which columns it was trained on. Its `label` (`fit_v1@1.0.0+<digest>`) names the set
*with* its mapped extras and parameters: two versions trained on different inputs never
report the same label, though both are built by `fit_v1`. `phrase` is a `str.format` template (`{value}`,
`{Value}`) that `models.reasons` uses to say a feature in a BDR's words. Beside it, a spec
says what a person reads rather than what the model sees: how to undo a log scale (`scale`),
whether the number is a count of a noun (`unit` / `units`), a span of days or an amount of
money (`display`, `models.wording` says them), words for coded values (`words`), and the
phrases for an unknown value, a zero and a value below zero. Flags carry `phrase_true` /
`phrase_false`; `missing_when` marks the flag value that means "not on file", so a missing
detail is never offered as a selling point unless the model really rewards it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from data_contracts.vocab import (
    EVENT_TYPES,
    FUNCTION_WORDS,
    HIGH_INTENT_EVENT_TYPES,
    SENIORITY_WORDS,
    SOURCE_WORDS,
)

Kind = Literal["numeric", "categorical"]
KINDS: tuple[str, ...] = ("numeric", "categorical")
Role = Literal["fit", "interest"]
ROLES: tuple[str, ...] = ("fit", "interest")
EXTRA_PREFIX = "x_"
# How fast interest decays unless a run says otherwise: engagement halves every 14 days.
DEFAULT_HALF_LIFE_DAYS = 14.0
DIGEST_CHARS = 8
# The currency `annual_revenue` is said in unless training is told otherwise
# (`HANDOFF_CURRENCY`); it is recorded in the run's feature sets.
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: what it is, how it is stored, and how to say it."""

    name: str
    kind: Kind
    dtype: str
    description: str
    phrase: str = ""
    phrase_true: str | None = None
    phrase_false: str | None = None
    # "count" (of `unit`/`units`), "days" (a span) or "money" (in currency `unit`); the
    # older "pow10" means scale "log10" and nothing else.
    display: str | None = None
    source: str | None = None  # the mapped lead column an extra feature comes from
    scale: str | None = None  # "log10" / "log10_1p": the value is log10(x) / log10(1 + x)
    unit: str | None = None  # the noun for one (a count), or the currency code (money)
    units: str | None = None  # the noun for many
    phrase_missing: str | None = None  # said when the value is not known
    phrase_zero: str | None = None  # said for exactly 0 ("No web visits in the last 30 days")
    phrase_below: str | None = None  # said for a value below 0 (a trend slowing down)
    missing_when: float | None = None  # the flag value that means "not on file"
    words: dict[str, str] | None = field(default=None, hash=False)  # value -> how it is said

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned list of features (like a Feast feature service), for one model:
    `role` says whether the fit or the interest model reads it."""

    name: str
    version: str
    features: tuple[FeatureSpec, ...] = field(default_factory=tuple)
    # Parameters the values depend on (interest: half_life_days, type_weights), so scoring
    # can rebuild exactly what training saw.
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    role: Role = "fit"

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{self.name}: duplicate feature names {dupes}")
        if self.role not in ROLES:
            raise ValueError(f"{self.name}: role must be one of {ROLES}, not {self.role!r}")

    @property
    def digest(self) -> str:
        """Short sha256 over what the values depend on: each feature's name, kind, dtype and
        source column, and the parameters (not the descriptive text)."""
        inputs = {
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "features": [[f.name, f.kind, f.dtype, f.source] for f in self.features],
            "params": self.params,
        }
        text = json.dumps(inputs, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]

    @property
    def label(self) -> str:
        """`name@version+digest`: what a model version reports as its feature set."""
        return f"{self.name}@{self.version}+{self.digest}"

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical_columns(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    @property
    def extras(self) -> dict[str, Kind]:
        """Mapped source column -> kind, to rebuild the same extras at scoring time."""
        return {f.source: f.kind for f in self.features if f.source is not None}

    def spec(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def identity(self) -> dict[str, str]:
        """What an answer or a listing says about the set: name, version, digest, label."""
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "label": self.label,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON form logged with a run (`feature_sets.json`); `digest` and `label` ride
        along for readers that do not rebuild the set."""
        return {
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "digest": self.digest,
            "label": self.label,
            "features": [f.to_dict() for f in self.features],
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSet:
        """The set a run logged; a digest that no longer matches its contents is refused."""
        built = cls(
            name=str(data["name"]),
            version=str(data["version"]),
            features=tuple(FeatureSpec(**spec) for spec in data.get("features", [])),
            params=dict(data.get("params", {})),
            role=data["role"],
        )
        if data.get("digest") not in (None, built.digest):
            raise ValueError(
                f"feature set {built.name}: recorded digest {data['digest']} does not match "
                f"its features ({built.digest})"
            )
        return built

    def with_extras(
        self,
        columns: Mapping[str, str],
        prefix: str = EXTRA_PREFIX,
        taken: Sequence[str] = (),
        words: Mapping[str, Mapping[str, str]] | None = None,
    ) -> FeatureSet:
        """This set plus mapped extra lead columns (`{column: "numeric"|"categorical"}`).

        Each becomes `<prefix><snake_case column>`, renamed further if it would collide with
        this set's columns or `taken` (another set's columns). `words[column]` may give its
        `description` (a label) and `phrase` (a reason template, see the module doc); the
        column name stands in for both where a mapping gave none.
        """
        if not columns:
            return self
        names = extra_names(list(columns), prefix, taken=[*self.columns, *taken])
        said = words or {}
        added = tuple(
            FeatureSpec(
                name=names[col],
                kind=_kind(kind, col),
                dtype="category" if kind == "categorical" else "float64",
                description=said.get(col, {}).get("description") or f"Mapped CRM column '{col}'",
                phrase=said.get(col, {}).get("phrase") or _escape(col) + ": {value}",
                source=col,
            )
            for col, kind in columns.items()
        )
        return replace(self, features=self.features + added)

    def without_fields(
        self, absent: Sequence[str], reads: Mapping[str, Sequence[str]]
    ) -> FeatureSet:
        """This set without the features built from lead fields the data does not have.

        `reads` maps a feature to the contract fields it is computed from (`FIT_READS`). The
        absent fields that took a feature out are recorded in `params["absent_fields"]`, so
        the digest (and the label) changes with them and scoring rebuilds the same set.
        """
        gone = set(absent)
        dropped = {f for f in self.columns if gone & set(reads.get(f, ()))}
        if not dropped:
            return self
        used = sorted({field for f in dropped for field in reads[f]} & gone)
        return replace(
            self,
            features=tuple(f for f in self.features if f.name not in dropped),
            params={**self.params, "absent_fields": used},
        )

    @property
    def absent_fields(self) -> tuple[str, ...]:
        """Lead fields this set was built without (see `without_fields`)."""
        return tuple(self.params.get("absent_fields", ()))

    def with_currency(self, currency: str) -> FeatureSet:
        """This set with its money features said in `currency` (words only: the digest,
        which covers what the values are computed from, does not change)."""
        return replace(
            self,
            features=tuple(
                replace(f, unit=currency) if f.display == "money" else f for f in self.features
            ),
        )


def _kind(kind: str, col: str) -> Kind:
    if kind == "numeric":
        return "numeric"
    if kind == "categorical":
        return "categorical"
    raise ValueError(f"extra column {col!r}: kind must be one of {KINDS}, not {kind!r}")


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def extra_names(columns: list[str], prefix: str = EXTRA_PREFIX, taken: Any = ()) -> dict[str, str]:
    """Feature names for mapped columns: prefixed, snake_case, unique among `taken`."""
    used = set(taken)
    out: dict[str, str] = {}
    for col in columns:
        base = prefix + (re.sub(r"[^0-9a-zA-Z]+", "_", str(col)).strip("_").lower() or "col")
        name, i = base, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        out[col] = name
    return out


def flag_spec(
    name: str, description: str, true: str, false: str, *, missing_when: float | None = None
) -> FeatureSpec:
    """A yes/no feature said in words either way (every feature set declares them alike)."""
    return FeatureSpec(
        name,
        "numeric",
        "int8",
        description,
        phrase=f"{true} (1 = yes): {{value}}",
        phrase_true=true,
        phrase_false=false,
        missing_when=missing_when,
    )


def category_spec(name: str, description: str, phrase: str, missing: str, **kw: Any) -> FeatureSpec:
    """A categorical feature with its phrase and what to say when it is not on file."""
    return FeatureSpec(
        name, "categorical", "category", description, phrase=phrase, phrase_missing=missing, **kw
    )


def number_spec(name: str, dtype: str, description: str, phrase: str, **kw: Any) -> FeatureSpec:
    """A numeric feature with its phrase."""
    return FeatureSpec(name, "numeric", dtype, description, phrase=phrase, **kw)


FIT_V1 = FeatureSet(
    name="fit_v1",
    version="1.0.0",
    role="fit",
    features=(
        category_spec(
            "industry",
            "Industry of the lead's company (as the CRM spells it)",
            "{Value} industry",
            "Industry not known",
        ),
        category_spec(
            "country", "Country of the lead's company", "Based in {value}", "Country not known"
        ),
        category_spec(
            "seniority",
            "Seniority of the lead's title",
            "Seniority: {value}",
            "Seniority not known",
            words=SENIORITY_WORDS,
        ),
        category_spec(
            "function",
            "Business function of the lead's role",
            "Works in {value}",
            "Business function not known",
            words=FUNCTION_WORDS,
        ),
        category_spec(
            "source",
            "Lead source: how the lead came in",
            "Came in via {value}",
            "Lead source not known",
            words=SOURCE_WORDS,
        ),
        number_spec(
            "log_employees",
            "float64",
            "Company headcount, log10 (2 = 100, 3 = 1,000, 4 = 10,000); NaN when unknown",
            "Company of about {value}",
            scale="log10",
            display="count",
            unit="employee",
            units="employees",
            phrase_missing="Headcount not known",
        ),
        number_spec(
            "log_revenue",
            "float64",
            "Company annual revenue, log10(1 + revenue) (6 = 1M, 9 = 1B); NaN when unknown",
            "Company revenue of about {value}",
            scale="log10_1p",
            display="money",
            unit=DEFAULT_CURRENCY,
            phrase_missing="Revenue not known",
        ),
        flag_spec(
            "employees_missing",
            "Company headcount is not known",
            "Headcount not known",
            "Headcount known",
            missing_when=1,
        ),
        flag_spec(
            "revenue_missing",
            "Company revenue is not known",
            "Revenue not known",
            "Revenue known",
            missing_when=1,
        ),
        flag_spec(
            "is_named_account",
            "The company is a named (target) account",
            "Named account",
            "Not a named account",
        ),
        flag_spec(
            "email_present",
            "An email address is on file",
            "Has an email address",
            "No email address",
            missing_when=0,
        ),
        flag_spec(
            "email_corporate",
            "Email on a company domain (not a free-mail provider such as gmail.com)",
            "Company email address",
            "Free-mail or no email address",
        ),
        flag_spec(
            "phone_present",
            "A phone number is on file",
            "Has a phone number",
            "No phone number",
            missing_when=0,
        ),
        flag_spec(
            "mobile_present",
            "A mobile number is on file",
            "Has a mobile number",
            "No mobile number",
            missing_when=0,
        ),
        flag_spec(
            "title_present",
            "A job title is on file",
            "Has a job title",
            "No job title",
            missing_when=0,
        ),
        flag_spec(
            "title_head_of",
            "Job title contains 'head' (e.g. Head of Marketing)",
            "'Head of' title",
            "No 'Head of' title",
        ),
        flag_spec(
            "title_chief",
            "Job title names a chief, founder, owner or president (CEO, CTO, ...)",
            "Chief / founder / owner title",
            "Not a chief / founder title",
        ),
    ),
)

# The lead contract fields each fit feature is computed from (`features.fit.fit_arrays`): a
# field the data does not have (`CrmData.absent_fields`) takes its features out of the set,
# so a model never learns, and a reason never states, a value that was never there.
FIT_READS: dict[str, tuple[str, ...]] = {
    "industry": ("industry",),
    "country": ("country",),
    "seniority": ("seniority",),
    "function": ("function",),
    "source": ("source",),
    "log_employees": ("employees",),
    "log_revenue": ("annual_revenue",),
    "employees_missing": ("employees",),
    "revenue_missing": ("annual_revenue",),
    "is_named_account": ("is_named_account",),
    "email_present": ("email",),
    "email_corporate": ("email",),
    "phone_present": ("phone",),
    "mobile_present": ("mobile",),
    "title_present": ("title",),
    "title_head_of": ("title",),
    "title_chief": ("title",),
}

# Event types that count as engagement (unsubscribe is a touch, but not interest).
ENGAGEMENT_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != "unsubscribe")

# What one and many events of each type are called.
_TYPE_WORDS: dict[str, tuple[str, str]] = {
    "web_visit": ("web visit", "web visits"),
    "pricing_page": ("pricing-page visit", "pricing-page visits"),
    "content_download": ("content download", "content downloads"),
    "webinar_registered": ("webinar registration", "webinar registrations"),
    "webinar_attended": ("webinar attended", "webinars attended"),
    "tradeshow_visit": ("tradeshow booth visit", "tradeshow booth visits"),
    "email_open": ("email open", "email opens"),
    "email_click": ("email click", "email clicks"),
    "contact_us": ("contact-us request", "contact-us requests"),
    "demo_request": ("demo request", "demo requests"),
    "free_trial": ("free-trial sign-up", "free-trial sign-ups"),
}
_GROUP_WORDS: dict[str, tuple[str, str]] = {
    "touches": ("touch", "touches"),
    "high_intent": ("high-intent touch", "high-intent touches"),
}

# (event type or group, window in days) counted; group "touches" = all engagement types,
# "high_intent" = vocab.HIGH_INTENT_EVENT_TYPES. Chosen to stay compact (not every type x window).
COUNT_WINDOWS: tuple[tuple[str, int], ...] = (
    ("touches", 7),
    ("touches", 30),
    ("touches", 90),
    ("high_intent", 7),
    ("high_intent", 30),
    ("high_intent", 90),
    ("pricing_page", 7),
    ("pricing_page", 30),
    ("web_visit", 30),
    ("email_open", 30),
    ("email_click", 30),
    ("content_download", 30),
    *((t, 90) for t in ENGAGEMENT_TYPES),
)


def count_name(group: str, days: int) -> str:
    return f"n_{group}_{days}d"


def _count_spec(group: str, days: int) -> FeatureSpec:
    if group == "touches":
        what = "engagement touches of any type"
    elif group == "high_intent":
        what = "high-intent touches (" + ", ".join(HIGH_INTENT_EVENT_TYPES) + ")"
    else:
        what = f"'{group}' events"
    one, many = {**_GROUP_WORDS, **_TYPE_WORDS}[group]
    return number_spec(
        count_name(group, days),
        "int32",
        f"Number of {what} in the {days} days before the snapshot",
        f"{{value}} in the last {days} days",
        display="count",
        unit=one,
        units=many,
        phrase_zero=f"No {many} in the last {days} days",
    )


_TREND = "(last 7 days against the month before)"

INTEREST_V1 = FeatureSet(
    name="interest_v1",
    version="1.0.0",
    role="interest",
    features=(
        *(_count_spec(g, d) for g, d in COUNT_WINDOWS),
        number_spec(
            "n_touches_total",
            "int32",
            "Number of engagement touches ever, before the snapshot",
            "{value} in total",
            display="count",
            unit="touch",
            units="touches",
            phrase_zero="No touches yet",
        ),
        number_spec(
            "engagement_decayed",
            "float64",
            "Engagement weighted by type and halved every half-life "
            f"(default {DEFAULT_HALF_LIFE_DAYS:g} days)",
            "Recent engagement score of {value:.1f}",
            phrase_zero="No recent engagement",
        ),
        number_spec(
            "high_intent_decayed",
            "float64",
            "High-intent touches, each halved every half-life "
            f"(default {DEFAULT_HALF_LIFE_DAYS:g} days)",
            "Recent high-intent activity score of {value:.1f}",
            phrase_zero="No recent high-intent activity",
        ),
        number_spec(
            "days_since_last_touch",
            "float64",
            "Days from the last engagement touch to the snapshot; NaN when none",
            "Last touch {value} ago",
            display="days",
            phrase_missing="No touches yet",
        ),
        number_spec(
            "days_since_last_high_intent",
            "float64",
            "Days from the last high-intent touch to the snapshot; NaN when none",
            "Last high-intent touch {value} ago",
            display="days",
            phrase_missing="No high-intent touch yet",
        ),
        number_spec(
            "days_since_first_touch",
            "float64",
            "Days from the first engagement touch to the snapshot; NaN when none",
            "First touch {value} ago",
            display="days",
            phrase_missing="No touches yet",
        ),
        number_spec(
            "n_types_90d",
            "int32",
            "Distinct engagement types in the 90 days before the snapshot (breadth)",
            "{value} in the last 90 days",
            display="count",
            unit="kind of touch",
            units="different kinds of touch",
            phrase_zero="No touches in the last 90 days",
        ),
        number_spec(
            "velocity_7d",
            "float64",
            "log(1 + touches in the last 7 days) - log(1 + the 7-day rate over the 30 days "
            "before): > 0 accelerating, < 0 cooling, 0 for no activity",
            f"Activity picking up {_TREND}",
            phrase_below=f"Activity slowing down {_TREND}",
            phrase_zero=f"Activity steady {_TREND}",
        ),
        flag_spec(
            "unsubscribed",
            "The lead unsubscribed before the snapshot",
            "Unsubscribed",
            "Still subscribed",
        ),
    ),
)
