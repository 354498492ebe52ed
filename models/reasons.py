"""Reason codes from the model's own per-feature contributions, phrased for a BDR.

Why not `pred_contrib` (TreeSHAP) at scoring time: it costs ~0.7 ms a row for a 200-tree
model, too slow for 1M-lead batches and a 10 ms single-lead budget. Instead each tree's
*path* contributions (Saabas: the change in node value at every split, credited to the split
feature) are precomputed once per leaf from `booster.dump_model()`. Scoring then needs only
`pred_leaf` (as cheap as a prediction) and a sparse sum of the leaves' rows. Contributions
still add up exactly to the model's raw score, and they agree with TreeSHAP on the top
reasons for most leads (tested in `tests/models/test_reasons.py`).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from data_contracts.vocab import REASON_TEXT_MAX
from models.wording import count, duration, money

Reason = dict[str, Any]

MINUTES_PER_DAY = 1440.0
UNKNOWN = "unknown"  # the vocabularies' word for a value the CRM does not know

# Up to this many rows, leaf contributions are summed by fancy indexing, beyond by a sparse
# product (bench_scorer.py --paths measures both sides).
_FEW_CONTRIB_ROWS = 8


@dataclass(frozen=True)
class PathContributions:
    """Per-leaf path contributions of one booster, summed by leaf index at scoring time."""

    table: npt.NDArray[np.float64]  # (total leaves, n_features)
    offsets: npt.NDArray[np.int64]  # first row of each tree in `table`
    bias: float  # sum of the root values: the raw score before any split
    feature_names: tuple[str, ...]

    @classmethod
    def from_booster(cls, booster: lgb.Booster) -> PathContributions:
        """Walk every tree once and store, per leaf, the split deltas along its path."""
        dump = booster.dump_model()
        names = tuple(dump["feature_names"])
        n_features = len(names)
        rows: list[npt.NDArray[np.float64]] = []
        offsets: list[int] = []
        bias = 0.0
        for tree in dump["tree_info"]:
            offsets.append(sum(len(r) for r in rows))
            n_leaves = int(tree["num_leaves"])
            leaf_rows = np.zeros((n_leaves, n_features))
            root = tree["tree_structure"]
            if "leaf_value" in root:  # a stump without splits
                bias += float(root["leaf_value"])
                rows.append(leaf_rows)
                continue
            bias += float(root["internal_value"])
            stack: list[tuple[dict[str, Any], npt.NDArray[np.float64]]] = [
                (root, np.zeros(n_features))
            ]
            while stack:
                node, path = stack.pop()
                parent_value = float(node["internal_value"])
                feature = int(node["split_feature"])
                for side in ("left_child", "right_child"):
                    child = node[side]
                    value = float(
                        child["leaf_value"] if "leaf_value" in child else child["internal_value"]
                    )
                    child_path = path.copy()
                    child_path[feature] += value - parent_value
                    if "leaf_index" in child:
                        leaf_rows[int(child["leaf_index"])] = child_path
                    else:
                        stack.append((child, child_path))
            rows.append(leaf_rows)
        table = np.vstack(rows) if rows else np.zeros((0, n_features))
        return cls(
            table=table, offsets=np.asarray(offsets, dtype=np.int64), bias=bias, feature_names=names
        )

    def contributions(self, leaves: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float64]:
        """(n, n_features) contributions from `pred_leaf` output of shape (n, n_trees)."""
        n, n_trees = leaves.shape
        if n_trees == 0:
            return np.zeros((n, self.table.shape[1]))
        index = (leaves.astype(np.int64) + self.offsets[None, :]).ravel()
        if n <= _FEW_CONTRIB_ROWS:  # fancy indexing beats building a sparse matrix here
            return self.table[index].reshape(n, n_trees, -1).sum(axis=1)
        onehot = sp.csr_matrix(
            (np.ones(index.size), index, np.arange(0, index.size + 1, n_trees)),
            shape=(n, self.table.shape[0]),
        )
        return np.asarray(onehot @ self.table)

    def raw_score(self, contributions: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The model's raw (log-odds) score: bias plus the contributions, exactly."""
        return self.bias + contributions.sum(axis=1)


def _display_number(value: float) -> str:
    if math.isnan(value):
        return "unknown"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


class _Value(str):
    """A formatted value that also honours numeric format specs in templates ({value:.0f})."""

    number: float | None

    def __new__(cls, text: str, number: float | None = None) -> _Value:
        obj = super().__new__(cls, text)
        obj.number = number
        return obj

    def __format__(self, spec: str) -> str:
        if spec and self.number is not None and not math.isnan(self.number):
            try:
                return format(self.number, spec)
            except ValueError:
                pass
        return format(str(self), spec)


_Part = tuple[str | None, str]  # (field name or None for a literal, literal text or spec)
_PLAIN_FIELDS = frozenset({"value", "Value", "description"})
_PLAIN: dict[str, tuple[_Part, ...] | None] = {}


def _plain_parts(template: str) -> tuple[_Part, ...] | None:
    """A template's literal pieces and its `value` / `Value` / `description` fields with
    their format specs, parsed once; None when it uses conversions or other fields.

    Why: a 10,000-lead batch phrases ~20k distinct (feature, value) pairs, and `str.format`
    with two `_Value` objects per phrase was half the reason-code time.
    """
    if template in _PLAIN:
        return _PLAIN[template]
    parts: list[_Part] | None = []
    try:
        for literal, field_name, spec, conversion in string.Formatter().parse(template):
            assert parts is not None
            if literal:
                parts.append((None, literal))
            if field_name is None:
                continue
            if conversion or field_name not in _PLAIN_FIELDS or "{" in (spec or ""):
                parts = None
                break
            parts.append((field_name, spec or ""))
    except ValueError:
        parts = None
    result = tuple(parts) if parts is not None else None
    if len(_PLAIN) < 4096:
        _PLAIN[template] = result
    return result


def _formatted(text: str, number: float | None, spec: str) -> str:
    """What `format(_Value(text, number), spec)` gives, without building the `_Value`."""
    if spec and number is not None and not math.isnan(number):
        try:
            return format(number, spec)
        except ValueError:
            pass
    return format(text, spec)


def phrase(template: str | None, description: str, value: Any, *, is_category: bool) -> str:
    """One reason text: the feature set's phrase template, else `description: value`.

    Templates use `str.format` fields `{value}` (display form), `{Value}` (capitalised) and
    `{description}`; a numeric spec like `{value:.0f}` formats the number.
    """
    if is_category:
        text = (
            "unknown"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else str(value)
        )
        return _render(template, description, text.replace("_", " "), None)
    number = float(value) if value is not None else float("nan")
    return _render(template, description, _display_number(number), number)


def _render(template: str | None, description: str, text: str, number: float | None) -> str:
    """`template` with `{value}` as `text` (numeric specs format `number`)."""
    if template:
        plain = _plain_parts(template)
        if plain is not None:
            fields = {
                "value": text,
                "Value": text[:1].upper() + text[1:],
                "description": description,
            }
            try:
                return "".join(
                    piece
                    if field is None
                    else _formatted(
                        fields[field], None if field == "description" else number, piece
                    )
                    for field, piece in plain
                )
            except ValueError:
                pass  # a spec the value cannot take: str.format below says what it says
        val = _Value(text, number)
        try:
            return template.format(
                value=val,
                Value=_Value(val[:1].upper() + val[1:], val.number),
                description=description,
            )
        except (KeyError, IndexError, ValueError):
            pass
    return f"{description}: {text}"


@dataclass(frozen=True)
class Saying:
    """How to say one feature's value to a person, read from its feature spec."""

    template: str | None = None
    missing: str | None = None  # the value is not known
    zero: str | None = None
    below: str | None = None  # the value is below zero
    true: str | None = None  # a flag's two phrases
    false: str | None = None
    scale: str | None = None  # "log10" / "log10_1p": undo before saying the number
    display: str | None = None  # "count", "days", "money" (`models.wording` says them)
    unit: str | None = None
    units: str | None = None
    words: Mapping[str, str] | None = field(default=None, hash=False)
    missing_when: float | None = None  # the flag value meaning "not on file"

    def number(self, value: float) -> float:
        """What a person would read: the value with its log scale undone."""
        if self.scale == "log10":
            return float(round(10.0**value))
        if self.scale == "log10_1p":
            return float(round(10.0**value - 1.0))
        return value

    def text(self, number: float) -> str:
        if self.display == "count":
            return count(number, self.unit or "", self.units or self.unit or "").strip()
        if self.display == "days":
            return duration(number * MINUTES_PER_DAY)
        if self.display == "money":
            return money(number, self.unit or "")
        return _display_number(number)

    def say_number(self, value: float, description: str) -> str:
        if math.isnan(value):
            if self.missing:
                return self.missing
            return _render(self.template, description, "unknown", value)
        if self.true is not None and self.false is not None:
            return self.true if value > 0.5 else self.false
        number = self.number(value)
        if number == 0 and self.zero:
            return self.zero
        template = self.below if number < 0 and self.below else self.template
        return _render(template, description, self.text(number), number)

    def say_category(self, value: Any, description: str) -> str:
        unknown = value is None or (isinstance(value, float) and math.isnan(value))
        label = UNKNOWN if unknown else str(value)
        if label == UNKNOWN and self.missing:
            return self.missing
        said = (self.words or {}).get(label, label.replace("_", " "))
        return _render(self.template, description, said, None)


_SPEC_SAYING: dict[str, str] = {
    "phrase": "template",
    "phrase_missing": "missing",
    "phrase_zero": "zero",
    "phrase_below": "below",
    "phrase_true": "true",
    "phrase_false": "false",
    "scale": "scale",
    "display": "display",
    "unit": "unit",
    "units": "units",
    "words": "words",
    "missing_when": "missing_when",
}


def _saying(get: Any) -> Saying:
    """A spec's phrasing fields as a `Saying` (the older display "pow10" is scale "log10")."""
    values = {ours: get(theirs) for theirs, ours in _SPEC_SAYING.items()}
    if values["display"] == "pow10":
        values["display"], values["scale"] = None, "log10"
    if values["missing_when"] is not None:
        values["missing_when"] = float(values["missing_when"])
    if values["true"] is None or values["false"] is None:
        values["true"] = values["false"] = None
    return Saying(**{k: (v if v != "" else None) for k, v in values.items()})


@dataclass(frozen=True)
class Phrasebook:
    """How to say each feature, from the feature sets.

    `sayings` holds everything a spec says about phrasing; the other fields are what scorers
    pickled before it existed carry, and are read only when a feature has no saying.
    """

    templates: Mapping[str, str]
    descriptions: Mapping[str, str]
    flag_phrases: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # (true, false)
    pow10: frozenset[str] = frozenset()  # columns holding log10 of what a person reads
    sayings: Mapping[str, Saying] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A phrasebook pickled before `sayings` existed loads with none (its old phrasing).
        object.__setattr__(self, "__dict__", {"sayings": {}, **state})

    @classmethod
    def from_feature_sets(cls, feature_sets: Sequence[Any] | None) -> Phrasebook:
        """Read `features.feature_sets.FeatureSet` objects or their dicts (duck-typed)."""
        templates: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        flags: dict[str, tuple[str, str]] = {}
        pow10: set[str] = set()
        sayings: dict[str, Saying] = {}
        for fs in feature_sets or ():
            features = (
                fs.get("features", []) if isinstance(fs, Mapping) else getattr(fs, "features", [])
            )
            if isinstance(features, Mapping):
                features = list(features.values())
            for spec in features:
                get = (
                    spec.get if isinstance(spec, Mapping) else lambda k, s=spec: getattr(s, k, None)
                )
                name = get("name")
                if not name:
                    continue
                name = str(name)
                if get("description"):
                    descriptions[name] = str(get("description"))
                if get("phrase"):
                    templates[name] = str(get("phrase"))
                if get("phrase_true") and get("phrase_false"):
                    flags[name] = (str(get("phrase_true")), str(get("phrase_false")))
                if get("display") == "pow10":
                    pow10.add(name)
                sayings[name] = _saying(get)
        return cls(templates, descriptions, flags, frozenset(pow10), sayings)

    def describe(self, feature: str) -> str:
        return self.descriptions.get(feature, feature.replace("_", " "))

    def say_number(self, feature: str, value: float) -> str:
        """A numeric feature's reason text for one value."""
        saying = self.sayings.get(feature)
        if saying is not None:
            return saying.say_number(value, self.describe(feature))
        if feature in self.flag_phrases and not math.isnan(value):
            return self.flag_phrases[feature][0 if value > 0.5 else 1]
        if feature in self.pow10 and not math.isnan(value):
            value = float(round(10.0**value))
        return phrase(self.templates.get(feature), self.describe(feature), value, is_category=False)

    def say_category(self, feature: str, value: Any) -> str:
        saying = self.sayings.get(feature)
        if saying is not None:
            return saying.say_category(value, self.describe(feature))
        return phrase(self.templates.get(feature), self.describe(feature), value, is_category=True)

    def absent_codes(
        self, feature_names: Sequence[str], categories: Mapping[int, Sequence[Any]]
    ) -> npt.NDArray[np.float64]:
        """Per column, the encoded value that means "not on file" besides NaN: the code of
        the "unknown" category, or a flag's `missing_when` (NaN where there is none)."""
        codes = np.full(len(feature_names), np.nan)
        for j, name in enumerate(feature_names):
            if j in categories:
                labels = categories[j]
                if UNKNOWN in labels:
                    codes[j] = float(list(labels).index(UNKNOWN))
                continue
            saying = self.sayings.get(name)
            if saying is not None and saying.missing_when is not None:
                codes[j] = saying.missing_when
        return codes


# Up to this many rows, each kept reason is phrased directly: the per-distinct-value grouping
# below pays numpy set-up per feature that a few rows never repay (bench_paths.py).
_FEW_ROWS = 32


def _say(
    j: int,
    value: float,
    feature_names: Sequence[str],
    categories: Mapping[int, Sequence[Any]],
    phrasebook: Phrasebook,
) -> str:
    name = feature_names[j]
    if j in categories:
        labels = categories[j]
        decoded = (
            None
            if math.isnan(value) or int(value) < 0 or int(value) >= len(labels)
            else labels[int(value)]
        )
        return phrasebook.say_category(name, decoded)
    return phrasebook.say_number(name, value)


def _few_reasons(
    chosen: npt.NDArray[np.intp],
    weights: npt.NDArray[np.float64],
    keep: npt.NDArray[np.bool_],
    values: npt.NDArray[np.float64],
    feature_names: Sequence[str],
    categories: Mapping[int, Sequence[Any]],
    phrasebook: Phrasebook,
    k: int,
) -> list[list[Reason]]:
    out: list[list[Reason]] = []
    rounded = np.round(weights, 3).tolist()
    for i, (row, row_keep, row_values) in enumerate(
        zip(chosen.tolist(), keep.tolist(), values.tolist(), strict=True)
    ):
        out.append(
            [
                {
                    "feature": feature_names[j],
                    "text": _say(j, v, feature_names, categories, phrasebook),
                    "direction": "up" if slot < k else "down",
                    "weight": rounded[i][slot],
                }
                for slot, (j, v, ok) in enumerate(zip(row, row_values, row_keep, strict=True))
                if ok
            ]
        )
    return out


def unrewarded_absences(
    contributions: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    absent_codes: npt.NDArray[np.float64],
    min_weight: float,
) -> npt.NDArray[np.bool_]:
    """(n, n_features): True where a value is missing and must not be said as a plus.

    Why the sum: missing details travel together (a lead without a title usually has no
    seniority or function either), and path contributions can credit one of them with a
    push up that only offsets the others' push down. "No job title" is a plus only when the
    model, over everything this lead leaves blank, really scores it higher for that.
    """
    absent = np.isnan(values) | (values == absent_codes[None, :])
    pushes = np.ascontiguousarray(np.where(absent, contributions, 0.0))
    rewarded = pushes.sum(axis=1) >= min_weight  # row-major: the same sum at any batch size
    return absent & ~rewarded[:, None]


def top_reasons(
    contributions: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    feature_names: Sequence[str],
    categories: Mapping[int, Sequence[Any]],
    phrasebook: Phrasebook,
    *,
    top_k: int = 3,
    min_weight: float = 0.01,
) -> list[list[Reason]]:
    """Per row: up to `top_k` factors pushing the score up, then up to `top_k` pushing it down.

    `values` is the encoded matrix the booster saw (category codes for the columns in
    `categories`, which maps column position -> category labels). Text is built once per
    distinct (feature, value) pair, so the per-row work is only assembling small dicts.

    A detail the lead has not given (NaN, the "unknown" category, a flag at its
    `missing_when`) is offered as a plus only when the model rewards what is missing taken
    together (`unrewarded_absences`); otherwise the next factor takes its place.
    """
    n, n_features = contributions.shape
    if n == 0:
        return []
    k = max(0, min(top_k, n_features))
    if k == 0:
        return [[] for _ in range(n)]
    unrewarded = unrewarded_absences(
        contributions, values, phrasebook.absent_codes(feature_names, categories), min_weight
    )
    ranking = np.where(unrewarded, -np.inf, contributions)
    order_up = np.argsort(-ranking, axis=1, kind="stable")[:, :k]
    order_down = np.argsort(contributions, axis=1, kind="stable")[:, :k]
    chosen = np.concatenate([order_up, order_down], axis=1)  # (n, 2k)
    weights = np.take_along_axis(contributions, chosen, axis=1)
    keep = np.concatenate(
        [
            (weights[:, :k] >= min_weight) & ~np.take_along_axis(unrewarded, order_up, axis=1),
            weights[:, k:] <= -min_weight,
        ],
        axis=1,
    )
    chosen_values = np.take_along_axis(values, chosen, axis=1)

    if n <= _FEW_ROWS:
        return _few_reasons(
            chosen, weights, keep, chosen_values, feature_names, categories, phrasebook, k
        )

    texts = np.empty(chosen.shape, dtype=object)
    for j in np.unique(chosen[keep]):
        mask = keep & (chosen == j)
        vals = chosen_values[mask]
        uniq, inverse = np.unique(vals, return_inverse=True)  # NaNs collapse to one entry
        said = [_say(int(j), float(u), feature_names, categories, phrasebook) for u in uniq]
        texts[mask] = np.asarray(said, dtype=object)[inverse.ravel()]

    # Plain lists first: indexing numpy rows per lead costs more than the dicts themselves.
    names = np.asarray(feature_names, dtype=object)[chosen].tolist()
    rounded = np.round(weights, 3).tolist()
    directions = ["up"] * k + ["down"] * k
    out: list[list[Reason]] = [
        [
            {"feature": f, "text": t, "direction": d, "weight": w}
            for f, t, d, w, ok in zip(
                row_names, row_texts, directions, row_weights, row_keep, strict=True
            )
            if ok
        ]
        for row_names, row_texts, row_weights, row_keep in zip(
            names, texts.tolist(), rounded, keep.tolist(), strict=True
        )
    ]
    return out


def _interleaved(lists: Sequence[Sequence[str]]) -> list[str]:
    """First of each, then second of each, ...: the strongest reasons of every part first."""
    out: list[str] = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def _fitted(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reason_line(*parts: Sequence[Reason], limit: int = REASON_TEXT_MAX) -> str:
    """One plain-text line a CRM text property can hold: the pluses, strongest first, then
    "Against:" the minuses, cut after the last whole reason that fits in `limit` characters.

    Several parts (fit and interest, for the combined score) are interleaved, so the line
    opens with the strongest reason of each.
    """
    ups = _interleaved([[str(r["text"]) for r in p if r["direction"] == "up"] for p in parts])
    downs = _interleaved([[str(r["text"]) for r in p if r["direction"] != "up"] for p in parts])
    line = ""
    for text in ups:
        longer = f"{line}; {text}" if line else text
        if len(longer) > limit:
            line = line or _fitted(longer, limit)
            break
        line = longer
    for i, text in enumerate(downs):
        longer = line + ("; " if i else (". Against: " if line else "Against: ")) + text
        if len(longer) > limit:
            line = line or _fitted(longer, limit)
            break
        line = longer
    return line
