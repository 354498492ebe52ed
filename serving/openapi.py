"""The OpenAPI document as the serving champion needs it fed.

A model trained through a mapping reads extra lead columns (`ScoreIn.extras`); which ones
depends on the champion, which can change while the service runs. FastAPI builds its
document once, so `live_openapi` keeps that static document and, on each request for it,
names the serving champion's extra inputs (name, kind, role) under `ScoreIn.extras`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

JSON_TYPE = {"numeric": "number", "categorical": "string"}


def live_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """An `app.openapi` replacement: FastAPI's document plus the champion's extra inputs."""
    static = app.openapi

    def openapi() -> dict[str, Any]:
        document = copy.deepcopy(static())
        champion = app.state.holder.current
        extras = document["components"]["schemas"]["ScoreIn"]["properties"]["extras"]
        if champion is None:
            extras["description"] += " No model is serving yet."
            return document
        extras["properties"] = {
            e["name"]: {
                "type": [JSON_TYPE[e["kind"]], "null"],
                "description": f"{e['kind']} {e['role']} input of model version {champion.version}",
            }
            for e in champion.extras
        }
        extras["additionalProperties"] = False
        named = ", ".join(f"{e['name']} ({e['kind']})" for e in champion.extras)
        extras["description"] += (
            f" Model version {champion.version} takes: {named}."
            if champion.extras
            else f" Model version {champion.version} takes none."
        )
        return document

    return openapi
