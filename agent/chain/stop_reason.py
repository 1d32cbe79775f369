"""Why a named drug was stopped or switched: the cause given in that drug's stop / switch sentences.

Asked when the question names a drug, a stop or a switch, and options that are not drugs ("which adverse effect
led to the switch away from X", "why was X discontinued", "X was withdrawn because of what?").
"""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens
from agent.chain.common import (GENERIC, weights, coverage, as_timeline, single_out, sentence_dates, register, named,
                                typed_share)

_CAUSE = re.compile(r"\b(?:because of|due to|owing to|secondary to|on account of|in view of|after developing)\s+|\(", re.I)
_STOP_OR_SWITCH = re.compile(r"\b(stopp|discontinu|ceased|withdrawn|switched|replaced|changed|held)\w*", re.I)


@register("stop_reason")
def stop_reason(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    drugs = named(intent, "drug")
    if (not a.real_options or not drugs or not {"stop", "replace"} & set(intent.relations)
            or typed_share(a.real_options, "drug") >= 0.5):
        return None
    dw = {t for t in content_tokens(drugs[0]) if t not in GENERIC}
    if not dw:
        return None
    reasons = []  # (cause text, passage)
    for p, _own, toks in sentence_dates(tools, pid):
        if not dw <= toks:
            continue
        stop = _STOP_OR_SWITCH.search(p.text)
        if not stop:
            continue
        cause = _CAUSE.search(p.text, stop.end())
        if cause:
            reasons.append((p.text[cause.end():], p))
    if not reasons:
        return None
    scores, where = {}, {}
    for k, t in a.real_options.items():
        w = weights(tools, pid, t)
        best = max(((coverage(tools, pid, t, r, w), p) for r, p in reasons), key=lambda x: x[0])
        scores[k], where[k] = best
    choice = single_out(scores, 0.6)
    if choice:
        text = f"Stopped / switched because of: \"{where[choice].text.strip()}\"; the cause named: option {choice}"
        ps = [as_timeline(where[choice])]
    else:
        text = "The stop / switch sentences name no single option as the cause: " + "; ".join(
            f"\"{p.text.strip()}\"" for _, p in reasons[:3])
        ps = [as_timeline(p) for _, p in reasons[:3]]
    return Computed("stop_reason", text, {"choice": choice, "scores": scores}, ps, choice is not None)
