"""`handoff train-accounts`: prepare account rows, fit and evaluate the account model, log
and register a candidate version of it (`models.mlflow_layout.account_model_name`).

A command of its own rather than `handoff train --accounts`: the account model learns from
other rows (accounts at cut-offs, not leads at snapshots), has its own registered model,
policy and report section, and the lead options (`--engine spark`, `--rejection-as-negative`)
do not apply to it. Sign-off, promotion and rollback are the lead commands with `--accounts`.
"""

from __future__ import annotations

from pathlib import Path

from models.policy import QuadrantPolicy
from models.settings import Settings
from training.account_data import prepare_account_data
from training.account_evaluate import fit_and_evaluate_accounts
from training.account_report import section_lines
from training.evaluate import ORACLE
from training.log_accounts import log_and_register_accounts
from training.phases import PhaseClock
from training.summary import TrainResult
from training.verdict import Interval


def run_account_training(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    policy_path: Path | None = None,
    settings: Settings | None = None,
    skip_invalid_rows: bool = False,
) -> TrainResult:
    """Train the account model on a CRM folder with accounts and register a candidate."""
    settings = settings or Settings()
    clock = PhaseClock()
    data = prepare_account_data(
        Path(data_dir),
        mapping=mapping,
        horizon_days=horizon_days,
        skip_invalid_rows=skip_invalid_rows,
        clock=clock,
    )
    policy = QuadrantPolicy.load(policy_path) if policy_path is not None else None
    candidate = fit_and_evaluate_accounts(data, policy=policy, clock=clock)
    with clock.phase("log"):
        result = log_and_register_accounts(data, candidate, settings=settings)
    result.phases = clock.records
    return result


def account_summary_text(result: TrainResult) -> str:
    """What `handoff train-accounts` prints: the verdict, the paired differences, the table."""
    m, s = result.metrics, result.summary
    lines = [*(result.verdict.lines() if result.verdict is not None else [])]
    for name, raw in (s.get("differences") or {}).items():
        diff = Interval(**raw)
        what = "the oracle (truth, an upper reference)" if name == ORACLE else name
        lines.append(f"AUC minus {what}: {diff.text('.4f', signed=True)} (paired DeLong)")
    lines += [
        "",
        f"registered {result.model_name} version {result.version} (run {result.run_id}) "
        "as a candidate awaiting marketing and BDR sign-off",
        f"accounts {s['n_accounts']:,}  labelled account rows {s['n_labelled']:,}  "
        f"censored {s['n_censored']:,}",
        f"test window {s['windows']['test']['start']} .. {s['windows']['test']['end']}  "
        f"win rate train {s['win_rate']['train']:.3f} test {s['win_rate']['test']:.3f}",
        "",
        f"{'model':<22}{'roc_auc':>10}{'ece':>10}{'brier':>10}",
    ]
    for model in ("combined", "fit", "interest", "baseline_logreg", "baseline_naive_bayes", ORACLE):
        if f"test_{model}_roc_auc" in m:
            lines.append(
                f"{model:<22}{m[f'test_{model}_roc_auc']:>10.4f}"
                f"{m.get(f'test_{model}_ece', float('nan')):>10.4f}"
                f"{m.get(f'test_{model}_brier', float('nan')):>10.4f}"
            )
    if s.get("accounts"):
        lines += ["", *section_lines(s["accounts"])]
    return "\n".join(lines)
