"""Keep the cyclic garbage collector out of the latency tail.

A serving process holds a few million long-lived objects (MLflow, pandas, LightGBM, the
champion). A full collection walks all of them while the event loop waits, which shows up
as a latency spike every so often. Once the champion is loaded and warm, `quiet_collector`
moves everything alive into the permanent generation (`gc.freeze`), so later collections
only walk what requests create; after a swap it is called again for the new model.
"""

from __future__ import annotations

import gc


def quiet_collector() -> None:
    """Collect once, then freeze what is left: start-up and model objects live on."""
    gc.collect()
    gc.freeze()
