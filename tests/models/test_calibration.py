"""Calibration maps a raw score to a probability without changing anyone's place in line."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.calibration import TIE_BREAK, Calibrator, equal_count_bands


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_keeps_the_models_order_and_auc(method) -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=400)
    y = (rng.random(400) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    calibrator = Calibrator.fit(raw, y, method)  # type: ignore[arg-type]
    p = calibrator.predict(raw)
    order = np.argsort(raw)
    assert np.all(np.diff(p[order]) > 0)
    assert roc_auc_score(y, p) == roc_auc_score(y, raw)
    assert ((p >= 0) & (p <= 1)).all()


def test_isotonic_steps_move_by_at_most_the_tie_break() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=300)
    y = (rng.random(300) < 0.3).astype(float)
    calibrator = Calibrator.fit(raw, y, "isotonic")
    steps = np.interp(raw, calibrator.x, calibrator.y)
    assert np.max(np.abs(calibrator.predict(raw) - steps)) <= TIE_BREAK


def test_equal_count_bands_split_alike_either_way_and_keep_tied_order() -> None:
    p = np.array([0.9, 0.1, 0.5, 0.5, 0.3, 0.7, 0.2])
    rising = equal_count_bands(p, 3)
    assert np.bincount(rising).tolist() == [3, 2, 2]
    assert rising[np.argmin(p)] == 0 and rising[np.argmax(p)] == 2
    best = equal_count_bands(p, 3, best_first=True)
    assert best[np.argmax(p)] == 0 and best[np.argmin(p)] == 2
    assert equal_count_bands(np.array([0.4, 0.4, 0.4, 0.4]), 2).tolist() == [0, 0, 1, 1]
    assert equal_count_bands(np.array([]), 5).tolist() == []
