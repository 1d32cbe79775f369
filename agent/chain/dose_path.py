"""Answers "How did the dose of X change": the drug's dose history in date order, compared with each option."""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import STOPWORDS, content_tokens, find_numbers
from agent.chain.common import GENERIC, sent_date, as_timeline, numbers_match, DIRECTION, DOSE_NUM, register, change_direction

_FROM_TO = re.compile(r"\bfrom\s+" + DOSE_NUM + r"\s+to\s+" + DOSE_NUM, re.I)


def _drug_of(tools: Toolbox, pid: str, a) -> str | None:
    """The question words that name a drug with doses in the notes (a graph concept is preferred, then the
    longer name: "insulin glargine", not any "insulin")."""
    best = None
    qwords = re.findall(r"[A-Za-z][A-Za-z\-/]{2,}", a.question)
    phrases = [" ".join(qwords[i:i + n]) for n in (1, 2, 3) for i in range(len(qwords) - n + 1)]
    for w in dict.fromkeys(phrases):
        parts = w.split()
        if any(x.lower() in STOPWORDS or not content_tokens(x) or content_tokens(x)[0] in GENERIC for x in parts):
            continue
        body = r"\s+".join(re.escape(x) for x in parts)
        rx = re.compile(r"\b" + body + r"\b[^.\n]{0,40}?" + DOSE_NUM, re.I)
        n = sum(1 for p in tools.sentences(pid) if rx.search(p.text) or (re.search(r"\b" + body + r"\b", p.text, re.I)
                                                                        and (_FROM_TO.search(p.text) or _FROM_TO_PHRASE.search(p.text))))
        if n:
            key = (bool(tools.resolve(pid, w)), len(parts), n)
            if best is None or key > best[0]:
                best = (key, w)
    return best[1] if best else None


# "from 160/4.5 mcg one inhalation to 160/4.5 mcg two inhalations": a dose is a strength and a count of units
_DOSE_CHARS = r"(?:[^.;]|\.(?=\d))"  # a decimal point belongs to the dose, a full stop ends it
_FROM_TO_PHRASE = re.compile(rf"\bfrom\s+(\d{_DOSE_CHARS}{{0,50}}?)\s+to\s+(\d{_DOSE_CHARS}{{0,50}}?)(?=\s+(?:at bedtime|"
                             r"daily|once|twice|three times|every|because|due|for|in the|per day)\b|\.(?!\d)|[;,)]|$)", re.I)
_COUNT_NUMW = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "half": "0.5"}


def _dose_key(phrase: str) -> tuple:
    """A dose phrase as comparable tokens: numbers (160/4.5 -> 160, 4.5), count words as digits, units singular."""
    out = []
    for t in re.findall(r"\d+(?:\.\d+)?|[a-zµ]+", phrase.lower()):
        t = _COUNT_NUMW.get(t, t)
        if t[0].isdigit():
            out.append(str(float(t)))
        elif t not in STOPWORDS and t not in ("at", "of"):
            out.append(t[:-1] if t.endswith("s") and len(t) > 3 else t)
    return tuple(out)


def _phrase_change(tools: Toolbox, pid: str, a, drug: str) -> Computed | None:
    """A documented dose change whose doses are not one number each (strength + inhalations / tablets)."""
    name = re.compile(r"\b" + r"\s+".join(re.escape(x) for x in drug.split()) + r"\b", re.I)
    for p in tools.sentences(pid):
        if not name.search(p.text):
            continue
        m = _FROM_TO_PHRASE.search(p.text)
        trend = "up" if DIRECTION["up"].search(p.text) else "down" if DIRECTION["down"].search(p.text) else None
        if not m or trend is None or _FROM_TO.search(p.text):
            continue  # one number each ("from 50 mg to 100 mg"): the dose history below compares those
        want = (_dose_key(m.group(1)), _dose_key(m.group(2)))
        hits = []
        for k, t in a.real_options.items():
            om = _FROM_TO_PHRASE.search(t + ".")
            if om and change_direction(t) == trend and (_dose_key(om.group(1)), _dose_key(om.group(2))) == want:
                hits.append(k)
        if len(hits) == 1:
            words = "increased" if trend == "up" else "reduced"
            text = (f"Dose change of {drug} (computed from the notes): {words} from {m.group(1)} to {m.group(2)} "
                    f"(\"{p.text.strip()}\"); matching option: {hits[0]}")
            return Computed("dose_path", text, {"drug": drug, "start": None, "changed_to": None, "trend": trend,
                                                "from": m.group(1), "to": m.group(2), "choice": hits[0]},
                            [as_timeline(p)], True)
    return None


@register("dose_path")
def dose_path(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    opts = a.real_options
    with_dir = [k for k, t in opts.items() if find_numbers(t) and change_direction(t)]
    if len(with_dir) < max(2, len(opts) - 1):
        return None
    drug = _drug_of(tools, pid, a)
    if drug is None:
        return None
    body = r"\s+".join(re.escape(x) for x in drug.split())
    name = re.compile(r"\b" + body + r"\b", re.I)
    at = re.compile(r"\b" + body + r"\b[^.\n;]{0,40}?" + DOSE_NUM, re.I)
    by_phrase = _phrase_change(tools, pid, a, drug)
    if by_phrase is not None:
        return by_phrase
    events = []  # (date, note, start, kind, values, passage)
    for p in tools.sentences(pid):
        if not name.search(p.text):
            continue
        d = sent_date(p)
        if d is None:
            continue
        m = _FROM_TO.search(p.text)
        if m and (DIRECTION["up"].search(p.text) or DIRECTION["down"].search(p.text)):
            events.append((d, p.note_id, p.start, "change", (float(m.group(1)), float(m.group(3))), p))
            continue
        m = at.search(p.text)
        if m:
            events.append((d, p.note_id, p.start, "dose", (float(m.group(1)),), p))
        elif DIRECTION["stop"].search(p.text):
            events.append((d, p.note_id, p.start, "stop", (), p))
    if not events:
        return None
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    start = next((e for e in events if e[3] == "dose"), None)
    change = next((e for e in events if e[3] == "change" and (start is None or e[0] >= start[0])), None)
    d0 = change[4][0] if change and start is None else (start[4][0] if start else None)
    if d0 is None:
        return None
    if change is not None:
        d1 = change[4][1]
    else:
        later = [e for e in events if e[3] == "dose" and e[0] > start[0] and abs(e[4][0] - d0) > 1e-6]
        d1 = later[0][4][0] if later else None
    stopped = any(e[3] == "stop" for e in events) and d1 is None
    if d1 is not None and abs(d1 - d0) > 1e-6:
        trend, want = ("up" if d1 > d0 else "down"), [d0, d1]
    elif stopped:
        trend, want = "stop", [d0]
    else:
        trend, want = "same", [d0]
    hits = [k for k, t in opts.items() if change_direction(t) == trend and numbers_match([n[0] for n in find_numbers(t)], want)]
    choice = hits[0] if len(hits) == 1 else None
    words = {"up": "increased", "down": "reduced", "same": "unchanged", "stop": "stopped"}[trend]
    text = (f"Dose history of {drug} (computed from the notes): started at {d0:g}"
            + (f", {words} to {d1:g}" if trend in ("up", "down") else f", {words}") + (f"; matching option: {choice}" if choice else ""))
    ps = [as_timeline(e[5]) for e in (start, change) if e is not None]
    return Computed("dose_path", text, {"drug": drug, "start": d0, "changed_to": d1, "trend": trend, "choice": choice},
                    ps, choice is not None)
