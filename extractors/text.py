"""Text utilities: the matching tokenizer, sentence splitting, slicing of huge notes.

All spans are absolute character offsets into the note text.
"""
from __future__ import annotations

import re

# Words (letters/digits, unicode aware), line breaks (terms never cross them) and single punctuation.
# Hyphens are separators, so "PET-CT" == "PET CT" and "x-ray" == "x ray".
TOKEN_RE = re.compile(r"[^\W_]+|\n|[^\w\s-]")
_WS = re.compile(r"\s+")


_SIMPLE = re.compile(r"[a-z0-9 ]+")


def norm_key(term: str) -> str:
    """The lookup key of a term: lower-cased tokens joined by single spaces."""
    low = term.lower()
    if _SIMPLE.fullmatch(low):  # fast path: plain words
        return " ".join(low.split())
    return " ".join(t for t in TOKEN_RE.findall(low) if t != "\n")


def normalize_space(s: str) -> str:
    return _WS.sub(" ", s).strip()


_ABBREV_END = re.compile(
    r"(?:\b(?:dr|mr|mrs|ms|prof|st|vs|approx|e\.g|i\.e|etc|no|nr|pt|pts|fig|ca|b\.i\.d|t\.i\.d|q\.i\.d|p\.o|i\.v|q\.d|p\.r\.n|h\.s|q\.h\.s|a\.m|p\.m|s\.c|i\.m|inc|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|mg|mcg|ml|hr|hrs|min|max|yr|yrs|wk|wks|mo|mos)|\b[A-Za-z])\.$",
    re.I,
)
# candidate sentence ends: [.!?] (+ closing quotes/brackets) followed by space, semicolons before space, or line breaks
_SENT_CAND = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (trimmed) in text[start:end]; a line break ends a sentence (clinical lists) unless the
    line is hard-wrapped prose (no end punctuation before it, a lower-case word after it)."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENT_CAND.finditer(text, start, end):
        if m.group() == "\n":
            # a hard-wrapped line ("discontinued due to\nacute kidney injury") continues the sentence
            prev = text[m.start() - 1] if m.start() > start else ""
            nxt = text[m.end() : m.end() + 1]
            if prev and prev not in ".:;!?)" and not prev.isspace() and nxt.islower():
                continue
            cut = m.start()
        else:
            head = text[max(pos, m.start() - 12) : m.start() + 1]
            if _ABBREV_END.search(head):
                continue
            # a decimal or ordinal like "2." followed by a lower-case word is not an end; a period written apart
            # from its word ("okay . so , you know", a speech recognizer's transcript) always is
            nxt = text[m.end() : m.end() + 2].lstrip()
            spaced = m.start() > start and text[m.start() - 1].isspace()
            if nxt and nxt[0].islower() and not spaced:
                continue
            cut = m.end()
        spans.append((pos, cut))
        pos = m.end()
    spans.append((pos, end))
    return trim_spans(text, spans)


def trim_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans without their leading/trailing whitespace; spans left empty are dropped."""
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def slice_points(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut a long text into windows of <= ~max_chars at paragraph/line/space boundaries (never mid-word)."""
    n = len(text)
    if n <= max_chars:
        return [(0, n)]
    out = []
    pos = 0
    while pos < n:
        end = min(n, pos + max_chars)
        if end < n:
            lo = pos + max_chars // 2
            cut = text.rfind("\n\n", lo, end)
            if cut < 0:
                cut = text.rfind("\n", lo, end)
            if cut < 0:
                cut = text.rfind(" ", lo, end)
            end = cut + 1 if cut >= 0 else end
        out.append((pos, end))
        pos = end
    return out


def find_sentence(sentences: list[tuple[int, int]], starts: list[int], pos: int) -> int:
    """Index of the sentence containing pos (or the one before it); ``starts`` = [s for s, _ in sentences]."""
    import bisect

    i = bisect.bisect_right(starts, pos) - 1
    return max(i, 0)
