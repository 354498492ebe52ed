"""The answer for a lead does not depend on how many leads are scored with it.

Scoring switches paths by size in several places (encoding, path contributions, reason
assembly, feature helpers); every switch's both sides are covered by these sizes, and each
lead's answer must be identical, to the bit, to the same lead in a 600-lead call, whichever
learner family serves the scores.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features._table import plain_columns
from features._time import epoch_us
from models.learners import FAMILIES
from models.scorer import SCORED_COLUMNS

from .conftest import train_on_generated

SIZES = (1, 4, 5, 8, 9, 16, 17, 64, 65, 600)
POOL = max(SIZES)


@pytest.fixture(scope="module", params=FAMILIES)
def pool(request, raw_model, tmp_path_factory):
    """600 leads with events (and one unseen industry), scored together by both paths, by a
    model whose every score is one learner family (the chosen one for `raw_model`'s)."""
    _, crm, labels, _ = raw_model
    folder = tmp_path_factory.mktemp(f"sizes-{request.param}") / "crm"
    model, *_ = train_on_generated(folder, n_leads=3_000, seed=5, families=(request.param,))
    leads = crm.leads.iloc[:POOL].copy()
    leads.loc[leads.index[3], "industry"] = "space tourism"
    events = crm.events[crm.events["lead_id"].isin(leads["lead_id"])]
    as_of = labels["snapshot_at"].loc[leads["lead_id"]]
    full = model.score_columns(plain_columns(leads), plain_columns(events), epoch_us(as_of))
    return model, leads, events, as_of, full


def _subset(leads: pd.DataFrame, events: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    head = leads.iloc[:n]
    return head, events[events["lead_id"].isin(head["lead_id"])]


@pytest.mark.parametrize("n", SIZES)
def test_columns_path_answer_identical_at_every_size(pool, n: int) -> None:
    model, leads, events, as_of, full = pool
    head, head_events = _subset(leads, events, n)
    got = model.score_columns(
        plain_columns(head), plain_columns(head_events), epoch_us(as_of.iloc[:n])
    )
    for col in SCORED_COLUMNS:
        expected = list(full[col][:n])
        assert list(got[col]) == expected, col


@pytest.mark.parametrize("n", SIZES)
def test_frame_path_answer_identical_at_every_size(pool, n: int) -> None:
    model, leads, events, as_of, full = pool
    head, head_events = _subset(leads, events, n)
    got = model.score_raw(head, head_events, as_of=as_of.iloc[:n])
    for col in SCORED_COLUMNS:
        expected = list(full[col][:n])
        assert got[col].tolist() == expected, col
