"""A question that names a date is answered from the passages dated that day, not the whole record."""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens, find_numbers
from agent.chain.common import GENERIC, weights, coverage, as_timeline, single_out, sentence_dates, register

_LATER = re.compile(r"\b(later|latter|follow(?:ed)?[- ]?up|subsequent|second|latest|most recent|repeat|last)\b", re.I)
_EARLIER = re.compile(r"\b(earlier|former|first|initial|baseline|original|prior|index)\b", re.I)


_PURPOSE = re.compile(r"\b(?:started|prescribed|given|begun|initiated|introduced)\b.*?\bfor\s+(?!the patient\b)(.+?)\s*\??$", re.I)


def _after_for(text: str) -> int:
    """Where the purpose clause of a start sentence begins ("... was started on 2019-03-14 for ...")."""
    m = re.search(r"\bfor\b", text, re.I)
    return m.end() if m else len(text)


@register("anchored")
def anchored(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    if not a.dates or not a.real_options:
        return None
    ds = sorted(set(a.dates))
    if len(ds) == 1:
        anchor = ds[0]
    else:
        # the clause of the question that asks ("What did the later study show?") decides which date
        ask = re.split(r"(?<=[.;])\s+", a.question.strip())[-1]
        later, earlier = bool(_LATER.search(ask)), bool(_EARLIER.search(ask))
        if later == earlier:
            return None
        anchor = ds[-1] if later else ds[0]
    others = [d for d in ds if d != anchor]

    dated = sentence_dates(tools, pid)

    def on(day):
        return [(p, toks) for p, own, toks in dated if (p.note_date == day and not [d for d in own if d != day]) or day in own]

    here, there = on(anchor), [p for d in others for p in on(d)]
    if not here:
        return None
    # "started on March 14 for heart failure therapy": of two drugs started that day, the one started for that
    purpose = _PURPOSE.search(re.split(r"(?<=[.;])\s+", a.question.strip())[-1])
    pw = {t: tools.idf(pid, t) for t in content_tokens(purpose.group(1)) if t not in GENERIC} if purpose else {}
    scores, best_p = {}, {}
    for k, t in a.real_options.items():
        w = weights(tools, pid, t)
        cov = [(coverage(tools, pid, t, p.text, w, toks)
                + (0.2 * coverage(tools, pid, "", p.text[_after_for(p.text):], pw) if pw else 0.0), p) for p, toks in here]
        s, p = max(cov, key=lambda x: x[0]) if cov else (0.0, None)
        onums = [n[0] for n in find_numbers(t)]
        if onums and p is not None and not all(any(abs(n - m[0]) < 1e-6 for m in find_numbers(p.text)) for n in onums):
            s *= 0.6
        # an option that describes the other date's study better than this one is that study's finding
        s_other = max((coverage(tools, pid, t, q.text, w, toks) for q, toks in there), default=0.0)
        if s_other > s + 1e-9:
            s *= 0.5
        scores[k], best_p[k] = s, p
    choice = single_out(scores, 0.6)
    text = f"Passages dated {anchor.isoformat()} (the date the question asks about)"
    if choice:
        text += f" document: \"{best_p[choice].text}\"; matching option: {choice}"
    else:
        text += ": no option is clearly documented there"
    ps = [as_timeline(best_p[choice])] if choice else [as_timeline(p) for p, _ in here[:3]]
    return Computed("anchored", text, {"date": anchor, "choice": choice, "scores": scores}, ps, choice is not None)
