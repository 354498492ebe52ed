"""Does a categorical input look like an identifier rather than something a lead *is*?

An id per row (nearly one value per lead) teaches a model nothing it can use on the next
lead, and a hash per page or campaign reads as noise in a reason ("landing_page:
b76ef374..."). Both are refused as mapped inputs unless the mapping declares `id_like`
with a reason; the thresholds are here, once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Nearly one value per row: more distinct values than this share of the non-missing rows.
ID_SHARE = 0.5
# ...counted only where there are enough rows to tell.
MIN_ROWS = 20
# Hash-like: this share of the distinct values look like hex digests, UUIDs or CRM record
# ids (15/18 letters and digits, mixed).
HASH_SHARE = 0.9
_DIGEST = r"^([0-9a-fA-F]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
_RECORD_ID = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"  # with letters and digits both


def id_like(values: pd.Series) -> str | None:
    """Why `values` look like an identifier (in words, with an example), or None."""
    present = values.dropna()
    if present.empty:
        return None
    distinct = pd.Series(pd.unique(present.astype("str")), dtype="str")
    rows, n = len(present), len(distinct)
    if rows >= MIN_ROWS and n > ID_SHARE * rows:
        return f"{n:,} distinct values in {rows:,} rows (e.g. {distinct.iloc[0]!r})"
    text = pa.array(distinct, type=pa.large_string())
    record = pc.and_(
        pc.match_substring_regex(text, _RECORD_ID),
        pc.and_(
            pc.match_substring_regex(text, "[0-9]"), pc.match_substring_regex(text, "[A-Za-z]")
        ),
    )
    hashed = pc.or_(pc.match_substring_regex(text, _DIGEST), record)
    share = pc.sum(hashed).as_py() / n
    if share >= HASH_SHARE:
        first = int(np.flatnonzero(hashed.to_numpy(zero_copy_only=False))[0])
        example = distinct.iloc[first]
        return f"{share:.0%} of its {n:,} distinct values are hash-like (e.g. {example!r})"
    return None
