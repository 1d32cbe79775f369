"""Answers "How many days after starting X did Y begin": X's start sentence to Y's onset in the note naming Y."""
from __future__ import annotations

import re

from agent.tools import Computed, Toolbox
from agent.understand import find_numbers
from agent.chain.common import GENERIC, as_timeline, register

_ASK_ONSET = re.compile(
    r"\bhow (?:many|long)\s+(days?|weeks?|months?)?\s*(?:after|following)\s+(?:starting|the start of|initiation of|"
    r"initiating|beginning|commencing|the first dose of)\s+(.+?)\s+(?:did|was|were|had)\s+(?:the\s+|an?\s+)?(.+?)\s+"
    r"(?:begin|start|develop|appear|occur|first appear|set in|manifest|emerge)\w*\b", re.I)
@register("onset_interval")
def onset_interval(tools: Toolbox, pid: str, a, assertions=None) -> Computed | None:
    m = _ASK_ONSET.search(a.question)
    if not m or not a.real_options:
        return None
    drug, event = m.group(2).strip(), m.group(3).strip()
    start = tools.event_date(pid, f"start of {drug}")
    if start is None:
        return None
    start_day, start_p = start[0], start[1]
    found = tools.onset_date(pid, event, drug=drug, not_before=start_day, ignore=GENERIC)
    if found is None:
        return None
    onset_day, onset_p, how = found
    days = (onset_day - start_day).days
    choice = None
    for k, t in a.real_options.items():
        for v, u, _ in find_numbers(t):
            per = {"d": 1.0, None: 1.0, "wk": 7.0, "mo": 30.44}.get(u)
            if per is not None and abs(v * per - days) <= (0.5 if per == 1.0 else per / 2):
                choice = k if choice is None else (choice if choice == k else "ambiguous")
    if choice == "ambiguous":
        choice = None
    text = (f"{days} day(s) from the start of {drug} ({start_day.isoformat()}: \"{start_p.text.strip()}\") to the onset "
            f"of {event} ({onset_day.isoformat()}, {how}: \"{onset_p.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no option states that interval"))
    return Computed("onset_interval", text, {"days": days, "choice": choice, "start": start_day, "onset": onset_day},
                    [as_timeline(start_p), as_timeline(onset_p)], choice is not None)
