"""A count of treatment cycles: the highest cycle given; planned / postponed cycles do not count.

Asked as a count whose question names a treatment unit (cycles, courses, rounds) in any wording.
"""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens, find_numbers
from agent.chain.common import GENERIC, coverage, as_timeline, sentence_dates, register, cues

_ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
_COUNT_WORDS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), start=1)}
_CYCLE_NO = re.compile(
    r"\b(?:cycle|course|round)\s*(?:#|no\.?\s*)?(\d{1,2})\b"
    r"|\b(\d{1,2})(?:st|nd|rd|th)\s+(?:cycle|course|round)\b"
    r"|\b(" + "|".join(_ORDINALS) + r")\s+(?:cycle|course|round)\b", re.I)
_CYCLES_DONE = re.compile(
    r"\b(?:completed|received|after|finished|underwent|had|total of|status post|s/p)\s+(?:\w+\s+)?"
    r"(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s+(?:cycles|courses|rounds)\b", re.I)
_NOT_GIVEN = re.compile(r"\b(plan(?:ned|s)?|scheduled|will|to receive|recommend\w*|intend\w*|next|further|"
                        r"postpon\w*|cancel\w*|withheld|held|deferred|omitted|not (?:be )?given|delayed)\b", re.I)
_CYCLE_GENERIC = GENERIC | frozenset(content_tokens("cycles cycle courses course rounds round many total chemotherapy"))


def not_given(text: str, pos: int) -> bool:
    """Does the clause around ``pos`` say the cycle there was not (yet) given ("cycle 5 was postponed", "2 further
    cycles are planned")?"""
    return bool(_NOT_GIVEN.search(_clause(text, pos)))


def _clause(text: str, pos: int) -> str:
    """The clause of a sentence around ``pos`` (split at ; : , and "and" / "but")."""
    cuts = [0] + [m.end() for m in re.finditer(r"[;:,]|\b(?:and|but|whereas)\b", text)] + [len(text)]
    return text[max(c for c in cuts if c <= pos):min((c for c in cuts if c > pos), default=len(text))]


@register("cycle_count", kind="cycles")
def cycle_count(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    units = [w for w in re.findall(r"[a-z]+", a.question.lower()) if w in cues()["treatment_units"]]
    if intent.asked != "count" or not units or not a.real_options:
        return None
    unit = units[0].rstrip("s")
    wrap = _CYCLE_GENERIC | frozenset(content_tokens(" ".join(cues()["treatment_verbs"])))
    regimen = [t for t in content_tokens(a.question) if t not in wrap]
    w = {t: tools.idf(pid, t) for t in regimen}
    best, best_p = 0, None
    for p, _own, toks in sentence_dates(tools, pid):
        if not any(u in p.text.lower() for u in cues()["treatment_units"]) or (w and coverage(tools, pid, "", p.text, w, toks) < 0.6):
            continue
        for rx in (_CYCLE_NO, _CYCLES_DONE):
            for mm in rx.finditer(p.text):
                if not_given(p.text, mm.start()):
                    continue  # "cycle 5 was postponed", "2 further cycles are planned"
                raw = next(g for g in mm.groups() if g)
                n = int(raw) if raw.isdigit() else _ORDINALS.get(raw.lower()) or _COUNT_WORDS.get(raw.lower())
                if n and n > best:
                    best, best_p = n, p
    if not best:
        return None
    hits = [k for k, t in a.real_options.items() if any(abs(v - best) < 1e-6 for v, _, _ in find_numbers(t))]
    choice = hits[0] if len(hits) == 1 else None
    text = (f"Highest {unit} given in the notes: {unit} {best} (\"{best_p.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no single option states that number"))
    return Computed("cycles", text, {"count": best, "choice": choice}, [as_timeline(best_p)], choice is not None)
