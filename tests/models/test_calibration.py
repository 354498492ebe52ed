"""Calibration maps a raw score to a probability without changing anyone's place in line."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.calibration import TIE_BREAK, Calibrator


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
