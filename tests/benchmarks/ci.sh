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
