"""Keep the cyclic garbage collector out of the latency tail.

A serving process holds a few million long-lived objects (MLflow, pandas, LightGBM, the
champion). A full collection walks all of them while the event loop waits, which shows up
as a latency spike every so often. Once the champion is loaded and warm, `quiet_collector`
moves everything alive into the permanent generation (`gc.freeze`), so later collections
only walk what requests create. After a swap it runs again: unfrozen first, so the replaced
model's reference cycles are collected rather than kept forever (one full collection per
swap, in the thread that loaded the new model, which is itself seconds of work).
"""

from __future__ import annotations

import gc


def quiet_collector() -> None:
    """Collect once, then freeze what is left: start-up and model objects live on."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
