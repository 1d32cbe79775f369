"""The hallucination check: every answer is verified claim by claim against the evidence it cites.

Checks (each yields a ``Finding``): cited ids exist in the context; numbers with
units and calendar dates in the answer occur in the cited evidence after
normalisation; the answer's clinical terms occur in the cited evidence; the
assertion agrees (answering "has X" when the cited passage says "no X" fails).
An optional second LLM pass judges support. Anything unsupported makes the
answer ``unsupported``; the graph then retries once with broader retrieval and
abstains if it still fails.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from agent.context import SYSTEM_PROMPT, Context
from agent.records import Finding, Verification
from agent.understand import QuestionAnalysis, content_tokens, find_dates, find_numbers, stem

log = logging.getLogger(__name__)

# Pre-/post-negation triggers (NegEx style) used when the extractors' classifier is not installed.
_PRE_NEG = re.compile(
    r"\b(no|not|without|denie[sd]|deny|negative for|free of|absence of|absent|never|ruled out|rules out|"
    r"rule out|ruling out|excluded|excluding|neither|nor|no evidence of|no signs? of|unremarkable for)\b",
    re.I,
)
_POST_NEG = re.compile(r"^\W*(?:[A-Za-z0-9\-/]+\s+){0,3}?(?:was|were|is|are|has been|have been)?\s*(ruled out|excluded|negative|absent|not (?:seen|found|detected|present|given|administered|performed|started))\b", re.I)
_ANSWER_NEG = re.compile(r"\b(no|not|never|without|denies|absent|negative|ruled out)\b", re.I)


@dataclass
class Draft:
    """What a reasoner proposes before verification."""

    text: str
    choice: str | None = None
    evidence_ids: list[str] = field(default_factory=list)
    abstained: bool = False
    reason: str | None = None
    option_verdicts: dict[str, str] = field(default_factory=dict)
    option_scores: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    computed_answer: bool = False  # the value came from a computed (timeline) result


class AssertionChecker:
    """Is a mention negated in its sentence? The extractors' classifier when installed, NegEx-style rules otherwise."""

    def __init__(self) -> None:
        self._clf = None
        self._tried = False

    def _classifier(self):
        if not self._tried:
            self._tried = True
            try:
                from extractors.assertion import AssertionClassifier

                self._clf = AssertionClassifier()
                if hasattr(self._clf, "warm_up"):
                    self._clf.warm_up()
            except Exception as e:  # layer not there yet or failed to load: fall back to rules
                log.info("assertion classifier unavailable (%s); using trigger rules", e)
                self._clf = None
        return self._clf

    def negated(self, sentence: str, start: int, end: int) -> bool:
        clf = self._classifier()
        if clf is not None:
            try:
                res = clf.classify(sentence, start, end)
                a = getattr(res, "assertion", res)
                return str(getattr(a, "value", a)).lower() == "absent"
            except Exception as e:
                log.debug("assertion classifier failed: %s", e)
        before = sentence[max(0, start - 60):start]
        # only triggers in the same clause count
        clause = re.split(r"[,;:\n]|\.\s|\bbut\b|\bhowever\b|\bexcept\b|\bwith\b|\band\b", before)[-1]
        if _PRE_NEG.search(clause):
            return True
        return bool(_POST_NEG.search(sentence[end:end + 40]))

    def phrase_negated(self, sentence: str, terms) -> bool | None:
        """Is the phrase (its content stems) negated where the sentence mentions it?  The mention is the densest
        window of the phrase's words ("the right breast ..., ruling out contralateral breast cancer": the second
        "breast", not the first); None when no word of it occurs."""
        stems = set(terms)
        ws = [(m.start(), m.end(), stem(m.group(0).lower())) for m in re.finditer(r"[A-Za-z][A-Za-z0-9\-/+']*", sentence)]
        best = None
        for i, (s, e, t) in enumerate(ws):
            if t not in stems:
                continue
            got = {x[2] for x in ws[i:i + len(stems) + 2] if x[2] in stems}
            if best is None or len(got) > best[0]:
                best = (len(got), s, e)
        if best is None:
            return None
        if self.negated(sentence, best[1], best[2]):
            return True
        # explicit triggers in the phrase's own clause ("..., ruling out a lung abscess") that a statistical
        # classifier may miss
        clause = re.split(r"[,;:\n]|\.\s|\bbut\b|\bhowever\b|\band\b", sentence[max(0, best[1] - 60):best[1]])[-1]
        return bool(_PRE_NEG.search(clause))

    def term_negated(self, sentence: str, token_stems: set[str]) -> bool | None:
        """True/False for the first answer term found in the sentence; None when none is found."""
        for m in re.finditer(r"[A-Za-z][A-Za-z0-9\-/+']*", sentence):
            if stem(m.group(0).lower()) in token_stems:
                return self.negated(sentence, m.start(), m.end())
        return None




def _num_match(a: tuple, b: tuple) -> bool:
    (va, ua, _), (vb, ub, _) = a, b
    if abs(va - vb) > 1e-6:
        return False
    return ua is None or ub is None or ua == ub


class Verifier:
    """``run(draft, context, analysis) -> Verification``; ``llm`` enables the optional judge pass."""

    def __init__(self, llm=None, judge: bool = False, min_entity_support: float = 0.6):
        self.llm = llm
        self.judge = judge and llm is not None
        self.min_entity_support = min_entity_support
        self.assertions = AssertionChecker()

    def run(self, draft: Draft, ctx: Context, analysis: QuestionAnalysis) -> Verification:
        if draft.abstained:
            return Verification(status="abstained", reason=draft.reason or "the record does not document this",
                                findings=[Finding(check="abstain", claim=draft.text, status="skipped",
                                                  detail=draft.reason or "")])
        findings: list[Finding] = []
        known = ctx.ids()
        valid = []
        for ref in draft.evidence_ids:
            if ref in known:
                valid.append(ref)
                findings.append(Finding(check="citation", claim=ref, status="supported", detail="id is in the context"))
            else:
                findings.append(Finding(check="citation", claim=ref, status="unsupported",
                                        detail="cited id does not exist in the context (fabricated citation)"))
        if not draft.evidence_ids:
            findings.append(Finding(check="citation", claim="(none)", status="unsupported", detail="the answer cites no evidence"))
        texts = [ctx.text_of(r) for r in valid]
        passages = [ctx.passages[e] for r in valid for e in ctx.evidence_of(r)]
        cited = "\n".join(texts + [p.text for p in passages])
        answer = draft.text

        # numbers with units
        cited_nums = find_numbers(cited)
        q_nums = find_numbers(analysis.question)
        for num in find_numbers(answer):
            ok = any(_num_match(num, c) for c in cited_nums)
            if not ok and any(_num_match(num, q) for q in q_nums):
                findings.append(Finding(check="number", claim=num[2], status="skipped", detail="repeats the question"))
                continue
            findings.append(Finding(check="number", claim=num[2], status="supported" if ok else "unsupported",
                                    detail="found in the cited evidence" if ok else "not found in the cited evidence"))

        # dates
        cited_dates = {d for d, _ in find_dates(cited)} | {p.note_date for p in passages if p.note_date}
        for d, surface in find_dates(answer):
            ok = d in cited_dates
            findings.append(Finding(check="date", claim=surface, status="supported" if ok else "unsupported",
                                    detail=f"{d.isoformat()} {'found' if ok else 'not found'} in the cited evidence"))

        # clinical terms
        terms = [t for t in dict.fromkeys(content_tokens(answer)) if not t[0].isdigit() and len(t) >= 3]
        if analysis.kind == "negation" and draft.choice and terms:
            # "which was NOT ...? -> X": X must not be asserted in the cited evidence (which shows the others)
            stems = set(terms)
            positive = [p for p in passages if len(stems & set(content_tokens(p.text))) / len(stems) >= 0.6
                        and not self.assertions.phrase_negated(p.text, terms)]
            findings.append(Finding(
                check="entity", claim=", ".join(terms[:12]), status="contradicted" if positive else "supported",
                detail=(f"the cited passage {positive[0].note_id} {positive[0].start}-{positive[0].end} asserts it"
                        if positive else "not asserted in the cited evidence (which documents the other options)"),
            ))
            return self._status(findings + ([self._judge(answer, valid, ctx, analysis)] if self.judge else []))
        if terms and not draft.computed_answer:
            cited_tokens = set(content_tokens(cited))
            hit = [t for t in terms if t in cited_tokens]
            frac = len(hit) / len(terms)
            missing = [t for t in terms if t not in cited_tokens]
            findings.append(Finding(
                check="entity", claim=", ".join(terms[:12]),
                status="supported" if frac >= self.min_entity_support else "unsupported",
                detail=f"{len(hit)}/{len(terms)} answer terms in the cited evidence"
                       + (f"; missing: {', '.join(missing[:8])}" if missing else ""),
            ))

        # assertion agreement: every clinical term shared by the answer and a cited passage must have the same
        # polarity in both ("no X" in the note vs "X" in the answer fails)
        if terms and passages and not draft.computed_answer:
            flip = analysis.kind == "negation"  # "which was NOT given? -> X" asserts that X was not given
            checked = False
            # terms the question itself names ("the head CT") are the subject, not the claim: their polarity
            # in a restated answer sentence says nothing about what the answer asserts
            subject = set(analysis.keywords or [])
            claim_terms = [t for t in terms if t not in subject] or terms
            for p in passages:
                shared = [t for t in claim_terms if t in set(content_tokens(p.text)) and len(t) >= 4]
                for t in shared:
                    na = self.assertions.term_negated(answer, {t})
                    npass = self.assertions.term_negated(p.text, {t})
                    if na is None or npass is None:
                        continue
                    checked = True
                    if (na != flip) != npass:
                        findings.append(Finding(
                            check="assertion", claim=t, status="contradicted",
                            detail=f"the answer says '{t}' is {'absent' if na != flip else 'present'}; the cited passage "
                                   f"({p.note_id} {p.start}-{p.end}) says {'absent/negated' if npass else 'present'}",
                        ))
                        break
                else:
                    continue
                break
            if checked and not any(f.check == "assertion" for f in findings):
                findings.append(Finding(check="assertion", claim=answer[:80], status="supported",
                                        detail="assertions agree with the cited evidence"))

        if self.judge:
            findings.append(self._judge(answer, valid, ctx, analysis))
        return self._status(findings)

    @staticmethod
    def _status(findings: list[Finding]) -> Verification:
        bad = [f for f in findings if f.status in ("unsupported", "contradicted")]
        if not bad:
            return Verification(status="verified", findings=findings)
        hard = [f for f in bad if f.check in ("citation", "number", "date", "assertion", "judge")]
        good = [f for f in findings if f.status == "supported" and f.check != "citation"]
        if hard or not good:
            reason = "; ".join(f"{f.check} '{f.claim}': {f.detail}" for f in (hard or bad)[:3])
            return Verification(status="unsupported", findings=findings, reason=reason)
        reason = "; ".join(f"{f.check}: {f.detail}" for f in bad[:3])
        return Verification(status="partial", findings=findings, reason=reason)

    def _judge(self, answer: str, refs: list[str], ctx: Context, analysis: QuestionAnalysis) -> Finding:
        schema = {"type": "object", "properties": {"supported": {"type": "boolean"}, "reason": {"type": "string"}},
                  "required": ["supported", "reason"]}
        ev = "\n".join(f"{r}: {ctx.text_of(r)}" for r in refs)
        msgs = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"EVIDENCE:\n{ev}\n\nQUESTION: {analysis.question}\nANSWER: {answer}\n"
                                            "Is every claim of the ANSWER supported by the EVIDENCE? JSON."}]
        try:
            r = self.llm.chat(msgs, json_schema=schema, max_tokens=80, temperature=0, seed=0)
            ok = bool((r.parsed or {}).get("supported"))
            return Finding(check="judge", claim=answer[:80], status="supported" if ok else "unsupported",
                           detail=str((r.parsed or {}).get("reason", ""))[:200])
        except Exception as e:
            return Finding(check="judge", claim=answer[:80], status="skipped", detail=f"judge unavailable: {e}")
