"""Hand the challenger's live comparison to its model version, for its review report.

The report is training's (`training.report`) and training never reads the serving
database; serving never imports training. So `handoff monitor` writes each challenger's
comparison with the champion on the same live leads into the challenger's training run
(`models.mlflow_layout.live_comparison_file`) and stamps the version
(`LIVE_COMPARISON_TAG`); the report reads it from there, and the stamp changes the version's
tags, so the review app's cached report of it is rebuilt. Reviewers then sign off with
evidence from their own traffic, not only the backtest.
"""

from __future__ import annotations

import json
from typing import Any

from models import mlflow_layout as layout
from models.mlflow_setup import configure_mlflow
from models.settings import Settings


def publish_live_comparisons(settings: Settings, summary: dict[str, Any]) -> list[str]:
    """Write every challenger comparison of `summary` to its version; one line per version
    (written, or why not: the type only, as a store error may quote a URI)."""
    comparisons = summary.get("challengers") or []
    if not comparisons:
        return []
    configure_mlflow(settings)
    from mlflow import MlflowClient

    client = MlflowClient()
    lines = []
    for comparison in comparisons:
        version = str(comparison["challenger"])
        record = {
            "computed_at": summary["computed_at"],
            "since": summary.get("since"),
            "horizon_days": summary.get("horizon_days"),
            **comparison,
        }
        try:
            mv = client.get_model_version(settings.model_name, version)
            client.log_text(
                layout.run_id_of(mv),
                json.dumps(record, indent=2),
                layout.live_comparison_file(version),
            )
            client.set_model_version_tag(
                settings.model_name, version, layout.LIVE_COMPARISON_TAG, summary["computed_at"]
            )
        except Exception as error:
            lines.append(
                f"live comparison not written to version {version} ({type(error).__name__})"
            )
        else:
            lines.append(f"live comparison written to version {version}'s run")
    return lines
