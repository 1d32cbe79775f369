"""Answers "What was that medication prescribed for": AE onset -> drug started last before it -> its indication."""
from __future__ import annotations

import re

from agent.tools import Computed, Toolbox, _CUE_WORDS
from agent.understand import content_tokens
from agent.chain.common import GENERIC, coverage, sent_date, as_timeline, register

_ASK_INDICATION = re.compile(r"\b(prescribed|given|started|indicat|used|taken|ordered)\w*\s+for\s*\?|\bindication\b|"
                             r"\bwhy was\b|\breason for (?:starting|prescribing)", re.I)
_AE_CUE = re.compile(r"\b(?:developed|experienced|suffered|had|presented with|complained of)\s+(?:an?\s+|the\s+)?"
                     r"(.+?)\s+(?:after|following|since|while|when|on)\b", re.I)


@register("indication")
def indication(tools: Toolbox, pid: str, a, assertions=None) -> Computed | None:
    if not _ASK_INDICATION.search(a.question) or not a.real_options:
        return None
    m = _AE_CUE.search(a.question)
    if not m:
        return None
    ae = m.group(1)
    onset = tools.event_date(pid, f"onset of {ae}")
    if onset is None:
        return None
    day = onset[0]
    start_rx = re.compile(_CUE_WORDS["start"], re.I)
    cands = []  # (start date, letter, passage)
    for k, t in a.real_options.items():
        for p in tools.lexical(pid, t, k=12):
            if p.score < 0.75 or not start_rx.search(p.text) or not re.search(r"\bfor\b", p.text, re.I):
                continue
            # the option must be what the drug is *for*: after "for" in the start sentence
            tail = p.text[re.search(r"\bfor\b", p.text, re.I).end():]
            if coverage(tools, pid, t, tail) < 0.75:
                continue
            d = sent_date(p)
            if d is not None and d <= day:
                cands.append((d, k, p))
    if not cands:
        return None
    cands.sort(key=lambda x: x[0])
    last = cands[-1]
    tied = [(k, p) for d, k, p in cands if d == last[0]]
    if len({k for k, _ in tied}) > 1:
        # several medications started that day: the one a note names together with the adverse event
        # ("Ciprofloxacin - stopped Mar 19 (Achilles tendinopathy)", "X-induced ...") is its cause
        ae_t = {t for t in content_tokens(ae) if t not in GENERIC}
        sents = [set(toks) for toks in tools._patient(pid)[5]]
        link = {}
        for k, p in tied:
            cue = start_rx.search(p.text)
            drug_t = {t for t in content_tokens(p.text[:cue.start()]) if not t[0].isdigit()} - GENERIC
            link[k] = sum(1 for toks in sents if toks & drug_t and toks & ae_t)
        best_k = max(link, key=lambda k: link[k])
        if link[best_k] > 0 and sum(1 for v in link.values() if v == link[best_k]) == 1:
            last = next((d, k, p) for d, k, p in cands if k == best_k and d == last[0])
            tied = [(best_k, last[2])]
    rivals = {k for k, _ in tied}
    choice = last[1] if len(rivals) == 1 else None
    text = (f"Onset of {ae}: {day.isoformat()} ({onset[2]}); the medication started last before it "
            f"({last[0].isoformat()}): \"{last[2].text}\"" + (f"; its indication: option {choice}" if choice else ""))
    return Computed("indication", text, {"onset": day, "started": last[0], "choice": choice},
                    [as_timeline(onset[1]), as_timeline(last[2])], choice is not None)
