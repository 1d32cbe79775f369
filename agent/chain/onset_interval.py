"""The interval from a drug's start to a problem's onset: X's start sentence to Y's onset in the note naming Y.

Asked as an interval that names a drug and a problem ("how many days after starting X did Y begin", "the delay
between the first dose of X and the onset of Y"), whatever the wording: the intent's slots, not a template.
"""
from __future__ import annotations

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.chain.common import GENERIC, as_timeline, named, option_for_days, register


@register("onset_interval")
def onset_interval(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    drugs, events = named(intent, "drug"), named(intent, "problem", "other")
    if intent.asked != "interval" or not a.real_options or not drugs or not events or "stop" in intent.relations:
        return None
    drug, event = drugs[0], events[0]
    start = tools.event_date(pid, f"start of {drug}")
    if start is None:
        return None
    start_day, start_p = start[0], start[1]
    found = tools.onset_date(pid, event, drug=drug, not_before=start_day, ignore=GENERIC)
    if found is None:
        return None
    onset_day, onset_p, how = found
    days = (onset_day - start_day).days
    choice = option_for_days(a.real_options, days)
    text = (f"{days} day(s) from the start of {drug} ({start_day.isoformat()}: \"{start_p.text.strip()}\") to the onset "
            f"of {event} ({onset_day.isoformat()}, {how}: \"{onset_p.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no option states that interval"))
    return Computed("onset_interval", text, {"days": days, "choice": choice, "start": start_day, "onset": onset_day},
                    [as_timeline(start_p), as_timeline(onset_p)], choice is not None)
