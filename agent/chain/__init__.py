"""Multi-step (multi-document) answers resolved in code from the notes and the timeline.

One module per resolver, registered by name (``common.register``); ``ORDER`` says which runs first.
Each resolver looks at the question's *shape* (what it asks for), follows the chain through dated note
sentences, and returns a ``Computed`` fact with the option it singles out (or none) plus the exact note spans
it used, so the extractive and the LLM paths both see the same computed evidence:

* ``anchored``   -- a question that names a date ("the follow-up CT on 27 Sep 2017: what did it show?") is
                     answered from the passages dated that day (note date or in-sentence date), not from the
                     whole record; with two dates "later/follow-up" / "earlier/baseline" picks the anchor.
* ``dose_path``  -- "how did the dose of X change": the drug's dose history (start dose, "from A to B"
                     changes) in date order, compared with each option's direction and numbers.
* ``replacement``-- "which drug replaced ...": switch sentences ("A was switched to B", "replaced A with B",
                     "stopped A and started B", "B instead of A") give (from, to); the one linked to the
                     question's other terms (the adverse event) wins.
* ``indication`` -- "what was that medication prescribed for": the adverse event's onset is dated, the
                     medication started last before it is found, and its indication ("started ... for Y")
                     is the option.
* ``cycle_count`` -- "how many cycles of X": treatment cycles are numbered in the notes ("Cycle 4 of CAPOX was
                     administered", "after 4 cycles of X"); the count is the highest cycle given, not the
                     number of notes that happen to mention one (a cycle without its own note still counts),
                     and planned / postponed cycles do not.
* ``explicit_absence`` -- "which symptom did the patient deny / what was ruled out": the option the notes
                     mention negated ("denies dysuria"), not one they never mention.
* ``stop_reason`` -- "which adverse effect led to the switch away from X / X being stopped": the sentences
                     that stop or switch X give the cause ("because of ACE-inhibitor-associated dry cough",
                     "X - stopped 09/15/2015 (Achilles tendinopathy)"); the option the cause names is the answer.
* ``exam_finding`` -- "which examination showed X" with options "<exam> on <date>": each option is matched to
                     the report of that exam on that date (the note's heading names the exam, its date is the
                     note's or written there) and to sentences elsewhere that name that date; the option whose
                     passages state X (negated findings only where the sentence is negated too) is the answer.
* ``onset_interval`` -- "how many days after starting X did Y begin": X's start date (its start sentence), and
                     Y's onset told as a duration or a date in the note that diagnoses Y ("restlessness since
                     Mar 27" in the visit where "X was switched ... because of X-induced akathisia"); the
                     symptom is often described in other words than the diagnosis, so the onset sentence is
                     found through the note that links X and Y. Onsets before X's start are another episode.
"""
from __future__ import annotations
from __future__ import annotations

import logging

from agent.tools import Computed, Toolbox
from agent.chain.common import KINDS, RESOLVERS, Resolver, register
# importing a resolver's module registers it
from agent.chain import (anchored, cycle_count, dose_path, exam_finding, explicit_absence,  # noqa: F401
                         indication, onset_interval, replacement, stop_reason)

log = logging.getLogger(__name__)

# The narrowest question shapes first: the first resolver that singles out an option ends the chain, and the
# date-anchored one matches any question with a date in it, so it comes last.
ORDER = ("onset_interval", "cycle_count", "exam_finding", "stop_reason", "dose_path", "replacement", "indication",
         "explicit_absence", "anchored")
# the kinds of the facts the resolvers emit: a documented one singles out the answer (agent.reason)
CHAIN_KINDS = frozenset(KINDS.values())


def chain_answers(tools: Toolbox, pid: str, a, assertions=None, order: tuple[str, ...] = ORDER) -> list[Computed]:
    """Every resolver whose question shape fits; the first one that singles out an option comes first."""
    out = []
    for name in order:
        try:
            c = RESOLVERS[name](tools, pid, a, assertions)
        except Exception:  # a resolver must never stop the answer
            log.warning("chain resolver %s failed on %r", name, a.question, exc_info=True)
            c = None
        if c is not None:
            out.append(c)
            if c.documented:
                break
    return out


__all__ = ["CHAIN_KINDS", "ORDER", "RESOLVERS", "Resolver", "chain_answers", "register"]
