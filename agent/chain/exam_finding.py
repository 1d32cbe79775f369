"""Answers "Which examination showed F" with options '<exam> on <date>': that exam's report on that date."""
from __future__ import annotations

import re

from agent.tools import Computed, Toolbox
from agent.understand import content_tokens, find_dates
from agent.chain.common import coverage, as_timeline, single_out, sentence_dates, register

_ASK_EXAM = re.compile(
    r"\bwhich\s+(?:\w+\s+)?(?:examination|exam|study|imaging|scan|investigation|test|procedure|report)s?\s+"
    r"(?:showed|shows|revealed|demonstrated|found|detected|documented|confirmed|identified|described)\s+(.+?)\??\s*$", re.I)
_NEG_CUE = re.compile(r"\b(no|not|without|negative for|free of|absence of|absent|ruled? out)\b", re.I)
_EXAM_GENERIC = frozenset(content_tokens("examination exam study report imaging scan follow up"))


@register("exam_finding")
def exam_finding(tools: Toolbox, pid: str, a, assertions=None) -> Computed | None:
    m = _ASK_EXAM.search(a.question)
    if not m or not a.real_options:
        return None
    finding = m.group(1)
    fw = {t: tools.idf(pid, t) for t in content_tokens(finding)}
    if not fw:
        return None
    negated = bool(_NEG_CUE.search(finding))
    notes, foreign = tools.notes(pid), tools.foreign_notes(pid)
    dated = sentence_dates(tools, pid)
    scores, best_p = {}, {}
    for k, opt in a.real_options.items():
        days = {d for d, _ in find_dates(opt)}
        if len(days) != 1:
            return None  # the shape this resolver knows: one exam on one date per option
        day = next(iter(days))
        exam = opt
        for _, surface in find_dates(opt):
            exam = exam.replace(surface, " ")  # "abdominal ultrasound on June 6, 2017" -> the exam's words
        ew = {t: tools.idf(pid, t) for t in content_tokens(exam) if t not in _EXAM_GENERIC and not t[0].isdigit()}
        best, bp = 0.0, None
        for p, own, toks in dated:
            if p.note_id in foreign:
                continue
            note = notes.get(p.note_id)
            head = note.text[:300] if note else ""
            in_report = bool(ew) and p.note_date == day and coverage(tools, pid, "", head, ew) >= 0.6
            named_here = day in own and (not ew or coverage(tools, pid, "", p.text, ew, toks) >= 0.5)
            if not (in_report or named_here):
                continue
            cov = coverage(tools, pid, "", p.text, fw, toks)
            if negated != bool(_NEG_CUE.search(p.text)):
                cov *= 0.3  # "no evidence of recurrence" is not shown by a sentence describing recurrence
            if cov > best:
                best, bp = cov, p
        scores[k], best_p[k] = best, bp
    ranked = sorted(scores, key=lambda k: -scores[k])
    choice = single_out(scores, 0.7)
    if choice:
        text = f"The report of {a.real_options[choice]} states: \"{best_p[choice].text.strip()}\"; matching option: {choice}"
        ps = [as_timeline(best_p[choice])]
    else:
        text = "No single examination's report clearly states the finding"
        ps = [as_timeline(best_p[k]) for k in ranked[:2] if best_p[k] is not None]
    return Computed("exam_finding", text, {"choice": choice, "scores": scores}, ps, choice is not None)
