"""How many won deals a model needs before its numbers can be trusted, and which learner
to expect at each size: the two measured facts behind the small-data warning and the
report's sentence on the chosen learner.

Both come from `tests/benchmarks/bench_small_data.py` (generated CRM data at 50 to 5,000
training-window wins over several seeds, and the public datasets subsampled), not from a
vendor's rule of thumb; rerun it before changing them (its docstring says how).

- `MIN_TRAINING_WINS`: below it, the 95% interval of the test-window AUC difference between
  the served model and the best baseline is so wide that a verdict (better than the
  baseline, than the champion?) says nothing: training still registers a candidate, but the
  run, `handoff train` and the report say the data is too small to trust, and every approval
  must acknowledge it (`models.mlflow_layout.SMALL_DATA_TAG`).
- `LIGHTGBM_OVERTAKES_AT_WINS`: from about this many training wins LightGBM (alone or
  blended) ranks test leads better than the simpler families on average.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.learners import FAMILY_LABELS

MIN_TRAINING_WINS = 200
LIGHTGBM_OVERTAKES_AT_WINS = 200
TREE_FAMILIES = ("lightgbm", "blend")


def small_data_problem(train_wins: int) -> str | None:
    """Why a run's data is too small to trust, or None when it is not."""
    if train_wins >= MIN_TRAINING_WINS:
        return None
    return (
        f"the training window holds only {train_wins:,} won deals, fewer than the "
        f"{MIN_TRAINING_WINS:,} below which test-window comparisons cannot tell a better model "
        "from a lucky one: the data is too small to trust"
    )


def choice_sentence(chosen: str, runner_up: str | None, train_wins: int) -> str:
    """The report's one sentence on which learner serves, and what more data would change."""
    said = f"With {train_wins:,} won deals {FAMILY_LABELS[chosen]} ranks leads best"
    if runner_up:
        said += f" (runner-up on the validation window: {FAMILY_LABELS[runner_up]})"
    at = f"about {LIGHTGBM_OVERTAKES_AT_WINS:,} wins"
    if chosen not in TREE_FAMILIES:
        return f"{said}; LightGBM overtakes it at {at} on data like yours."
    if train_wins >= LIGHTGBM_OVERTAKES_AT_WINS:
        return f"{said}, as expected from {at} on data like yours."
    return f"{said}, earlier than the {at} from which it usually overtakes the simpler models."


def run_choice_sentence(summary: Mapping[str, Any]) -> str:
    """`choice_sentence` for a run's summary; empty for runs trained before learners were
    chosen (the report, the decision box and the review page all say it this way)."""
    choice = summary.get("model_choice")
    if not choice:
        return ""
    combined = choice["combined"]
    return choice_sentence(
        combined["chosen"], combined.get("runner_up"), int(summary.get("n_train_wins", 0))
    )
