"""What a training run produced (`TrainResult`) and the table `handoff train` prints:
one row per model and baseline on the test window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from training.evaluate import METRIC_NAMES, MODEL_NAMES
from training.feedback_eval import ranking_lines, rejection_lines
from training.leakage import LeakageReport
from training.sample_size import choice_sentence
from training.verdict import Verdict


@dataclass
class TrainResult:
    """What one training run produced: the registered version and its numbers."""

    version: str
    run_id: str
    model_name: str
    metrics: dict[str, float]
    summary: dict[str, Any]
    verdict: Verdict | None = None
    phases: list[dict[str, float | str]] = field(default_factory=list)

    def summary_text(self) -> str:
        return summary_table(self)


def summary_table(result: TrainResult) -> str:
    """Plain text, readable in a terminal and pasteable into an issue."""
    m = result.metrics
    s = result.summary
    lines = [
        *(result.verdict.lines() if result.verdict is not None else []),
        *_small_data_lines(s.get("small_data")),
        *LeakageReport.from_dict(s["leakage"]).lines(),
        *_unseen_lines(s.get("unseen_categories") or {}),
        *ranking_lines(m),
        *rejection_lines(s.get("rejection_effect")),
        "",
        f"registered {result.model_name} version {result.version} (run {result.run_id}) "
        "as a candidate awaiting marketing and BDR sign-off",
        f"leads {s['n_leads']:,}  events {s['n_events']:,}  labelled {s['n_labelled']:,}  "
        f"censored {s['n_censored']:,} ({s['n_censored_open']:,} still open; "
        f"{s['censoring'].split(':')[0]})",
        f"test window {s['windows']['test']['start']} .. {s['windows']['test']['end']}  "
        f"win rate train {s['win_rate']['train']:.3f} test {s['win_rate']['test']:.3f}",
        *_quarantine_lines(s.get("quarantined") or {}),
        *_engine_lines(s.get("engine") or {}),
        *_choice_lines(s.get("model_choice") or {}, int(s.get("n_train_wins", 0))),
        "",
        f"{'model':<22}" + "".join(f"{c:>15}" for c in METRIC_NAMES),
    ]
    for model in MODEL_NAMES:
        if f"test_{model}_roc_auc" not in m:
            continue
        cells = "".join(
            f"{m[f'test_{model}_{c}']:>15.4f}" if f"test_{model}_{c}" in m else f"{'-':>15}"
            for c in METRIC_NAMES
        )
        lines.append(f"{model:<22}{cells}")
    if result.phases:
        lines.append("")
        lines.append("phase            seconds   peak RSS MB")
        for record in result.phases:
            lines.append(
                f"{record['phase']!s:<14}{float(record['seconds']):>10.1f}"
                f"{float(record['peak_rss_mb']):>14.0f}"
            )
    return "\n".join(lines)


def _quarantine_lines(quarantined: dict[str, dict[str, Any]]) -> list[str]:
    """Say that rows failing the contracts were left out of training, and where they are."""
    if not quarantined:
        return []
    return [
        "trained on the rows that passed the contracts; left out and quarantined: "
        + ", ".join(f"{table} {q['rows']:,} -> {q['file']}" for table, q in quarantined.items())
    ]


def _engine_lines(engine: dict[str, Any]) -> list[str]:
    """Say where the feature table was built and what was trained on, when not here, and
    whether the lead models read account features."""
    lines = (
        [f"account features: {engine['account_features']}"]
        if engine.get("account_features")
        else []
    )
    if engine.get("name") != "spark":
        return lines
    return [
        f"feature table built on Spark ({engine.get('master')}, {engine.get('buckets')} "
        f"buckets); trained on {engine.get('trained_on')}",
        *lines,
    ]


def _small_data_lines(problem: str | None) -> list[str]:
    """Say plainly, right under the verdict, that its numbers cannot be trusted."""
    if not problem:
        return []
    return [
        f"DATA TOO SMALL TO TRUST: {problem}. The candidate stands, but each team's "
        "approval must acknowledge this (handoff signoff ... --acknowledge-small-data)."
    ]


def _choice_lines(choice: dict[str, dict[str, Any]], train_wins: int) -> list[str]:
    """Which learner family serves each score, chosen on the validation window."""
    if not choice:
        return []
    combined = choice["combined"]
    served = ", ".join(f"{score} {c['chosen']}" for score, c in choice.items())
    return [
        f"learners (chosen on the validation window): {served}",
        choice_sentence(combined["chosen"], combined.get("runner_up"), train_wins),
    ]


def _unseen_lines(unseen: dict[str, Any]) -> list[str]:
    """How many test leads hold a category the training window never held, and how they won."""
    if not unseen.get("unseen"):
        return ["unseen categories: none in the test window"]
    columns = ", ".join(f"{c} {n:,}" for c, n in list(unseen["columns"].items())[:4])
    return [
        f"unseen categories: {unseen['unseen']:,} of {unseen['leads']:,} test leads "
        f"({unseen['share']:.1%}) hold a value the training window never held ({columns}); "
        f"they won at {unseen['win_rate_unseen']:.1%}, the rest at "
        + ("-" if unseen["win_rate_seen"] is None else f"{unseen['win_rate_seen']:.1%}")
    ]
