"""Section-aware sentence-window chunking with exact character offsets.

Chunks never cross a section boundary, so a hit can be cited with its section
and the agent never quotes half of "Medications" glued to "Allergies". Every
chunk satisfies ``note.text[chunk.start:chunk.end] == chunk.text``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from clinqa.records import Chunk, Fact, FactType, Note

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace,
# or at a line break: clinical notes are full of one-line list items and headers.
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
# Header lines when the extractor gave no SECTION facts: "Medications:", "PLAN", "## History", "**Diagnoses**".
_HEADER = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+(?P<md>[^\n]{2,60}?)[ \t]*$"
    r"|\*\*(?P<bold>[^*\n]{2,60})\*\*:?[ \t]*$"
    r"|(?P<colon>[A-Z][A-Za-z0-9 /&()\-]{1,48}):(?=[ \t]|$)"
    r"|(?P<caps>[A-Z][A-Z0-9 /&()\-]{2,48})[ \t]*$)",
    re.M,
)


@dataclass(frozen=True)
class SectionSpan:
    name: str | None
    start: int
    end: int


def canonical_section(title: str) -> str:
    """Lower-case, single-spaced header title (the extractor's canonical names are used when present)."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9/&() -]", " ", title.lower())).strip() or "section"


def detect_sections(text: str) -> list[SectionSpan]:
    """Header-line section detection, the fallback when no SECTION facts exist."""
    heads: list[tuple[int, str]] = []
    for m in _HEADER.finditer(text):
        title = m.group("md") or m.group("bold") or m.group("colon") or m.group("caps")
        if title and len(title.split()) <= 6:
            heads.append((m.start() + (len(m.group(0)) - len(m.group(0).lstrip())), canonical_section(title)))
    return _partition(text, heads)


def sections_from_facts(text: str, facts: Iterable[Fact]) -> list[SectionSpan]:
    heads = sorted(
        (f.start, str(f.attributes.get("section") or canonical_section(f.text)))
        for f in facts
        if FactType(f.type) == FactType.SECTION
    )
    return _partition(text, heads)


def _partition(text: str, heads: list[tuple[int, str]]) -> list[SectionSpan]:
    """Sections cover the whole note: [header_i, header_{i+1}); text before the first header has no section."""
    out: list[SectionSpan] = []
    starts = [s for s, _ in heads]
    if not heads or heads[0][0] > 0:
        out.append(SectionSpan(None, 0, starts[0] if starts else len(text)))
    for i, (s, name) in enumerate(heads):
        e = starts[i + 1] if i + 1 < len(heads) else len(text)
        if e > s:
            out.append(SectionSpan(name, s, e))
    return [s for s in out if text[s.start : s.end].strip()]


def split_sentences(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentence spans (trimmed of surrounding whitespace) inside text[start:end]; over-long ones are cut at spaces."""
    spans: list[tuple[int, int]] = []
    pos = start
    region = text[start:end]
    for m in _SENT_END.finditer(region):
        spans.append((pos, start + m.start()))
        pos = start + m.end()
    spans.append((pos, end))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        while e - s > max_chars:  # cut at the last space before max_chars
            cut = text.rfind(" ", s + 1, s + max_chars)
            cut = cut if cut > s else s + max_chars
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            out.append((s, e))
    return out


class NoteChunker:
    """Sentence windows inside sections: ``window`` sentences, ``overlap`` shared with the next window.

    Uses the extractor's SECTION facts when present, header-line detection otherwise.
    A window also stops growing at ``max_chars`` so it fits the embedder's 256-token limit.
    """

    def __init__(self, window: int = 3, overlap: int = 1, max_chars: int = 1000):
        if window < 1 or overlap < 0 or overlap >= window:
            raise ValueError("need window >= 1 and 0 <= overlap < window")
        self.window, self.overlap, self.max_chars = window, overlap, max_chars

    def warm_up(self) -> None:  # nothing heavy; kept for the component interface
        return None

    def sections(self, note: Note, facts: Iterable[Fact] = ()) -> list[SectionSpan]:
        facts = list(facts)
        if any(FactType(f.type) == FactType.SECTION for f in facts):
            return sections_from_facts(note.text, facts)
        return detect_sections(note.text)

    def run(self, note: Note, facts: Iterable[Fact] = ()) -> list[Chunk]:
        text = note.text
        chunks: list[Chunk] = []
        seen: set[tuple[int, int]] = set()
        for sec in self.sections(note, facts):
            sents = split_sentences(text, sec.start, sec.end, self.max_chars)
            i = 0
            while i < len(sents):
                j = i + 1  # always take at least one sentence
                while j < len(sents) and j - i < self.window and sents[j][1] - sents[i][0] <= self.max_chars:
                    j += 1
                s, e = sents[i][0], sents[j - 1][1]
                if (s, e) not in seen:
                    seen.add((s, e))
                    chunks.append(
                        Chunk(note.patient_id, note.note_id, s, e, text[s:e], sec.name, note.note_date)
                    )
                if j >= len(sents):
                    break
                i = max(i + 1, j - self.overlap)
        return chunks
