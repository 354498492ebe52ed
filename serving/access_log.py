"""The access log Handoff serves with: method, path and status, never the query string.

Kept apart from `serving.app` and light to import: each worker process unpickles these
options (and imports this module) before it can answer its supervisor's health checks.
"""

from __future__ import annotations

import copy
import logging
from typing import Any


class PathOnlyAccessLog(logging.Filter):
    """Drops the query string from uvicorn's access-log records: clients put keys in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            # (client, method, target, http version, status); uvicorn quotes the path, so a
            # literal "?" in the target can only start the query string.
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus Handoff's logger; the access log prints method, path, status only."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"path_only": {"()": PathOnlyAccessLog}}
    config["loggers"]["uvicorn.access"]["filters"] = ["path_only"]
    config["loggers"]["handoff"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
