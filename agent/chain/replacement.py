"""Which drug replaced another: switch sentences give (from, to); the one linked to the question wins.

Asked when the question names a replacement and the options are drugs ("which drug replaced ...", "what was X
switched to", "the successor to the agent blamed for Y").
"""
from __future__ import annotations

import datetime as dt
import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens
from agent.chain.common import GENERIC, sent_date, as_timeline, DIRECTION, register, typed_share, drug_term

# (cue, which side of the cue is the new drug)
_SWITCH = [(re.compile(r"\b(?:switched|changed|converted|rotated)\s+(?:over\s+)?(?:to|for)\b", re.I), "after"),
           (re.compile(r"\breplaced\s+(?:by|with)\b", re.I), "after"),
           (re.compile(r"\b(?:started|begun|initiated|commenced)\b", re.I), "after_stop"),
           (re.compile(r"\b(?:instead of|in place of|as a replacement for|to replace)\b", re.I), "before")]


@register("replacement")
def replacement(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    if "replace" not in intent.relations or not a.real_options or typed_share(a.real_options, "drug") < 0.5:
        return None
    opt_rx = {k: re.compile(r"\b" + re.escape(drug_term(t)) + r"\b", re.I) for k, t in a.real_options.items() if t.strip()}
    rest = {t for t in content_tokens(a.question) if t not in GENERIC}
    found = []  # (linked, date, new letter, old letter, passage)
    for p in tools.sentences(pid):
        pos = {k: [m.start() for m in rx.finditer(p.text) if not p.text[m.end():m.end() + 1] == "-"]
               for k, rx in opt_rx.items()}
        pos = {k: v for k, v in pos.items() if v}
        if len(pos) < 2:
            continue
        for cue, side in _SWITCH:
            m = cue.search(p.text)
            if not m:
                continue
            if side == "after_stop" and not DIRECTION["stop"].search(p.text[:m.start()]):
                continue
            after = sorted((min(x for x in v if x >= m.end()), k) for k, v in pos.items() if any(x >= m.end() for x in v))
            before = sorted((max(x for x in v if x < m.start()), k) for k, v in pos.items() if any(x < m.start() for x in v))
            if not after or not before:
                continue
            new, old = (after[0][1], before[-1][1]) if side != "before" else (before[-1][1], after[0][1])
            if new == old:
                continue
            near = set(content_tokens(p.text)) | {t for q in tools.neighbors(pid, p, 1) for t in content_tokens(q.text)}
            linked = len(rest & near)
            found.append((linked, sent_date(p) or dt.date.min, new, old, p))
            break
    if not found:
        return None
    found.sort(key=lambda x: (-x[0], x[1]))
    best = found[0]
    rivals = {f[2] for f in found if f[0] == best[0]}
    choice = best[2] if len(rivals) == 1 else None
    text = (f"Switch documented: {a.real_options[best[3]]} -> {a.real_options[best[2]]} (\"{best[4].text}\")"
            + (f"; the replacing drug: option {choice}" if choice else "; several switches, none singled out"))
    return Computed("replacement", text, {"old": best[3], "new": best[2], "choice": choice},
                    [as_timeline(best[4])], choice is not None)
