"""Answers "Which adverse effect led to the switch away from X": the cause in X's stop / switch sentences."""
from __future__ import annotations

import re

from agent.tools import Computed, Toolbox
from agent.understand import content_tokens
from agent.chain.common import GENERIC, weights, coverage, as_timeline, single_out, sentence_dates, register

_ASK_STOP_REASON = re.compile(
    r"\b(?:adverse (?:effect|event|reaction|drug reaction)|side[- ]effect|complication|reason|why|cause)\b.*?"
    r"\b(?:switch(?:ed|ing)? away from|switch(?:ed|ing)? from|chang\w* from|stop(?:ped|ping)?|discontinu\w*|"
    r"withdraw\w*|cessation of|replacement of|replac\w*)\s+(?:the\s+)?(.+?)\s*(?:\?|$|\b(?:was|to|in|on)\b)", re.I)
_CAUSE = re.compile(r"\b(?:because of|due to|owing to|secondary to|on account of|in view of|after developing)\s+|\(", re.I)
_STOP_OR_SWITCH = re.compile(r"\b(stopp|discontinu|ceased|withdrawn|switched|replaced|changed|held)\w*", re.I)


@register("stop_reason")
def stop_reason(tools: Toolbox, pid: str, a, assertions=None) -> Computed | None:
    m = _ASK_STOP_REASON.search(a.question)
    if not m or not a.real_options:
        return None
    dw = {t for t in content_tokens(m.group(1)) if t not in GENERIC}
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
