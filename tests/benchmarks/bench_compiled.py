"""Compiled trees (lleaves, treelite) against LightGBM's own predict, on the champion's boosters.

Not a timed test, and nothing here changes how Handoff scores: run it by hand
(`.venv/bin/python tests/benchmarks/bench_compiled.py`; it installs nothing: `pip install
lleaves "llvmlite<0.45" treelite` first: lleaves 1.3 needs llvmlite's legacy pass manager). It trains a small champion (as `bench_serving.py` does; `--work DIR`
keeps it), encodes generated leads exactly as the API does (`build_columns` ->
`feature_columns` -> `encode_columns`) and, for each booster of the scorer, times at 1, 20
and 10,000 rows:

- LightGBM `predict(raw_score=True)` (the raw score) and `predict(pred_leaf=True)` (the leaves
  the reason codes are built from: `models.scorer` sums path contributions over them);
- lleaves, compiled with `raw_score=True` (raw scores only: it cannot return leaves);
- treelite's GTIL `predict(pred_margin=True)` and `predict_leaf`.

It checks that raw scores agree with LightGBM's to 1e-9 and that leaves are identical (same
leaves: same contributions, same reasons), and prints what share of one single-lead
`score_columns` call LightGBM's predict calls take, which bounds what compiling could save.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_serving import API_KEY, api_items, make_champion  # noqa: E402

SIZES = (1, 20, 10_000)


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median seconds of `repeats` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def encoded_rows(model: Any, items: list[dict[str, Any]]) -> np.ndarray:
    """The scorer's input matrix for `items`, built as the API builds it."""
    from models.encoding import encode_columns
    from models.pyfunc import FEATURES_KEY
    from serving.account_scoring import lead_account_inputs
    from serving.schemas import ScoreIn
    from serving.scoring import aware_us, build_columns

    reqs = [ScoreIn.model_validate(i) for i in items]
    leads, events = build_columns([r.lead for r in reqs], [r.events for r in reqs])
    as_ofs = [r.as_of for r in reqs if r.as_of is not None]
    accounts = lead_account_inputs(reqs, as_ofs) if model.reads_accounts else None
    cols = model.score_columns(
        leads, events, aware_us(as_ofs), reasons=False, keep_features=True, accounts=accounts
    )[FEATURES_KEY]  # the columns the model builds, account features included
    scorer = model.scorer
    M, _ = encode_columns(cols, len(reqs), scorer.columns_, scorer.categories_)
    return np.asarray(M, dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train-leads", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=200, help="calls per small size")
    parser.add_argument("--work", type=Path, help="keep the work folder (and champion) here")
    args = parser.parse_args()
    import lleaves
    import mlflow
    import treelite

    from data_contracts.synthetic import generate_to_folder
    from models.mlflow_setup import configure_mlflow, disable_telemetry
    from serving.scoring import score_items, warm_up

    disable_telemetry()
    tmp = tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    if (work / "home" / "mlflow.db").exists():
        from serving.security import hash_key
        from serving.settings import ServingSettings

        settings = ServingSettings(home=work / "home", api_key_hashes=[hash_key(API_KEY)])
    else:
        settings = make_champion(work, args.train_leads)
    configure_mlflow(settings)
    model = mlflow.pyfunc.load_model(
        f"models:/{settings.model_name}@champion"
    ).unwrap_python_model()
    scorer = model.scorer
    data_dir = work / "compiled"
    if not (data_dir / "leads.parquet").exists():
        generate_to_folder(n_leads=max(SIZES), seed=9, out_dir=data_dir)
    items = api_items(data_dir, max(SIZES), events_per_lead=20)
    M = encoded_rows(model, items)

    print(f"\n== compiled trees vs LightGBM (champion boosters, {len(M):,} encoded leads) ==")
    print(
        f"{'booster':<10}{'trees':>6}{'rows':>7}{'lgb raw µs':>12}{'lgb leaf µs':>12}"
        f"{'lleaves µs':>12}{'tl raw µs':>11}{'tl leaf µs':>11}"
    )
    agreement: list[str] = []
    for part, booster in scorer.boosters_.items():
        sub = np.ascontiguousarray(M[:, scorer.column_index_[part]])
        model_file = work / f"{part}.txt"
        booster.save_model(str(model_file))
        t = time.perf_counter()
        compiled = lleaves.Model(model_file=str(model_file))
        compiled.compile(cache=str(work / f"{part}.lleaves"), raw_score=True)
        compile_s = time.perf_counter() - t
        tl = treelite.frontend.from_lightgbm(booster)
        want = booster.predict(sub, raw_score=True, num_threads=1)
        leaves = booster.predict(sub, pred_leaf=True, num_threads=1)
        got_ll = compiled.predict(sub, n_jobs=1)
        got_tl = treelite.gtil.predict(tl, sub, pred_margin=True, nthread=1).reshape(-1)
        tl_leaves = treelite.gtil.predict_leaf(tl, sub, nthread=1).reshape(leaves.shape)
        agreement.append(
            f"{part}: lleaves max |diff| {np.max(np.abs(got_ll - want)):.1e}, treelite "
            f"{np.max(np.abs(got_tl - want)):.1e} (bound 1e-9); treelite leaves identical: "
            f"{bool(np.array_equal(tl_leaves.astype(np.int64), leaves.astype(np.int64)))}; "
            f"lleaves compile {compile_s:.1f} s"
        )
        for n in SIZES:
            rows = np.ascontiguousarray(sub[:n])
            reps = args.repeats if n < 1000 else max(3, args.repeats // 50)
            figures = [
                timed(lambda r=rows, b=booster: b.predict(r, raw_score=True, num_threads=1), reps),
                timed(lambda r=rows, b=booster: b.predict(r, pred_leaf=True, num_threads=1), reps),
                timed(lambda r=rows, c=compiled: c.predict(r, n_jobs=1), reps),
                timed(lambda r=rows, m=tl: treelite.gtil.predict(m, r, pred_margin=True), reps),
                timed(lambda r=rows, m=tl: treelite.gtil.predict_leaf(m, r), reps),
            ]
            print(
                f"{part:<10}{booster.num_trees():>6}{n:>7}"
                + "".join(
                    f"{s * 1e6:>{w}.1f}" for s, w in zip(figures, (12, 12, 12, 11, 11), strict=True)
                )
            )
    print()
    for line in agreement:
        print(line)

    # What LightGBM's predict calls cost inside one single-lead score (reasons on).
    from serving.schemas import ScoreIn

    one = ScoreIn.model_validate(items[0])
    assert one.as_of is not None
    warm_up(model)
    whole = timed(lambda: score_items(model, [one.lead], [one.events], [one.as_of]), args.repeats)
    calls = 0.0
    for part, booster in scorer.boosters_.items():
        row = np.ascontiguousarray(M[:1, scorer.column_index_[part]])
        kind = {"pred_leaf": True} if part in ("fit", "interest") else {"raw_score": True}
        calls += timed(
            lambda r=row, b=booster, k=kind: b.predict(r, num_threads=1, **k), args.repeats
        )
    print(
        f"\none lead (20 events, reasons): score_items {whole * 1e3:.2f} ms, of which LightGBM "
        f"predict calls ~{calls * 1e3:.2f} ms ({calls / whole:.0%}): the most compiling could save"
    )


if __name__ == "__main__":
    main()
