"""The indication of the drug behind an adverse event: AE onset -> drug started last before it -> its indication.

Asked as a reason (indication) that names a problem but no particular drug, with options that are not drugs
("the patient developed X after a new medication: what was it prescribed for?", "why was the drug that
caused X started?").
"""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox, _CUE_WORDS
from agent.understand import content_tokens
from agent.chain.common import GENERIC, coverage, sent_date, as_timeline, register, named, typed_share



@register("indication")
def indication(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    opt_words = {t for v in a.real_options.values() for t in content_tokens(v)}
    events = [e for e in named(intent, "problem") if not set(content_tokens(e)) <= opt_words]
    if (intent.asked != "reason" or not a.real_options or not events or named(intent, "drug")
            or typed_share(a.real_options, "drug") >= 0.5):
        return None
    ae = events[0]
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
