"""The challenger, scored in the shadow: every lead the champion answers, never answered.

A second `ChampionHolder` follows the `challenger` alias under `shadow_problems` (the
promotion rule without waiting for sign-off). The routes hand each request's leads to
`Shadow.score` as a background task that runs after the answer has been sent, so the
challenger adds nothing to the answer's latency and cannot change or fail it: anything it
raises is logged (the type only) and dropped. Its answers go to `SHADOW_LOG`, beside the
score log and keyed the same way, so the monitor compares both models on the same requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from models.mlflow_layout import CHALLENGER, shadow_problems
from serving.champion import Champion, ChampionHolder
from serving.score_log import SCORE_LOG, rows_from_answers
from serving.settings import ServingSettings
from serving.store import Store, Table, read_table

logger = logging.getLogger("handoff.serving")

SHADOW_LOG = Table(
    name="shadow_log",
    columns=SCORE_LOG.columns,
    key=SCORE_LOG.key,
    indexes=SCORE_LOG.indexes,
)

Answers = list[dict[str, Any]]


class Shadow:
    """The challenger holder and where its answers are written."""

    def __init__(self, settings: ServingSettings, store: Store) -> None:
        self.holder = ChampionHolder(settings, alias=CHALLENGER, problems=shadow_problems)
        self.store = store
        self.timeout_seconds = settings.score_log_timeout_seconds
        self.failures = 0

    @property
    def current(self) -> Champion | None:
        return self.holder.current

    def score(self, compute: Callable[[], Answers], scored_at: str) -> None:
        """Score and record in the shadow; never raises (the answer is already sent)."""
        try:
            rows = rows_from_answers(compute(), scored_at)
            self.store.write_blocking(SHADOW_LOG, rows, self.timeout_seconds)
        except Exception as exc:  # the type only: a message may quote lead data
            self.failures += 1
            logger.warning(
                "challenger shadow scoring failed (%s); answers unaffected", type(exc).__name__
            )

    def start(self) -> None:
        self.holder.start()

    def stop(self) -> None:
        self.holder.stop()


def read_shadow_rows(url: str) -> list[dict[str, Any]]:
    return read_table(url, SHADOW_LOG)
