"""Each size switch of the scoring path, both sides timed at the same sizes, side by side.

Run: nice .venv/bin/python tests/benchmarks/bench_paths.py [--repeats 200]

Scoring picks a path by size in a few places (category encoding, leaf-contribution sums,
reason assembly, fit-feature string work, event id look-ups, LightGBM threads). Each switch
is a module constant; this script forces each one to "always the few-rows path" and to
"always the vectorised path" and times `HandoffModel.score_columns` (the API's path) and
`score_raw` (the frame path batch scoring takes) at sizes around the threshold, on a model
trained on generated leads' real features. A switch earns its place only where the figures
show its small side winning at small sizes and its large side winning at large ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "models"))

from conftest import train_on_generated  # noqa: E402

import features.fit as fit_module  # noqa: E402
import features.interest as interest_module  # noqa: E402
import models.encoding as encoding_module  # noqa: E402
import models.reasons as reasons_module  # noqa: E402
from features._table import plain_columns  # noqa: E402
from features._time import epoch_us  # noqa: E402

# (label, module, constant, value forcing the few-rows side, value forcing the other side)
SWITCHES: tuple[tuple[str, Any, str, int, int], ...] = (
    ("encoding: dict look-ups", encoding_module, "SMALL_ROWS", 10**9, -1),
    ("contributions: fancy index", reasons_module, "_FEW_CONTRIB_ROWS", 10**9, -1),
    ("reasons: per-row phrasing", reasons_module, "_FEW_ROWS", 10**9, -1),
    ("fit: skip factorize", fit_module, "SMALL", 10**9, -1),
    ("interest: dict id look-up", interest_module, "SMALL_EVENTS", 10**9, -1),
)
SIZES = (1, 4, 8, 16, 64, 512, 5000)


def _paired_ms(
    call: Callable[[], Any], module: Any, name: str, sides: tuple[int, int], repeats: int
) -> tuple[float, float]:
    """Median CPU ms of `call` with the switch on each side, the two sides interleaved call
    by call so that load on a shared box falls on both alike."""
    default = getattr(module, name)
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for i in range(repeats + 1):
            for side, value in enumerate(sides):
                setattr(module, name, value)
                t0 = time.thread_time()
                call()
                if i:  # the first round warms caches
                    times[side].append(time.thread_time() - t0)
    finally:
        setattr(module, name, default)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=100, help="timed calls per cell")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    if hasattr(os, "nice") and os.nice(0) == 0:
        os.nice(10)
    with tempfile.TemporaryDirectory() as tmp:
        model, crm, labels, _ = train_on_generated(
            Path(tmp) / "crm", n_leads=12_000, seed=3, train_share=0.75
        )
    leads, events, snapshot = crm.leads, crm.events, labels["snapshot_at"]
    calls: dict[int, dict[str, Callable[[], Any]]] = {}
    for n in args.sizes:
        head = leads.iloc[:n]
        ev = events[events["lead_id"].isin(head["lead_id"])]
        as_of = snapshot.loc[head["lead_id"]]
        cols, ev_cols, as_us = plain_columns(head), plain_columns(ev), epoch_us(as_of)
        calls[n] = {
            "columns": lambda c=cols, e=ev_cols, a=as_us: model.score_columns(c, e, a),
            "frame": lambda h=head, e=ev, a=as_of: model.score_raw(h, e, as_of=a),
        }
    print(f"median CPU ms per call ({args.repeats} calls per cell, fewer for big sizes);")
    print("each switch forced to its few-rows side (few) and to its vectorised side (vec)\n")
    print(f"{'switch':<28}{'path':<9}" + "".join(f"{n:>16}" for n in args.sizes))
    print(" " * 37 + "".join(f"{'few / vec':>16}" for _ in args.sizes))
    for label, module, name, few, vec in SWITCHES:
        for path in ("columns", "frame"):
            cells = []
            for n in args.sizes:
                repeats = max(5, args.repeats if n <= 64 else args.repeats // 20)
                small, large = _paired_ms(calls[n][path], module, name, (few, vec), repeats)
                cells.append(f"{small:7.2f}/{large:<7.2f}")
            print(f"{label:<28}{path:<9}" + "".join(f"{c:>16}" for c in cells))
        print(f"{'':<28}(today: {name} = {getattr(module, name)})")


if __name__ == "__main__":
    main()
