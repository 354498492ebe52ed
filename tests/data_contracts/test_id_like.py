"""id_like.py: identifiers (one value per row, hashes, CRM record ids) are told from categories."""

from __future__ import annotations

import hashlib

import pandas as pd

from data_contracts.id_like import id_like


def test_id_like_one_value_per_row() -> None:
    found = id_like(pd.Series([f"visitor-{i}" for i in range(100)]))
    assert found is not None and "100 distinct values in 100 rows" in found


def test_id_like_hashes_even_when_repeated() -> None:
    pages = [hashlib.md5(str(i % 7).encode()).hexdigest() for i in range(500)]
    found = id_like(pd.Series(pages))
    assert found is not None and "hash-like" in found


def test_id_like_crm_record_ids() -> None:
    ids = [f"00Q5g00000Ab{i:03d}XYZ" for i in range(10)] * 10
    assert id_like(pd.Series(ids)) is not None


def test_id_like_ordinary_categories_pass() -> None:
    words = pd.Series(["Landing Page Submission", "API", "Lead Add Form", None] * 50)
    assert id_like(words) is None
    assert id_like(pd.Series(["Professional", "Associate"] * 30)) is None
    assert id_like(pd.Series([None, None])) is None
    assert id_like(pd.Series(["a", "b", "c"])) is None  # too few rows to tell
