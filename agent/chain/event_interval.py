"""The interval between two events the question names, each dated from the record, computed in code.

Asked as an interval with two ends ("how many days after the biopsy was she admitted", "days between the CTPA
and the follow-up CT", "what separated the banding from the second EVL session"): each end is dated by
``Toolbox.event_date`` (its own sentence's date, the one written nearest its mention, else the note's date) and
the option that states the difference in days, weeks or months is the answer when both dates are written in
their sentences. The verifier re-derives it from the two cited dates.
"""
from __future__ import annotations

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.chain.common import as_timeline, option_for_days, register


@register("event_interval")
def event_interval(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    if intent.asked != "interval" or not a.real_options or not a.pair or not all(a.pair):
        return None
    ends = [tools.event_date(pid, phrase) for phrase in a.pair]
    if any(e is None for e in ends):
        return None
    (day_a, p_a, how_a), (day_b, p_b, how_b) = ends
    if p_a.key == p_b.key and day_a == day_b:
        return None  # both ends read from one sentence and one date: the events were not told apart
    days = abs((day_b - day_a).days)
    # an end dated only by its note's date (a note written days after the event) is an estimate: it is shown,
    # never the answer, since interval options are often a day or two apart
    choice = option_for_days(a.real_options, days) if "note date" not in (how_a, how_b) else None
    text = (f"{days} day(s) from {a.pair[0]} ({day_a.isoformat()}, {how_a}: \"{p_a.text.strip()}\") to {a.pair[1]} "
            f"({day_b.isoformat()}, {how_b}: \"{p_b.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no option states that interval"))
    return Computed("event_interval", text, {"days": days, "choice": choice, "a_date": day_a, "b_date": day_b},
                    [as_timeline(p_a), as_timeline(p_b)], choice is not None)
