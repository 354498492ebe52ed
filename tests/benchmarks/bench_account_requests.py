"""What account features cost one API request, in process. Prints; asserts nothing.

    .venv/bin/python tests/benchmarks/bench_account_requests.py [--repeats 300]

Two champions trained on the same generated folder, one with the account features (as
`handoff train` trains where the data has accounts), one `--no-account-features`; each
scores one 20-event lead through `serving.scoring.score_items` (the route's path, the
account context built by `serving.account_scoring.lead_account_inputs` as the route builds
it): without an `account_id`, with one and no context, and with its account and five
colleagues of 20 events each. Median and p99 of `--repeats` calls after a warm-up, two
alternating rounds, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

KINDS = ("web_visit", "pricing_page", "email_click", "content_download", "demo_request")


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median and p99 milliseconds of `repeats` calls after 20 warm-up calls."""
    for _ in range(20):
        call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.99 * (repeats - 1))] * 1e3


def champions(root: Path) -> dict[str, Any]:
    """The two models, loaded through MLflow as serving loads them."""
    import mlflow

    from data_contracts.synthetic import generate_to_folder
    from models.mlflow_setup import configure_mlflow
    from models.settings import Settings
    from training.train import run_training

    generate_to_folder(n_leads=3_000, seed=7, out_dir=root / "crm")
    settings = Settings(home=root / "home")
    versions = {
        "with account features": run_training(root / "crm", settings=settings).version,
        "lead features only": run_training(
            root / "crm", settings=settings, account_features=False
        ).version,
    }
    configure_mlflow(settings)
    return {
        name: mlflow.pyfunc.load_model(f"models:/{settings.model_name}/{v}").unwrap_python_model()
        for name, v in versions.items()
    }


def requests(now: datetime) -> dict[str, Any]:
    from serving.schemas import AccountContextIn, ContactIn, EventIn, LeadIn, ScoreIn

    def lead(lead_id: str, account_id: str | None) -> LeadIn:
        return LeadIn(
            lead_id=lead_id,
            created_at=now - timedelta(days=30),
            seniority="director",
            function="it",
            source="webinar",
            is_named_account=False,
            industry="software",
            employees=250,
            account_id=account_id,
        )

    events = [
        EventIn(occurred_at=now - timedelta(days=20 - i, hours=1), type=KINDS[i % 5], channel="web")
        for i in range(20)
    ]
    colleagues = [ContactIn(lead=lead(f"C{i}", "A-1"), events=events) for i in range(5)]
    return {
        "no account_id": ScoreIn(lead=lead("L1", None), events=events),
        "account_id, no context": ScoreIn(lead=lead("L1", "A-1"), events=events),
        "account + 5 colleagues": ScoreIn(
            lead=lead("L1", "A-1"), events=events, account=AccountContextIn(contacts=colleagues)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    from serving.account_scoring import lead_account_inputs
    from serving.scoring import score_items

    with tempfile.TemporaryDirectory() as tmp:
        models = champions(Path(tmp))
        now = datetime.now(UTC)
        print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'request':<24} {'champion':<22} {'p50 ms':>7} {'p99 ms':>7}")
        for _ in range(2):
            for label, item in requests(now).items():
                for name, model in models.items():

                    def call(model: Any = model, item: Any = item) -> None:
                        reads = model.reads_accounts
                        given = lead_account_inputs([item], [now]) if reads else None
                        score_items(model, [item.lead], [item.events], [now], accounts=given)

                    p50, p99 = timed(call, args.repeats)
                    print(f"{label:<24} {name:<22} {p50:>7.2f} {p99:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
