"""`handoff monitor`: read the serving database and the versions' runs, summarise, store.

Runs as its own process (by hand or from cron), never in a serving worker: the summary it
stores is what `GET /v1/monitor/summary` answers with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.crm_data import read_folder
from models.drift import PSI_MAJOR
from serving.feature_counts import FEATURE_COUNTS
from serving.feedback import FEEDBACK
from serving.monitor.publish import publish_live_comparisons
from serving.monitor.sources import served_and_outcomes, summed_counts, version_profiles
from serving.monitor.store import MONITOR_SUMMARIES, save_summary
from serving.monitor.summary import summarise
from serving.score_log import SCORE_LOG, rename_win_columns
from serving.settings import ServingSettings
from serving.shadow import SHADOW_LOG
from serving.store import Store


def run_monitor(
    settings: ServingSettings,
    *,
    since: pd.Timestamp | None = None,
    crm_dir: Path | None = None,
    horizon_days: int = 180,
    drift_threshold: float = PSI_MAJOR,
    now: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The summary of everything served (since `since`), stored as the latest one.

    `crm_dir` adds a CRM folder's outcomes to the feedback (stages the CRM recorded that
    never came through `POST /v1/feedback`).
    """
    url = settings.resolved_database_url
    # Every table the monitor reads exists, even on a database no server has opened yet.
    tables = [SCORE_LOG, SHADOW_LOG, FEEDBACK, MONITOR_SUMMARIES, FEATURE_COUNTS]
    store = Store(url, tables, migrations=[rename_win_columns])
    store.start()  # before reading: a wrong database fails here, clearly
    try:
        served, outcomes, shadow = served_and_outcomes(url)
        if crm_dir is not None:
            crm = read_folder(crm_dir).outcomes
            if len(crm):
                crm = crm.assign(
                    occurred_at=pd.to_datetime(crm["occurred_at"], utc=True, format="ISO8601")
                )
                outcomes = pd.concat([crm, outcomes], ignore_index=True)
        versions = sorted({str(v) for v in served["model_version"]})
        summary = summarise(
            served,
            outcomes,
            version_profiles(settings, versions),
            now=now or pd.Timestamp.now(tz="UTC"),
            horizon_days=horizon_days,
            since=since,
            drift_threshold=drift_threshold,
            shadow=shadow,
            feature_counts=summed_counts(url),
        )
        summary["live_comparisons"] = publish_live_comparisons(settings, summary)
        save_summary(store, summary)
    finally:
        store.close()
    return summary


def summary_text(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: per version, the signals worth acting on."""
    lines = [f"monitor summary at {summary['computed_at']}"]
    if not summary["versions"]:
        lines.append("nothing served yet")
    for v in summary["versions"]:
        speed, sales = v["speed_to_lead"], v["sales_feedback"]
        lines.append(
            f"version {v['version']}: {v['leads']} leads, {v['outcomes']['resolved']} resolved; "
            f"slowest to first touch: {speed['slowest_quadrant']}; "
            f"sales now rejected by AEs: {sales['sales_now_rejected']['n']}"
        )
        features = v["feature_drift"]
        if features["measured"] and features["overall"]:
            worst = features["overall"][0]
            lines.append(
                f"  worst feature shift overall: {worst['feature']} PSI {worst['psi']:.2f}"
                f"; features past the threshold since: {features['since']}"
            )
        elif not features["measured"]:
            lines.append(f"  feature drift: {features['reason']}")
        retrain = v["retrain"]
        lines.append(
            "  retrain recommended: " + "; ".join(retrain["why"])
            if retrain["recommended"]
            else "  no retrain signal"
        )
    for c in summary["challengers"]:
        lines.append(
            f"challenger {c['challenger']} vs champion {c['champion']}: {c['leads']} leads, "
            f"same quadrant for {c['agreement']:.0%}"
        )
    lines += summary.get("live_comparisons", [])
    return "\n".join(lines)
