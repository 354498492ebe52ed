#!/usr/bin/env bash
# The cheap benchmarks, run by .ci/run after the tests: they print figures, they assert nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
echo "-- training quality: 20k generated leads vs the oracle"
$PY tests/benchmarks/bench_train.py --leads 20000 --seed 0 2>&1 | { grep -v -i warn || true; }
if [ -d ../shared/data ]; then
  echo "-- training quality: the public datasets, time-ordered"
  $PY tests/benchmarks/bench_train.py --shared ../shared/data 2>&1 | { grep -v -i warn || true; }
fi
# The rolling-origin backtests of the public datasets run by hand (a minute or two each):
#   .venv/bin/handoff backtest ../shared/data/leads_x_education \
#     --mapping data_contracts/mappings/leads_x_education.toml
echo "-- serving: handoff vs mlflow models serve, 10k-lead batch, score_folder over 10k leads"
$PY tests/benchmarks/bench_serving.py --score-leads 10000 --single 200 --per-thread 100 \
  --batch-repeats 2 2>&1 | { grep -v -i warn || true; } | tail -n 12
