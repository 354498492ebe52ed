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

Reason = dict[str, Any]

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
        text = text.replace("_", " ")
        number: float | None = None
    else:
        number = float(value) if value is not None else float("nan")
        text = _display_number(number)
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
class Phrasebook:
    """How to say each feature, from the feature sets: templates, descriptions, flag phrases."""

    templates: Mapping[str, str]
    descriptions: Mapping[str, str]
    flag_phrases: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # (true, false)
    pow10: frozenset[str] = frozenset()  # columns holding log10 of what a person reads

    @classmethod
    def from_feature_sets(cls, feature_sets: Sequence[Any] | None) -> Phrasebook:
        """Read `features.feature_sets.FeatureSet` objects or their dicts (duck-typed)."""
        templates: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        flags: dict[str, tuple[str, str]] = {}
        pow10: set[str] = set()
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
        return cls(templates, descriptions, flags, frozenset(pow10))

    def describe(self, feature: str) -> str:
        return self.descriptions.get(feature, feature.replace("_", " "))

    def say_number(self, feature: str, value: float) -> str:
        """A numeric feature's reason text for one value."""
        if feature in self.flag_phrases and not math.isnan(value):
            return self.flag_phrases[feature][0 if value > 0.5 else 1]
        if feature in self.pow10 and not math.isnan(value):
            value = float(round(10.0**value))
        return phrase(self.templates.get(feature), self.describe(feature), value, is_category=False)

    def say_category(self, feature: str, value: Any) -> str:
        return phrase(self.templates.get(feature), self.describe(feature), value, is_category=True)


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
    """
    n, n_features = contributions.shape
    if n == 0:
        return []
    k = max(0, min(top_k, n_features))
    if k == 0:
        return [[] for _ in range(n)]
    order_up = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
    order_down = np.argsort(contributions, axis=1, kind="stable")[:, :k]
    chosen = np.concatenate([order_up, order_down], axis=1)  # (n, 2k)
    weights = np.take_along_axis(contributions, chosen, axis=1)
    keep = np.concatenate([weights[:, :k] >= min_weight, weights[:, k:] <= -min_weight], axis=1)
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
