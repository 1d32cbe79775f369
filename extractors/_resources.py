"""Loading the versioned JSON rule resources (extractors/resources/*.json)."""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.lru_cache(maxsize=None)
def load_resource(name: str) -> dict[str, Any]:
    """Parsed JSON resource ``extractors/resources/<name>.json`` (cached; treat as read-only)."""
    text = resources.files("extractors.resources").joinpath(f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    if "version" not in data:
        raise ValueError(f"resource {name}.json has no version")
    return data


def resource_versions() -> dict[str, str]:
    names = ["sections", "problems", "procedures", "abbreviations", "labs", "vitals", "medications"]
    return {n: load_resource(n)["version"] for n in names}
