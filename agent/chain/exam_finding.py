"""Which examination showed a finding, with options '<exam> on <date>': that exam's report on that date.

Asked when every option is one exam on one date; the finding is what the question says beyond the exam nouns
and the verbs of showing ("which study demonstrated X", "X was reported on:", "identify the exam documenting X").
"""
from __future__ import annotations

import re

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens, find_dates
from agent.chain.common import coverage, as_timeline, single_out, sentence_dates, register, cues

_NEG_CUE = re.compile(r"\b(no|not|without|negative for|free of|absence of|absent|ruled? out)\b", re.I)


def _exam_on_date(option: str) -> bool:
    """One date, and words besides it that name the exam."""
    dates = find_dates(option)
    if len({d for d, _ in dates}) != 1:
        return False
    rest = option
    for _, surface in dates:
        rest = rest.replace(surface, " ")
    return bool([t for t in content_tokens(rest) if not t[0].isdigit()])


def report_head(text: str) -> str:
    """A report's heading: the lines before its findings that name its examination ("Examination: Abdominal
    ultrasound", "CT chest 12.03.2023:")."""
    return text[:300]


def finding_terms(question: str) -> list[str]:
    """The finding a "which examination showed X" question asks about: its words beyond the exam nouns, the verbs
    of showing and the instruction words."""
    plain = set(cues()["exam_nouns"]) | set(cues()["show_verbs"]) | set(cues()["instruction_words"])
    return content_tokens(" ".join(w for w in re.findall(r"[\w/-]+", question) if w.lower() not in plain))


def exam_terms(option: str) -> list[str]:
    """The words of an option '<exam> on <date>' that name the exam (not its date, not a generic exam noun)."""
    exam_generic = frozenset(content_tokens(" ".join(cues()["exam_nouns"])))
    for _, surface in find_dates(option):
        option = option.replace(surface, " ")  # "abdominal ultrasound on June 6, 2017" -> the exam's words
    return [t for t in content_tokens(option) if t not in exam_generic and not t[0].isdigit()]


def exam_options(options: dict[str, str]) -> bool:
    """Is every option one examination on one date (the shape this query knows)?"""
    return bool(options) and all(_exam_on_date(o) for o in options.values())


def asks_finding(question: str) -> bool:
    """Does the question ask which examination showed something (a verb of showing: "showed", "revealed",
    "documented"), not which one was done or missed?"""
    verbs = {w.lower() for w in cues()["show_verbs"]}
    return any(w.lower() in verbs for w in re.findall(r"[A-Za-z]+", question))


@register("exam_finding")
def exam_finding(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    if not exam_options(a.real_options):
        return None
    fw = {t: tools.idf(pid, t) for t in finding_terms(a.question)}
    if not fw:
        return None
    negated = intent.negated or bool(_NEG_CUE.search(a.question))
    notes, foreign = tools.notes(pid), tools.foreign_notes(pid)
    dated = sentence_dates(tools, pid)
    scores, best_p = {}, {}
    for k, opt in a.real_options.items():
        day = find_dates(opt)[0][0]
        ew = {t: tools.idf(pid, t) for t in exam_terms(opt)}
        best, bp = 0.0, None
        for p, own, toks in dated:
            if p.note_id in foreign:
                continue
            note = notes.get(p.note_id)
            head = report_head(note.text) if note else ""
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
