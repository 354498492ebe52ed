"""`handoff report`: one self-contained HTML page that marketing and BDR leaders sign off on.

Every number is read from the version's MLflow run (metrics and artifacts) or computed
from its test-window scores, never re-trained or typed in. The page has no network
references: CSS is inline and the plots are base64 PNGs. It is written to `out` and logged
to the run as `report.html`.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from features.feature_sets import FeatureSet
from models import mlflow_layout as layout
from models.learners import BASELINE_TWINS, FAMILY_LABELS
from models.mlflow_layout import CHAMPION, POLICY_FILE, TEAMS, run_id_of
from models.policy import QUADRANT_SIDES, QUADRANTS, QuadrantPolicy
from models.pyfunc import as_feature_sets
from models.settings import Settings
from models.wording import duration
from training.audit import read_events
from training.champion_compare import ChampionComparison, run_verdict
from training.decision import build_decision, champion_policy_of
from training.evaluate import calibration_bins
from training.leakage import RULES, LeakageReport
from training.promote import check_gates, configured_gates
from training.report_metrics import (
    gain_curve,
    psi_table,
    weekly_rate,
)
from training.sample_size import run_choice_sentence
from training.versions import (
    alias_version,
    get_version,
    registry_client,
    version_info,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TEMPLATES = Path(__file__).resolve().parent / "templates"
MODEL_LABELS = {
    "combined": "Handoff combined (fit × interest)",
    "fit": "Handoff fit only",
    "interest": "Handoff interest only",
    "baseline_logreg": "Baseline: logistic regression",
    "baseline_naive_bayes": "Baseline: naive Bayes (Odoo-style)",
    "baseline_points": "Baseline: points score (Pardot-style)",
    "oracle": "Oracle (true probabilities; synthetic data only)",
}
METRIC_COLUMNS = ("roc_auc", "pr_auc", "lift_top10", "capture_top10", "brier", "ece")
EXAMPLES_PER_QUADRANT = 3
SCATTER_POINTS = 3_000
DRIFT_ROWS = 12


@dataclass
class RunArtifacts:
    """The parts of one run the report reads."""

    summary: dict[str, Any]
    evaluation: dict[str, Any]
    scores: pd.DataFrame
    policy: dict[str, Any]
    importance: dict[str, dict[str, float]]
    examples: list[dict[str, Any]]
    feature_sets: list[FeatureSet]
    train_profile: pd.DataFrame
    test_features: pd.DataFrame
    metrics: dict[str, float]


def _artifact(run_id: str, path: str, dest: Path) -> Path:
    from mlflow.artifacts import download_artifacts

    return Path(download_artifacts(run_id=run_id, artifact_path=path, dst_path=str(dest)))


def load_run_artifacts(client: Any, run_id: str, workdir: Path) -> RunArtifacts:
    """Download what the report needs from a run into `workdir` and parse it."""

    def js(path: str) -> Any:
        return json.loads(_artifact(run_id, path, workdir).read_text(encoding="utf-8"))

    def pq(path: str) -> pd.DataFrame:
        frame = pd.read_parquet(_artifact(run_id, path, workdir))
        if "lead_id" in frame.columns:
            frame = frame.set_index("lead_id")
        frame.index = frame.index.astype(str)
        return frame

    return RunArtifacts(
        summary=js(layout.SUMMARY_FILE),
        evaluation=js(layout.METRICS_FILE),
        scores=pq(layout.TEST_SCORES_FILE),
        policy=js(POLICY_FILE),
        importance=js(layout.IMPORTANCE_FILE),
        examples=js(layout.EXAMPLES_FILE),
        feature_sets=as_feature_sets(js(layout.FEATURE_SETS_FILE)),
        train_profile=pq(layout.TRAIN_PROFILE_FILE),
        test_features=pq(layout.TEST_FEATURES_FILE),
        metrics=dict(client.get_run(run_id).data.metrics),
    )


# ---------------------------------------------------------------- plots


def _figure(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    return fig, fig.subplots()


def _png(fig: Figure) -> str:
    """The figure as a data: URI, so the page needs nothing but itself."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def gain_figure(y: np.ndarray, curves: dict[str, np.ndarray]) -> Figure:
    fig, ax = _figure()
    for name, p in curves.items():
        x, g = gain_curve(y, p)
        ax.plot(100 * x, 100 * g, label=name, lw=2.2 if name.startswith("Handoff") else 1.3)
    ax.plot([0, 100], [0, 100], ls="--", color="grey", label="Random order")
    ax.axvline(10, color="lightgrey", lw=1)
    ax.set_xlabel("% of leads worked, best score first")
    ax.set_ylabel("% of all wins reached")
    ax.set_title("Gain: how many wins the top of the list holds")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def calibration_figure(y: np.ndarray, curves: dict[str, np.ndarray]) -> Figure:
    fig, ax = _figure()
    top = 0.0
    for name, p in curves.items():
        bins = calibration_bins(y, p)
        ax.plot(100 * bins["predicted"], 100 * bins["observed"], marker="o", label=name)
        top = max(top, float(bins["predicted"].max()), float(bins["observed"].max()))
    ax.plot([0, 100 * top], [0, 100 * top], ls="--", color="grey", label="Perfect calibration")
    ax.set_xlabel("predicted win probability (%), 10 equal-size groups")
    ax.set_ylabel("actual win rate (%)")
    ax.set_title("Calibration: does a 20% lead win 20% of the time?")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def quadrant_figure(scores: pd.DataFrame, policy: dict[str, Any]) -> Figure:
    sample = scores.sample(n=min(SCATTER_POINTS, len(scores)), random_state=0)
    jitter = np.random.default_rng(0).uniform(-0.4, 0.4, size=(len(sample), 2))
    won = sample["label"].to_numpy() == 1
    fig, ax = _figure(6.4, 5.0)
    fx = sample["fit_score"].to_numpy(dtype=float) + jitter[:, 0]
    iy = sample["interest_score"].to_numpy(dtype=float) + jitter[:, 1]
    ax.scatter(fx[~won], iy[~won], s=6, alpha=0.35, color="#9aa5b1", label="not won")
    ax.scatter(fx[won], iy[won], s=10, alpha=0.8, color="#d9480f", label="won")
    ax.axvline(policy["fit_threshold"], color="black", lw=1.2)
    ax.axhline(policy["interest_threshold"], color="black", lw=1.2)
    for q, (high_fit, high_interest) in QUADRANT_SIDES.items():
        ax.text(
            0.98 if high_fit else 0.02,
            0.98 if high_interest else 0.02,
            q.replace("_", " "),
            transform=ax.transAxes,
            ha="right" if high_fit else "left",
            va="top" if high_interest else "bottom",
            fontsize=9,
            weight="bold",
        )
    ax.set_xlabel(f"fit score (threshold {policy['fit_threshold']})")
    ax.set_ylabel(f"interest score (threshold {policy['interest_threshold']})")
    ax.set_title("Test-window leads by fit and interest")
    ax.legend(fontsize=8, loc="center right")
    return fig


def distribution_figure(scores: pd.DataFrame) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.6, 3.2), dpi=96, layout="constrained")
    axes = fig.subplots(1, 3)
    won = scores["label"].to_numpy() == 1
    bins = np.linspace(0, 100, 26)
    for ax, part in zip(axes, ("fit", "interest", "combined"), strict=True):
        values = scores[f"{part}_score"].to_numpy(dtype=float)
        ax.hist(values[~won], bins=bins, alpha=0.6, density=True, color="#9aa5b1", label="not won")
        ax.hist(values[won], bins=bins, alpha=0.6, density=True, color="#d9480f", label="won")
        ax.set_title(f"{part} score")
        ax.set_xlabel(f"{part} score (0–100)")
        ax.set_yticks([])
    axes[0].set_ylabel("share of leads (each group sums to 1)")
    axes[0].legend(fontsize=8)
    return fig


def importance_figure(importance: dict[str, dict[str, float]], names: dict[str, str]) -> Figure:
    from matplotlib.figure import Figure

    parts = [p for p in ("fit", "interest") if importance.get(p)]
    fig = Figure(figsize=(9.6, 3.6), dpi=96, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(parts), 1)))
    for ax, part in zip(axes, parts, strict=False):
        gains = pd.Series(importance[part], dtype=float)
        share = (gains / gains.sum()).sort_values(ascending=True).tail(8) if gains.sum() else gains
        ax.barh([names.get(f, f) for f in share.index], 100 * share.to_numpy(), color="#1c7ed6")
        ax.set_title(f"What drives the {part} score")
        ax.set_xlabel("share of the model's total gain (%)")
        ax.set_ylabel("factor")
        ax.tick_params(axis="y", labelsize=7)
    return fig


# ---------------------------------------------------------------- tables


def _short(description: str, limit: int = 36) -> str:
    """A description's first clause, cut at a word boundary, for axis labels and tables."""
    head = description
    for stop in (" (", ",", ";", ":"):
        head = head.split(stop)[0]
    if len(head) <= limit:
        return head
    return head[:limit].rsplit(" ", 1)[0] + "…"


def _feature_names(feature_sets: list[FeatureSet]) -> dict[str, str]:
    return {f.name: _short(f.description or f.name) for fs in feature_sets for f in fs.features}


def _model_rows(
    art: RunArtifacts, champion: ChampionComparison | None, served_family: str | None
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    test = art.evaluation.get("test", {})
    twin = BASELINE_TWINS.get(served_family or "")
    for model, label in MODEL_LABELS.items():
        if model not in test:
            continue
        rows.append(
            {
                "model": model,
                "label": label,
                "note": (
                    "the served combined model is of this family: the promotion gate compares "
                    "it with the other baselines"
                    if model == twin
                    else ""
                ),
                "cells": [
                    {"key": f"test_{model}_{m}", "value": test[model].get(m)}
                    for m in METRIC_COLUMNS
                ],
            }
        )
    if champion is not None:
        rows.append(
            {
                "model": "champion",
                "label": f"Current champion (version {champion.champion_version})",
                "note": champion.note,
                "cells": [
                    {"key": f"champion_{m}", "value": champion.metrics.get(m)}
                    for m in METRIC_COLUMNS
                ],
            }
        )
    return rows


def _quadrant_rows(art: RunArtifacts) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    scores = art.scores
    by_q = {r["quadrant"]: r for r in art.evaluation.get("quadrants", [])}
    window = art.summary["windows"]["test"]
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    actions = QuadrantPolicy.model_validate(art.policy).actions
    rows = []
    for q in QUADRANTS:
        action = actions[q]
        in_q = scores["quadrant"] == q
        logged = by_q.get(q, {})
        rows.append(
            {
                "quadrant": q,
                "action": action.action,
                "description": action.description,
                "tier": action.tier,
                "speed_to_lead_minutes": action.speed_to_lead_minutes,
                "leads": int(logged.get("leads", in_q.sum())),
                "share": float(logged.get("share", in_q.mean() if len(scores) else 0.0)),
                "wins": int(logged.get("wins", scores.loc[in_q, "label"].sum())),
                "win_rate": float(logged.get("win_rate", scores.loc[in_q, "label"].mean())),
                "expected_wins": float(scores.loc[in_q, "combined_probability"].sum()),
                "per_week": weekly_rate(int(in_q.sum()), start, end),
            }
        )
    load = {
        "sales_now_per_week": rows[0]["per_week"],
        "all_per_week": weekly_rate(len(scores), start, end),
        "weeks": max((end - start).total_seconds() / 86_400, 1.0) / 7.0,
    }
    return rows, load


def _speed_text(minutes: int | None) -> str:
    return "-" if minutes is None else duration(minutes)


def _reason_list(reasons: Any) -> list[str]:
    if not isinstance(reasons, list):
        return []
    return [
        ("▲ " if r.get("direction") == "up" else "▼ ") + str(r.get("text", r.get("feature", "")))
        for r in reasons
        if isinstance(r, dict)
    ]


def _examples(art: RunArtifacts) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {q: [] for q in QUADRANTS}
    for record in art.examples:
        q = record.get("quadrant")
        if q in out and len(out[q]) < EXAMPLES_PER_QUADRANT:
            out[q].append(
                {
                    "lead_id": record.get("lead_id", ""),
                    "fit_score": record.get("fit_score"),
                    "interest_score": record.get("interest_score"),
                    "combined_score": record.get("combined_score"),
                    "fit_reasons": _reason_list(record.get("fit_reasons")),
                    "interest_reasons": _reason_list(record.get("interest_reasons")),
                }
            )
    return out


def _drift(
    art: RunArtifacts,
    champion_profile: pd.DataFrame | None,
    champion_version: str | None,
    names: dict[str, str],
) -> dict[str, Any]:
    if champion_profile is not None:
        reference, current = champion_profile, art.train_profile
        compared = (
            f"this version's training leads against champion version {champion_version}'s "
            "training leads"
        )
        why = ""
    else:
        reference, current = art.train_profile, art.test_features
        compared = "this version's most recent (test-window) leads against its training leads"
        why = (
            "There is no other champion to compare with, so the leads the model will meet "
            "next are compared with the leads it learned from."
        )
    table = psi_table(reference, current)
    rows = [
        {
            "feature": str(r["feature"]),
            "label": names.get(str(r["feature"]), str(r["feature"])),
            "psi": float(r["psi"]),
            "shift": str(r["shift"]),
        }
        for r in table.head(DRIFT_ROWS).to_dict(orient="records")
    ]
    worst = [r for r in rows if r["shift"] in ("major", "moderate")]
    return {
        "compared": compared,
        "why": why,
        "rows": rows,
        "worst": worst[:3],
        "n_features": len(table),
    }


# ---------------------------------------------------------------- the page


def _choice(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Which learner family serves each score and the sentence saying so (runs trained
    before learners were chosen have no record of it: None)."""
    record = summary.get("model_choice")
    if not record:
        return None
    combined = record["combined"]
    return {
        "sentence": run_choice_sentence(summary),
        "rule": combined.get("rule", ""),
        "scores": [
            {
                "score": score,
                "chosen": FAMILY_LABELS.get(c["chosen"], c["chosen"]),
                "family": c["chosen"],
                "runner_up": FAMILY_LABELS.get(c.get("runner_up") or "", "-"),
                "val_auc": c.get("val_auc", {}),
            }
            for score, c in record.items()
        ],
        "families": list(FAMILY_LABELS),
    }


def _champion_profile(client: Any, settings: Settings, champion: str, workdir: Path) -> Any:
    """The champion's training profile, for the drift section (None for an older champion)."""
    try:
        champ_mv = get_version(client, settings, champion)
        profile = pd.read_parquet(
            _artifact(run_id_of(champ_mv), layout.TRAIN_PROFILE_FILE, workdir / "champ")
        )
    except Exception:  # an older champion without a profile: no drift section against it
        return None
    return profile.set_index("lead_id") if "lead_id" in profile.columns else profile


def _leakage(summary: dict[str, Any]) -> LeakageReport | None:
    recorded = summary.get("leakage")
    return LeakageReport.from_dict(recorded) if recorded else None


def _optional_json(run_id: str, path: str, dest: Path) -> Any:
    """A JSON artifact a run may lack (written by newer code than trained it): None then."""
    try:
        return json.loads(_artifact(run_id, path, dest).read_text(encoding="utf-8"))
    except Exception:  # MLflow raises its own error for a missing artifact
        return None


def build_context(version: str, settings: Settings, workdir: Path) -> dict[str, Any]:
    """Everything the template shows, read from the version's run and the registry."""
    client = registry_client(settings)
    mv = get_version(client, settings, version)
    version = str(mv.version)
    run_id = run_id_of(mv)
    info = version_info(settings, version)
    art = load_run_artifacts(client, run_id, workdir / "run")
    serving = alias_version(client, settings, CHAMPION)
    is_champion = serving == version
    check = check_gates(
        client, settings, mv, None if is_champion else serving, configured_gates(settings)
    )
    champion = check.comparison
    champion_profile = (
        None
        if champion is None
        else _champion_profile(client, settings, champion.champion_version, workdir)
    )
    verdict = check.verdict if check.verdict is not None else run_verdict(run_id)
    choice = _choice(art.summary)
    decision = build_decision(
        check,
        tags=dict(mv.tags),
        scores=art.scores,
        policy=QuadrantPolicy.model_validate(art.policy),
        test_window=art.summary["windows"]["test"],
        champion_policy=champion_policy_of(client, settings, check),
        is_champion=is_champion,
        family="" if choice is None else choice["sentence"],
    )
    names = _feature_names(art.feature_sets)

    scores = art.scores
    y = scores["label"].to_numpy(dtype=int)
    curves = {MODEL_LABELS["combined"]: scores["combined_probability"].to_numpy(dtype=float)}
    for column in scores.columns:
        if column.startswith("baseline_"):
            curves[MODEL_LABELS.get(column, column)] = scores[column].to_numpy(dtype=float)
    calib = {MODEL_LABELS["combined"]: curves[MODEL_LABELS["combined"]]}
    if champion is not None and champion.probabilities is not None:
        aligned = champion.probabilities.reindex(scores.index).to_numpy(dtype=float)
        if np.isfinite(aligned).all():
            label = f"Champion version {champion.champion_version}"
            curves[label] = aligned
            calib[label] = aligned

    quadrants, load = _quadrant_rows(art)
    signoffs = [
        {
            "team": team,
            "signoff": info.signoffs.get(team),
            "bound": info.signoffs[team].bound_to(info.binding) if team in info.signoffs else None,
        }
        for team in TEAMS
    ]
    history = [e for e in read_events(settings, version=version)]
    s = art.summary
    return {
        "model_name": settings.model_name,
        "version": version,
        "run_id": run_id,
        "info": info,
        "is_champion": is_champion,
        "generated_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
        "summary": s,
        "metrics": art.metrics,
        "verdict": verdict,
        "leakage": _leakage(s),
        "unseen": s.get("unseen_categories"),
        "feedback": _optional_json(run_id, layout.FEEDBACK_FILE, workdir / "feedback"),
        # An account version's accounts section (`training.account_report`); None for leads.
        "accounts": _optional_json(run_id, layout.ACCOUNTS_FILE, workdir / "accounts"),
        # Written by `handoff monitor` while this version was the challenger (serving side).
        "live": _optional_json(run_id, layout.live_comparison_file(version), workdir / "live"),
        "kept_warning": info.leakage_kept,
        "rules": RULES,
        "windows": [
            {"fold": fold, **s["windows"][fold], "win_rate": s.get("win_rate", {}).get(fold)}
            for fold in ("train", "val", "test")
            if fold in s.get("windows", {})
        ],
        "contract_checks": s.get("contract_checks", {}),
        "excluded_columns": s.get("excluded_columns", {}),
        "feature_sets": [
            {"label": fs.label, "role": fs.role, "n": len(fs.features)} for fs in art.feature_sets
        ],
        "policy": art.policy,
        "quadrants": quadrants,
        "load": load,
        "model_rows": _model_rows(
            art, champion, (s.get("model_choice") or {}).get("combined", {}).get("chosen")
        ),
        "choice": choice,
        "small_data": s.get("small_data"),
        "metric_columns": METRIC_COLUMNS,
        "champion": champion,
        "examples": _examples(art),
        "drift": _drift(
            art, champion_profile, champion.champion_version if champion else None, names
        ),
        "signoffs": signoffs,
        "history": history,
        "gates": configured_gates(settings),
        "decision": decision,
        "plots": {
            "gain": _png(gain_figure(y, curves)),
            "calibration": _png(calibration_figure(y, calib)),
            "quadrants": _png(quadrant_figure(scores, art.policy)),
            "distributions": _png(distribution_figure(scores)),
            "importance": _png(importance_figure(art.importance, names)),
        },
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, spec=".4f": "-" if v is None or v != v else format(v, spec)
    env.filters["pct"] = lambda v, d=1: "-" if v is None or v != v else f"{100 * v:.{d}f}%"
    env.filters["speed"] = _speed_text
    env.filters["ts"] = lambda v: str(v)[:19].replace("T", " ") if v else "-"
    return env


def render_report(context: dict[str, Any]) -> str:
    """The HTML page for a built context."""
    return _environment().get_template("report.html.j2").render(**context)


def write_report(version: str, *, out: Path | None = None, settings: Settings) -> Path:
    """Write the version's review report to `out` (default under settings.home/reports)."""
    with tempfile.TemporaryDirectory(prefix="handoff-report-") as tmp:
        work = Path(tmp)
        context = build_context(str(version), settings, work)
        html = render_report(context)
        staged = work / layout.REPORT_FILE
        staged.write_text(html, encoding="utf-8")
        client = registry_client(settings)
        client.log_artifact(context["run_id"], str(staged))
        target = (
            Path(out)
            if out is not None
            else (
                Path(settings.home)
                / "reports"
                / f"{settings.model_name}-v{context['version']}.html"
            )
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, target)
    return target
