"""What serving needs of a loaded model, as a `Protocol`: mypy checks the boundary.

Serving loads `models.pyfunc.HandoffModel` through MLflow, which hands it back untyped;
naming what the routes, the champion loader and batch scoring call keeps that boundary
checked, and lets a test stand in a model that raises (the shadow-scoring work needs that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.feature_sets import FeatureSet
from features.lead_accounts import AccountInputs
from models.policy import QuadrantPolicy


class ServedModel(Protocol):
    """The calls serving makes on the champion."""

    policy: QuadrantPolicy | None
    feature_sets: list[FeatureSet]
    contract_version: str

    @property
    def reads_accounts(self) -> bool: ...

    def score_columns(
        self,
        leads: Mapping[str, Any],
        events: Mapping[str, Any],
        as_of_us: npt.NDArray[np.int64],
        *,
        reasons: bool = True,
        top_k: int = 3,
        keep_features: bool = False,
        accounts: AccountInputs | None = None,
    ) -> dict[str, Any]: ...

    def score_raw(
        self,
        leads: pd.DataFrame,
        events: pd.DataFrame,
        as_of: pd.Timestamp | pd.Series | None = None,
        *,
        reasons: bool = True,
        top_k: int = 3,
        accounts: AccountInputs | None = None,
    ) -> pd.DataFrame: ...
