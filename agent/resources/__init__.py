"""The agent's versioned JSON resources (cue words as data): ``load(name)`` reads ``agent/resources/<name>.json``."""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """The parsed resource (cached; treat as read-only); every resource carries a ``version``."""
    data = json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text("utf-8"))
    if "version" not in data:
        raise ValueError(f"agent resource {name}.json has no version")
    return data
