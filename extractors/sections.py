"""Section detection: header lines matched against versioned rules (resources/sections.json).

The rules are in medspaCy's SectionRule JSON format ({"section_rules": [{"literal", "category"}]}), so
the same file loads into ``medspacy.section_detection.Sectionizer`` (see ``medspacy_sectionizer``); the
detector here is an equivalent line-anchored matcher that needs no spaCy Doc, which keeps it fast on
huge notes. A header is a rule literal at the start of a line (optionally wrapped in markdown # / **),
followed by ':' (content may follow on the same line) or by the end of the line. Short literals
(<= 3 characters, e.g. "PE", "CC") need the colon. Unknown "Title Case:" lines that stand alone are
kept as sections too, with their own lower-cased title.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from extractors._resources import load_resource


@dataclass(frozen=True)
class SectionHeader:
    start: int
    end: int  # end of the title (before the colon)
    title: str  # canonical lower-case title
    rule: str  # provenance id


def canonical_title(title: str) -> str:
    """Same normalization as retrieval.chunking.canonical_section."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9/&() -]", " ", title.lower())).strip() or "section"


class SectionDetector:
    def __init__(self, rules: dict | None = None):
        data = rules or load_resource("sections")
        self.version = data.get("version", "0")
        self.rules = data["section_rules"]
        self.category = {r["literal"].lower(): r["category"] for r in self.rules}
        lits = sorted({r["literal"] for r in self.rules}, key=len, reverse=True)
        alt = "|".join(re.escape(x).replace(r"\ ", r"\s+") for x in lits)
        self._known = re.compile(
            r"^[ \t]*(?:#{1,6}[ \t]*|\*\*|__)?(?P<title>" + alt + r")(?:\*\*|__)?[ \t]*(?P<colon>:|(?=\r?\n|$))",
            re.I | re.M,
        )
        self._generic = re.compile(
            r"^[ \t]*(?:#{1,6}[ \t]*|\*\*)?(?P<title>[A-Z][A-Za-z/&()\- ]{2,40}?)(?:\*\*)?[ \t]*:[ \t]*(?=\r?\n)", re.M
        )

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[SectionHeader]:
        end = len(text) if end is None else end
        out: dict[int, SectionHeader] = {}
        for m in self._known.finditer(text, start, end):
            lit = re.sub(r"\s+", " ", m.group("title")).lower()
            if not m.group("colon") and (len(lit) <= 3 or not _header_like(m.group("title"))):
                continue
            cat = self.category.get(lit)
            if cat is None:
                continue
            out[m.start("title")] = SectionHeader(m.start("title"), m.end("title"), cat,
                                                  f"section:{self.version}:{lit}")
        for m in self._generic.finditer(text, start, end):
            s = m.start("title")
            if s in out:
                continue
            title = m.group("title").strip()
            if len(title.split()) > 5:
                continue
            out[s] = SectionHeader(s, s + len(title), canonical_title(title), f"section:{self.version}:generic")
        return [out[k] for k in sorted(out)]


def _header_like(title: str) -> bool:
    words = title.split()
    return title.isupper() or all(w[:1].isupper() or not w[:1].isalpha() for w in words if w.lower() not in
                                  ("of", "and", "on", "at", "the", "for", "to", "in"))


def medspacy_sectionizer(nlp):
    """Add a medspaCy Sectionizer loaded with the same rules to a spaCy pipeline (optional, slower path)."""
    from importlib import resources

    import medspacy.section_detection  # noqa: F401  (registers the "medspacy_sectionizer" factory)

    path = resources.files("extractors.resources").joinpath("sections.json")
    return nlp.add_pipe("medspacy_sectionizer", config={"rules": str(path)})
