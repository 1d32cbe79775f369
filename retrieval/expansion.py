"""Query expansion: abbreviation <-> expansion, brand <-> generic drug names, ICD-10 code -> title.

BM25 only matches the words a note uses; a clinician asking about "Lasix" or "HTN"
should also find "furosemide" and "hypertension". The rules are versioned JSON
resources; a knowledge-graph expander can be plugged in as any callable
``(query) -> list[str]`` (``Retriever(workspace, expander=...)``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

Expander = Callable[[str], list[str]]

_ICD = re.compile(r"\b([A-TV-Z][0-9][0-9AB](?:\.?[0-9A-TV-Z]{1,4})?)\b")


@lru_cache(maxsize=1)
def load_abbreviations() -> tuple[dict[str, list[str]], frozenset[str], str]:
    data = json.loads(resources.files("retrieval.resources").joinpath("abbreviations.json").read_text("utf-8"))
    return data["abbreviations"], frozenset(data.get("upper_only", [])), data["version"]


@lru_cache(maxsize=1)
def load_drug_brands() -> dict[str, str]:
    """Brand -> generic from the graph layer's resource when present (no 65 MB UNII table at query time)."""
    path = Path(__file__).resolve().parents[1] / "graph_store" / "resources" / "drug_brands.json"
    try:
        return {k.lower(): v.lower() for k, v in json.loads(path.read_text("utf-8"))["brands"].items()}
    except (OSError, ValueError, KeyError):
        return {}


def _has_phrase(text_lower: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text_lower) is not None


class QueryExpander:
    """Default expander: returns extra terms (never the query's own words) to append to the lexical query."""

    def __init__(self, abbreviations: bool = True, drugs: bool = True, icd10: bool = True):
        self.abbrev, self.upper_only, self.version = load_abbreviations() if abbreviations else ({}, frozenset(), "")
        self.brands = load_drug_brands() if drugs else {}
        self.generics: dict[str, list[str]] = {}
        for b, g in self.brands.items():
            self.generics.setdefault(g, []).append(b)
        self.reverse: dict[str, list[str]] = {}
        for a, exps in self.abbrev.items():
            for e in exps:
                self.reverse.setdefault(e, []).append(a)
        self.icd10 = icd10

    def __call__(self, query: str) -> list[str]:
        low = query.lower()
        extra: list[str] = []
        for tok in set(re.findall(r"[\w/-]+", query)):
            t = tok.lower()
            if t in self.abbrev and (t not in self.upper_only or tok.isupper()):
                extra += self.abbrev[t]
            if t in self.brands:
                extra.append(self.brands[t])
            if t in self.generics:
                extra += self.generics[t]
        for phrase, abbrs in self.reverse.items():
            if _has_phrase(low, phrase):
                extra += abbrs
        if self.icd10:
            extra += self._icd_titles(query)
        seen, out = set(), []
        for e in extra:
            if e not in seen and not _has_phrase(low, e):
                seen.add(e)
                out.append(e)
        return out

    @staticmethod
    def _icd_titles(query: str) -> list[str]:
        codes = _ICD.findall(query)
        if not codes:
            return []
        try:
            import simple_icd_10_cm as icd
        except ImportError:
            return []
        out = []
        for c in codes:
            if icd.is_valid_item(c):
                out.append(icd.get_description(c).lower())
        return out


def expand_query(query: str, expander: Expander | None) -> str:
    if expander is None:
        return query
    extra = expander(query)
    return query if not extra else query + " " + " ".join(extra)
