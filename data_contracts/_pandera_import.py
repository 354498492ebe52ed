"""Import pandera without what it does where pyspark is installed.

Where pyspark is present, `pandera.pandas` sets `SPARK_LOCAL_IP=127.0.0.1` and
`PYARROW_IGNORE_TIMEZONE=1`, and pandera's pandas backend imports `pyspark.pandas` (at
import and again, lazily, when a schema is first built). With the `spark` extra installed
that would load pandas-on-Spark -- which Handoff never uses, and which warns or fails under
pandas 3 -- on every single-machine command, and pin a Spark driver to the loopback address,
where executors on other hosts can never reach it.

So `pyspark.pandas` is marked unavailable for the process (pandera takes its own
`ImportError` branch each time; the Spark path uses `pyspark.sql` only), and the two
variables are put back as they were. `data_contracts/__init__.py` runs this first.
"""

from __future__ import annotations

import os
import sys

_PANDERA_SETS = ("SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE")


def import_pandera_quietly() -> None:
    """Import `pandera.pandas` with pandas-on-Spark kept out and the environment unchanged."""
    if "pandera.pandas" in sys.modules:
        return
    before = {name: os.environ.get(name) for name in _PANDERA_SETS}
    sys.modules.setdefault("pyspark.pandas", None)  # type: ignore[arg-type]
    try:
        import pandera.pandas  # noqa: F401
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


import_pandera_quietly()
