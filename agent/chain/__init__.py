"""Typed queries that answer multi-step (multi-document) questions in code from the notes and the timeline.

One module per query, registered by name (``common.register``); ``ORDER`` says which runs first. Each query is
selected by the question's typed intent (``agent.records.Intent``: what is asked, the entities named and their
types, the relations named, negation) and by what the options are (drugs, problems, exams on dates, numbers with
a direction), never by a question's wording. It follows the chain through dated note sentences and returns a
``Computed`` fact with the option it singles out (or none) plus the exact note spans it used, so the extractive
and the LLM paths both see the same computed evidence, which the verifier re-checks:

* ``anchored``   -- a question that names a date is answered from the passages dated that day (note date or
                     in-sentence date); with two dates "later/follow-up" / "earlier/baseline" picks the anchor.
* ``dose_path``  -- options that state a dose change: the drug's dose history (start dose, "from A to B"
                     changes) in date order, compared with each option's direction and numbers.
* ``replacement``-- a replacement asked with drug options: switch sentences ("A was switched to B", "replaced A
                     with B", "stopped A and started B", "B instead of A") give (from, to); the one linked to the
                     question's other terms (the adverse event) wins.
* ``indication`` -- a reason asked about a named problem but no particular drug: the problem's onset is dated,
                     the medication started last before it is found, and its indication ("started ... for Y") is
                     the option.
* ``cycle_count`` -- a count of treatment cycles: the highest cycle given ("Cycle 4 of CAPOX was administered",
                     "after 4 cycles of X"), not the number of notes that mention one; planned / postponed cycles
                     do not count.
* ``explicit_absence`` -- a negated question (denied, ruled out, not given): the option the notes mention negated
                     ("denies dysuria"), not one they never mention.
* ``stop_reason`` -- a stop or switch of a named drug asked with non-drug options: the sentences that stop or
                     switch it give the cause ("because of ACE-inhibitor-associated dry cough", "X - stopped
                     09/15/2015 (Achilles tendinopathy)").
* ``exam_finding`` -- options "<exam> on <date>": each option is matched to the report of that exam on that date
                     (the note's heading names the exam, its date is the note's or written there) and to sentences
                     elsewhere that name that date; the option whose passages state the finding (negated findings
                     only where the sentence is negated too) is the answer.
* ``onset_interval`` -- an interval asked between a named drug and a named problem: the drug's start date (its
                     start sentence) and the problem's onset told as a duration or a date in the note that
                     diagnoses it ("restlessness since Mar 27" in the visit where "X was switched ... because of
                     X-induced akathisia"). Onsets before the start are another episode.
* ``event_interval`` -- an interval asked between any two events the question names (a procedure and an
                     admission, two scans, an infusion and a lab draw): each dated from the record by its own
                     sentence, the difference computed in code.
"""
from __future__ import annotations
from __future__ import annotations

import logging

from agent.intent import shared_parser
from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.chain.common import KINDS, RESOLVERS, Resolver, register
# importing a resolver's module registers it
from agent.chain import (anchored, cycle_count, dose_path, event_interval, exam_finding,  # noqa: F401
                         explicit_absence, indication, onset_interval, replacement, stop_reason)

log = logging.getLogger(__name__)

# The narrowest queries first: the first one that singles out an option ends the chain, and the date-anchored one
# fits any question with a date in it, so it comes last.
ORDER = ("onset_interval", "event_interval", "cycle_count", "exam_finding", "stop_reason", "dose_path", "replacement", "indication",
         "explicit_absence", "anchored")
# the kinds of the facts the resolvers emit: a documented one singles out the answer (agent.reason)
CHAIN_KINDS = frozenset(KINDS.values())


def chain_answers(tools: Toolbox, pid: str, a, intent: Intent | None = None, assertions=None,
                  order: tuple[str, ...] = ORDER) -> list[Computed]:
    """Every query whose intent fits, in ``order``; one that singles out an option ends the chain."""
    intent = intent if intent is not None else shared_parser().run(a.question, a.real_options or None)
    out = []
    for name in order:
        try:
            c = RESOLVERS[name](tools, pid, a, intent, assertions)
        except Exception:  # a resolver must never stop the answer
            log.warning("chain resolver %s failed on %r", name, a.question, exc_info=True)
            c = None
        if c is not None:
            out.append(c)
            if c.documented:
                break
    return out


__all__ = ["CHAIN_KINDS", "ORDER", "RESOLVERS", "Resolver", "chain_answers", "register"]
