"""Reasoning over the assembled context: the extractive backend and the LLM backends.

Extractive: no generative model. Each option (or, for open questions, each passage)
is scored by how much of it the evidence covers (IDF-weighted stems, numbers must
match, negated mentions count against it); intervals, counts and orders are picked
from the values the timeline computed.

LLM: one call per question. The model gives a verdict for each candidate option
("supported" / "contradicted" / "not_documented", with the evidence ids of a supported
one; JSON schema) over only the evidence the tools selected, and the verdicts are
combined with the extractive scores and the computed facts, so a model that picks by
position or calls everything supported cannot decide the letter. The prompt opens with
what is the same for all of a patient's questions (system prompt, the patient's note
index) so llama.cpp's / vLLM's prefix cache reuses it; the question comes last. The
model never does date arithmetic.
"""
from __future__ import annotations

import logging
import re

from agent.chain import CHAIN_KINDS
from agent.context import SYSTEM_PROMPT, Context, ContextBuilder
from agent.tools import Passage, Toolbox
from agent.understand import (DAYS_PER_UNIT, QuestionAnalysis, content_tokens, find_dates, find_numbers, hyphen_parts,
                              value_token, value_tokens)
from agent.verify import AssertionChecker, Draft

log = logging.getLogger(__name__)

NOT_DOCUMENTED = "Not documented: the patient's record does not answer this question."
SUPPORT_MIN = 0.5  # below this an option is "not documented" by the evidence
ABSTAIN_BELOW = 0.42  # best option below this -> abstain (when allowed)
VALUE_MATCH = 0.8  # weight of an option's number matched by value only, in another written form
JUDGE_MIN = 0.3  # options with less lexical evidence than this are not sent to the LLM judge

VERDICTS = ("supported", "contradicted", "not_documented")
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "not_documented": {"type": "boolean"},
        "answer": {"type": "string"},
        "evidence_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
    },
    "required": ["not_documented", "answer", "evidence_ids"],
}


def verdicts_schema(letters: list[str], evidence_ids: list[str]) -> dict:
    """One verdict per option letter, with at most two of the shown evidence ids (generation is the slow part
    on a CPU: up to ~25 tokens per option)."""
    ids = {"type": "string", "enum": list(evidence_ids)} if evidence_ids else {"type": "string"}
    item = {"type": "object",
            "properties": {"verdict": {"type": "string", "enum": list(VERDICTS)},
                           "evidence_ids": {"type": "array", "items": ids, "maxItems": 2}},
            "required": ["verdict", "evidence_ids"], "additionalProperties": False}
    return {"type": "object", "properties": {k: item for k in letters}, "required": list(letters),
            "additionalProperties": False}


def choice_schema(letters: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "string", "enum": [*letters, "none"]},
            "answer": {"type": "string"},
            "evidence_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        },
        "required": ["choice", "answer", "evidence_ids"],
    }


def _days(value: float, unit: str | None) -> float | None:
    """A duration in days ("3 weeks" -> 21); None for non-duration units."""
    return value * DAYS_PER_UNIT[unit] if unit in DAYS_PER_UNIT else None


class OptionScorer:
    """How well one passage supports one option (or a free query), in [0, 1]."""

    def __init__(self, tools: Toolbox, assertions: AssertionChecker):
        self.tools = tools
        self.assertions = assertions

    def score(self, pid: str, option: str, passage: Passage, q_tokens: set[str]) -> tuple[float, bool]:
        """(support, negated): coverage of the option's terms, numbers checked, question relevance as a bonus."""
        o = set(content_tokens(option))
        if not o:
            return 0.0, False
        ptoks = set(content_tokens(passage.text))
        # a hyphenated word covers its parts and is covered by them ("tension-type" / "tension type")
        ptoks |= {x for _, parts in hyphen_parts(passage.text) for x in parts}
        ptoks |= {t for t, parts in hyphen_parts(option) if all(x in ptoks for x in parts)}
        w = {t: self.tools.idf(pid, t) for t in o}
        total = sum(w.values()) or 1.0
        # a number or unit is covered by value, however either text writes it ("150/70" by "one fifty over
        # seventy", "20 mg" by "twenty milligrams"), a little below the same written form, so that of a note's
        # "600 mg" and its dialogue's "600 milligrams" the form the option uses is cited
        ovals = value_tokens(option)  # a unit word counts by value only where the option gives it a number
        by_value = ovals & value_tokens(passage.text) if ovals else set()
        cov = sum(v if t in ptoks else VALUE_MATCH * v if value_token(t) in by_value else 0.0
                  for t, v in w.items()) / total
        onums = [n for n in find_numbers(option)]
        if onums:
            pnums = find_numbers(passage.text)
            pdates = {d for d, _ in find_dates(passage.text)}
            miss = [n for n in onums if not any(abs(n[0] - m[0]) < 1e-6 and (n[1] is None or m[1] is None or n[1] == m[1]) for m in pnums)]
            odates = [d for d, _ in find_dates(option)]
            if odates and not all(d in pdates or d == passage.note_date for d in odates):
                cov *= 0.5
            elif miss:
                cov *= 0.6
        # question relevance also counts the note's heading ("Admission note", "Discharge letter") so that
        # "on admission" / "at discharge" pick the right one of two otherwise equal passages
        ctx_toks = ptoks | self.tools.note_heading_tokens(pid, passage.note_id)
        qrel = len(q_tokens & ctx_toks) / len(q_tokens) if q_tokens else 0.0
        shared = {t for t in o if t in ptoks and not t[0].isdigit()}
        negated = False
        if shared:
            p_neg = bool(self.assertions.term_negated(passage.text, shared))
            o_neg = bool(self.assertions.term_negated(option, shared))
            negated = p_neg != o_neg  # the option's polarity disagrees with the passage ("X" vs "no X")
        return 0.8 * cov + 0.2 * qrel, negated


class ExtractiveReasoner:
    """Deterministic, model-free answers picked from the evidence and the computed facts."""

    name = "extractive"

    def __init__(self, tools: Toolbox, assertions: AssertionChecker | None = None):
        self.tools = tools
        self.assertions = assertions or AssertionChecker()
        self.scorer = OptionScorer(tools, self.assertions)

    # -- per option -------------------------------------------------------------------------------
    def judge_options(self, a: QuestionAnalysis, ctx: Context) -> dict[str, tuple[float, str, str | None]]:
        """letter -> (score, verdict, best evidence id)."""
        qt = set(a.keywords)
        out = {}
        for letter, text in a.real_options.items():
            best = (0.0, False, None)
            for eid, p in ctx.passages.items():
                s, neg = self.scorer.score(ctx.patient_id, text, p, qt)
                if s > best[0] + 1e-9:
                    best = (s, neg, eid)
            s, neg, eid = best
            verdict = "contradicted" if (neg and s >= SUPPORT_MIN) else ("supported" if s >= SUPPORT_MIN else "not_documented")
            out[letter] = (s, verdict, eid)
        return out

    def run(self, a: QuestionAnalysis, ctx: Context) -> Draft:
        if a.multiple_choice:
            return self._choose(a, ctx, self.judge_options(a, ctx))
        return self._open(a, ctx)

    # -- multiple choice ------------------------------------------------------------------------
    def _choose(self, a: QuestionAnalysis, ctx: Context, judged: dict, llm_verdicts: dict | None = None) -> Draft:
        verdicts = {k: v[1] for k, v in judged.items()}
        scores = {k: v[0] for k, v in judged.items()}
        if llm_verdicts:
            for k, v in llm_verdicts.items():
                verdicts[k] = v
                scores[k] = scores.get(k, 0.0) + {"supported": 0.25, "contradicted": -0.25}.get(v, -0.1)
        computed = self._computed_choice(a, ctx)
        if computed is not None:
            return self.draft_for(a, ctx, judged, computed[0], verdicts, scores)
        opts = a.real_options
        if a.kind == "negation":
            # the option the record does NOT support (or explicitly negates) is the answer
            ranked = sorted(opts, key=lambda k: (verdicts[k] != "contradicted", scores[k]))
            letter = ranked[0]
            others_supported = sum(1 for k in opts if k != letter and verdicts[k] == "supported")
            if others_supported == 0 and a.allow_abstain and verdicts[letter] != "contradicted":
                return self._abstain(a, "no option is documented, so none can be singled out as the exception", verdicts, scores)
            return self.draft_for(a, ctx, judged, letter, verdicts, scores)
        if a.kind == "order" and a.direction:
            supported = [k for k in opts if verdicts[k] == "supported"]
            if len(supported) >= 2:
                dated = [(self._option_date(ctx, judged[k][2]), k) for k in supported]
                dated = [(d, k) for d, k in dated if d is not None]
                if len(dated) >= 2:
                    dated.sort()
                    letter = dated[0][1] if a.direction == "first" else dated[-1][1]
                    return Draft(a.options[letter], letter, [judged[letter][2]], option_verdicts=verdicts,
                                 option_scores=scores, reason=f"{a.direction} by the dates of the supporting passages")
        # rank by the combined score (evidence coverage + the model's per-option verdict), never by position;
        # options tied on the same passage are split by which one the question's predicate points at
        slot = self._slot_distances(a, ctx, judged, scores)
        letter = max(opts, key=lambda k: (round(scores[k], 2), -slot.get(k, 10**6), -ord(k)))
        ext = judged[letter][0]
        llm_ok = bool(llm_verdicts) and llm_verdicts.get(letter) == "supported" and ext >= 0.3
        best = scores[letter]
        ranked = sorted(scores.values(), reverse=True)
        if ((ext < ABSTAIN_BELOW and not llm_ok) or judged[letter][1] == "contradicted") and a.allow_abstain:
            return self._abstain(a, f"no option is supported by the evidence (best {letter}: {best:.2f})", verdicts, scores)
        d = self.draft_for(a, ctx, judged, letter, verdicts, scores)
        d.reason = None if len(ranked) < 2 or ranked[0] - ranked[1] > 0.05 else "close call between options"
        return d

    def draft_for(self, a: QuestionAnalysis, ctx: Context, judged: dict, letter: str, verdicts: dict | None = None,
                  scores: dict | None = None) -> Draft:
        """The answer ``letter`` with the citations the agent gives it: the computed result that picked it, the
        passages documenting the other options for a negation question, else the option's best passage. Also
        what ``evals.verifier`` forces for every option to attack the verifier."""
        verdicts = verdicts if verdicts is not None else {k: v[1] for k, v in judged.items()}
        scores = scores if scores is not None else {k: v[0] for k, v in judged.items()}
        computed = self._computed_choice(a, ctx)
        if computed is not None and computed[0] == letter:
            _, cid, eids = computed
            return Draft(a.options[letter], letter, [cid, *eids], option_verdicts=verdicts, option_scores=scores,
                         computed_answer=True)
        eid = judged[letter][2]
        if a.kind == "negation":
            # cite the passages that document the other options (they show what WAS the case)
            cites = [judged[k][2] for k in a.real_options if k != letter and verdicts[k] == "supported" and judged[k][2]]
            if verdicts[letter] == "contradicted" and eid:
                cites.insert(0, eid)
            return Draft(a.options[letter], letter, list(dict.fromkeys(cites))[:4], option_verdicts=verdicts,
                         option_scores=scores, reason="negation: the option the evidence does not support")
        cites = [eid] if eid else []
        from agent.claims import answer_parts

        parts = answer_parts(a.options[letter])
        qt = set(a.keywords)
        for part in parts:
            if len(parts) >= 2:  # a composite answer cites the best passage of each part
                got = max(((self.scorer.score(ctx.patient_id, part, p, qt)[0], e) for e, p in ctx.passages.items()),
                          default=(0.0, None))
                if got[1] and got[0] >= SUPPORT_MIN and got[1] not in cites:
                    cites.append(got[1])
            stating = self._stating(a, ctx, part, cites)
            if stating is not None:
                cites.append(stating)
        return Draft(a.options[letter], letter, cites[:5], option_verdicts=verdicts, option_scores=scores)

    def _stating(self, a: QuestionAnalysis, ctx: Context, answer: str, cites: list[str]) -> str | None:
        """The passage whose clause states ``answer`` (most of its words, all its numbers and dates), when none of
        ``cites`` does: the passage most like the option is not always the one that says it ("we had put you on
        the prozac last year" next to an assessment that names Prozac without a date). Ties go to the passage
        that scores higher for the option. A bare value (a date, a number) counts only in a sentence that shares a
        word with the question, and a date only where the sentence writes it."""
        from agent.claims import build_claim, locate
        from agent.intent import shared_parser
        from agent.verify import STATED

        claim = build_claim(a.question, answer, shared_parser().run(a.question, a.options or None))
        if not claim.checkable:
            return None

        asked = set(a.keywords)

        def coverage(p: Passage) -> float:
            loc = locate(claim, p.text, p.note_date)
            if loc is None:
                return 0.0
            sentence = p.text[loc.sentence[0]:loc.sentence[1]]
            if not claim.value_terms and not asked & set(content_tokens(sentence)):
                return 0.0  # a bare date or number is written everywhere: its sentence must be about the question
            if claim.dates and not set(claim.dates) <= {d for d, _ in find_dates(sentence)}:
                return 0.0  # any sentence of a note "states" the note's own date: the date must be written here
            return loc.coverage

        have = max((coverage(ctx.passages[e]) for e in cites if e in ctx.passages), default=0.0)
        if have >= STATED:
            return None
        ranked = sorted(((coverage(p), self.scorer.score(ctx.patient_id, answer, p, asked)[0], e)
                         for e, p in ctx.passages.items() if e not in cites), reverse=True)
        return ranked[0][2] if ranked and ranked[0][0] >= STATED and ranked[0][0] > have else None

    @staticmethod
    def _slot_distances(a: QuestionAnalysis, ctx: Context, judged: dict, scores: dict) -> dict[str, int]:
        """For options whose best passage is shared with another option at (nearly) the same score: characters from
        the nearest question word to the option's first word after it ("switched to X": X answers "switched to?")."""
        top = max(scores.values()) if scores else 0.0
        tied = [k for k in scores if top - scores[k] <= 0.02 and judged[k][2]]
        if len(tied) < 2 or len({judged[k][2] for k in tied}) != 1:
            return {}
        text = ctx.passages[judged[tied[0]][2]].text
        low = text.lower()
        q_pos = [m.start() for m in re.finditer(r"[a-z][a-z0-9\-]+", low)
                 if content_tokens(m.group(0)) and content_tokens(m.group(0))[0] in set(a.keywords)]
        out = {}
        for k in tied:
            o_pos = [m.start() for m in re.finditer(r"[a-z][a-z0-9\-/]+", low)
                     if content_tokens(m.group(0)) and content_tokens(m.group(0))[0] in set(content_tokens(a.options[k]))]
            fwd = [o - q for o in o_pos for q in q_pos if o > q]
            out[k] = min(fwd) if fwd else 10**6
        return out

    def _abstain(self, a: QuestionAnalysis, reason: str, verdicts=None, scores=None) -> Draft:
        return Draft(NOT_DOCUMENTED, a.abstain_option, [], abstained=True, reason=reason,
                     option_verdicts=verdicts or {}, option_scores=scores or {})

    @staticmethod
    def _option_date(ctx: Context, eid: str | None):
        if not eid:
            return None
        p = ctx.passages[eid]
        ds = find_dates(p.text)
        return ds[0][0] if ds else p.note_date

    @staticmethod
    def _computed_choice(a: QuestionAnalysis, ctx: Context):
        """The option equal to a computed interval / count (code arithmetic, never the model's)."""
        for cid, c, eids in ctx.computed:
            # a multi-step chain resolved for this question's shape (agent.chain) outranks generic timeline picks
            if c.documented and c.kind in CHAIN_KINDS and isinstance(c.value, dict) and c.value.get("choice") in a.real_options:
                return c.value["choice"], cid, eids
        for cid, c, eids in ctx.computed:
            if not c.documented or c.value is None:
                continue
            if c.kind == "interval" and a.kind == "interval":
                days = c.value["days"]
                best, bd = None, None
                for k, text in a.real_options.items():
                    for v, u, _ in find_numbers(text):
                        d = _days(v, u)
                        if d is None:
                            continue
                        tol = {"d": 0.5, None: 0.5, "wk": 3.6, "mo": 16, "y": 183}[u]
                        diff = abs(d - abs(days))
                        if diff <= tol and (bd is None or diff < bd):
                            best, bd = k, diff
                if best:
                    return best, cid, eids
            if c.kind == "lab_answer" and c.value.get("choice") in a.real_options:
                return c.value["choice"], cid, eids
            if c.kind == "order" and a.kind == "order" and c.value.get("choice") in a.real_options:
                # the option whose event(s) the timeline dates first / last / in the right sequence
                return c.value["choice"], cid, eids
            if c.kind == "order" and a.kind == "order" and a.direction and c.value.get("letters"):
                items = c.value["items"]
                if items:
                    it = items[0] if a.direction == "first" else items[-1]
                    letter = c.value["letters"].get(it["query"])
                    if letter in a.real_options:
                        return letter, cid, eids
            if c.kind == "lab_series" and a.kind == "trend" and c.value.get("trend"):
                words = {"increasing": r"\b(increas|rise|rose|rising|elevat|higher|went up|worsen)",
                         "decreasing": r"\b(decreas|fell|fall|declin|drop|lower|went down|normali[sz]|improv)",
                         "unchanged": r"\b(stable|unchanged|constant|no change|remained)"}
                rx = re.compile(words[c.value["trend"]], re.I)
                hits = [k for k, text in a.real_options.items() if rx.search(text)]
                if len(hits) == 1:
                    return hits[0], cid, eids
            if c.kind == "count" and a.kind == "count":
                n = c.value["count"]
                hits = [k for k, text in a.real_options.items() if any(abs(v - n) < 1e-6 for v, _, _ in find_numbers(text))]
                if len(hits) == 1:
                    return hits[0], cid, eids
        return None

    # -- open questions -----------------------------------------------------------------------------
    def _open(self, a: QuestionAnalysis, ctx: Context) -> Draft:
        for cid, c, eids in ctx.computed:
            if c.documented and c.kind in ("interval", "count", "order", "first", "last", "lab_series") and (
                c.kind == a.kind or (a.kind == "order" and c.kind in ("first", "last"))
                or (a.kind == "trend" and c.kind == "lab_series")
                or (a.kind == "lookup" and a.temporal and c.kind in ("first", "last"))
            ):
                return Draft(c.text, None, [cid, *eids], computed_answer=True)
        if a.kind == "yesno":
            pres = [(fid, eid) for fid, r, eid in ctx.facts if r.assertion == "present" and r.experiencer == "patient"]
            neg = [(fid, eid) for fid, r, eid in ctx.facts if r.assertion == "absent" and r.experiencer == "patient"]
            if pres:
                return Draft("Yes. " + ctx.passages[pres[0][1]].text, None, [pres[0][1]])
            if neg:
                return Draft("No. " + ctx.passages[neg[0][1]].text, None, [neg[0][1]])
        qt = set(a.keywords)
        best, beid = 0.0, None
        for eid, p in ctx.passages.items():
            s, _ = self.scorer.score(ctx.patient_id, a.question, p, qt)
            if s > best:
                best, beid = s, eid
        if beid is None or best < 0.3:
            if a.allow_abstain:
                return self._abstain(a, "no passage in the record matches the question")
        if beid is None:
            return Draft(NOT_DOCUMENTED, None, [], abstained=True, reason="no evidence at all")
        quote = ctx.passages[beid].text
        if a.kind == "yesno":
            terms = {t for t in content_tokens(" ".join(a.concepts)) if not t[0].isdigit()}
            neg = self.assertions.term_negated(quote, terms)
            if neg is not None:
                return Draft(("No. " if neg else "Yes. ") + quote, None, [beid])
        return Draft(quote, None, [beid], reason=None if best >= 0.5 else "weak match")


class LLMReasoner:
    """Answers through an ``agent.llm`` client with JSON-schema output: one call per question over the evidence
    the tools selected (``max_passages`` passages, ``max_chars`` characters of note text at most, besides what a
    computed result or an option's best match cites)."""

    def __init__(self, llm, tools: Toolbox, assertions: AssertionChecker | None = None, max_tokens: int = 160,
                 seed: int = 0, max_judged: int = 3, max_passages: int = 8, max_chars: int = 3000):
        self.llm = llm
        self.max_judged = max_judged
        self.max_passages = max_passages
        self.max_chars = max_chars
        self.extractive = ExtractiveReasoner(tools, assertions)
        self.max_tokens = max_tokens
        self.seed = seed

    @property
    def name(self) -> str:
        return getattr(self.llm, "model", None) or "llm"

    def _chat(self, draft: Draft, messages, schema, max_tokens=None):
        r = self.llm.chat(messages, json_schema=schema, max_tokens=max_tokens or self.max_tokens, temperature=0, seed=self.seed)
        draft.prompt_tokens += int(getattr(r, "prompt_tokens", 0) or 0)
        draft.completion_tokens += int(getattr(r, "completion_tokens", 0) or 0)
        parsed = getattr(r, "parsed", None)
        if parsed is None:
            import json

            try:
                parsed = json.loads(r.text)
            except Exception:
                parsed = {}
        return parsed if isinstance(parsed, dict) else {}

    @staticmethod
    def _prefix(ctx: Context) -> list[dict]:
        """Collapsed mode: the system prompt and the raw notes (the question follows as its own message)."""
        return [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": "CONTEXT:\n" + ContextBuilder.render_collapsed(ctx)}]

    @staticmethod
    def messages(ctx: Context, eids: list[str], task: str) -> list[dict]:
        """Stable prefix first: the system prompt, then the per-patient block, then this question's evidence and
        the question itself last."""
        return [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": "\n\n".join((ctx.render_patient(), "CONTEXT:\n" + ctx.render_selected(eids),
                                                          task))}]

    def select(self, a: QuestionAnalysis, ctx: Context, texts: list[str], best: list[str | None]) -> list[str]:
        """The evidence to show: what computed results cite and each option's best passage (``best``), then
        passages by their best support for any of ``texts`` (the options judged, or the question)."""
        must = [e for _, _, eids in ctx.computed for e in eids] + [e for e in best if e]
        qt = set(a.keywords)
        rel = {eid: max((self.extractive.scorer.score(ctx.patient_id, t, p, qt)[0] for t in texts), default=0.0)
               for eid, p in ctx.passages.items()}
        return ctx.select_evidence(must, rel, self.max_passages, self.max_chars)

    def run(self, a: QuestionAnalysis, ctx: Context) -> Draft:
        if ctx.mode == "collapsed":
            return self._collapsed(a, ctx)
        tally = Draft("")
        if a.multiple_choice:
            judged = self.extractive.judge_options(a, ctx)
            verdicts: dict[str, str] = {}
            cites: dict[str, list[str]] = {}
            if self.extractive._computed_choice(a, ctx) is None:
                # options without any evidence are not documented by construction; the model judges the
                # plausible ones (at most ``max_judged``; the two best even when the lexical evidence is weak)
                ranked = sorted(a.real_options, key=lambda k: -judged[k][0])
                to_judge = [k for k in ranked if judged[k][0] >= JUDGE_MIN][: self.max_judged] or ranked[:2]
                if a.kind == "negation":
                    to_judge = ranked  # the answer is the one option without support: every option needs a verdict
                to_judge.sort()  # listed in letter order, as the question gives them
                texts = [a.real_options[k] for k in to_judge]
                eids = self.select(a, ctx, texts, [judged[k][2] for k in to_judge if judged[k][0] >= JUDGE_MIN])
                msgs = self.messages(ctx, eids, self.judge_prompt(a, {k: a.real_options[k] for k in to_judge}))
                parsed = self._chat(tally, msgs, verdicts_schema(to_judge, eids), max_tokens=26 * len(to_judge) + 4)
                for letter in to_judge:
                    got = parsed.get(letter) if isinstance(parsed.get(letter), dict) else {}
                    v = got.get("verdict")
                    verdicts[letter] = v if v in VERDICTS else "not_documented"
                    cites[letter] = [e for e in got.get("evidence_ids") or [] if isinstance(e, str) and e in eids]
            draft = self.extractive._choose(a, ctx, judged, llm_verdicts=verdicts or None)
            draft.model_chose = bool(verdicts) and not draft.computed_answer and not draft.abstained
            if draft.choice and not draft.computed_answer and cites.get(draft.choice) and verdicts.get(draft.choice) == "supported":
                draft.evidence_ids = list(dict.fromkeys(draft.evidence_ids + cites[draft.choice]))[:5]
        else:
            draft = self._open(a, ctx, tally)
        draft.prompt_tokens += tally.prompt_tokens
        draft.completion_tokens += tally.completion_tokens
        return draft

    @staticmethod
    def judge_prompt(a: QuestionAnalysis, options: dict[str, str]) -> str:
        """The question put to the model: a verdict on each listed option, each judged on its own. For a negation
        question ("Which drug was NOT given?") the model judges whether the record documents each option, never
        the NOT question: asked that, small models read "not given" as "not documented" and abstain; the
        exception is then found in code (``ExtractiveReasoner._choose``), as for the extractive backend."""
        listing = "\n".join(f"{k}. {v}" for k, v in options.items())
        if a.kind == "negation":
            return (f"CLAIMS: the CONTEXT documents each of these for this patient (given, taken, prescribed, "
                    f"performed, found or diagnosed):\n{listing}\nJudge each claim on its own against the CONTEXT. "
                    "verdict = supported (the context states it), contradicted (the context negates it: denied, ruled "
                    "out, absent, not given) or not_documented (not mentioned); evidence_ids = the E ids that state "
                    "it. JSON only.")
        return (f"QUESTION: {a.question}\nCANDIDATE ANSWERS:\n{listing}\nJudge each candidate on its own against "
                "the CONTEXT. verdict = supported (the evidence states it as the answer), contradicted (the evidence "
                "says otherwise or negates it) or not_documented; evidence_ids = the E ids that state it. JSON only.")

    def _open(self, a: QuestionAnalysis, ctx: Context, tally: Draft) -> Draft:
        computed = [(cid, c, e) for cid, c, e in ctx.computed if c.documented and c.kind in ("interval", "count")]
        if computed and a.kind in ("interval", "count"):
            return self.extractive._open(a, ctx)  # numbers come from the timeline, not from the model
        task = (f"QUESTION: {a.question}\nAnswer briefly from the CONTEXT only, cite the E ids you used. "
                "If the context does not answer it, set not_documented to true. JSON only.")
        if ctx.mode == "collapsed":
            msgs = self._prefix(ctx) + [{"role": "user", "content": task}]
        else:
            msgs = self.messages(ctx, self.select(a, ctx, [a.question], []), task)
        parsed = self._chat(tally, msgs, ANSWER_SCHEMA, max_tokens=self.max_tokens)
        ans = str(parsed.get("answer") or "").strip()
        eids = [e for e in parsed.get("evidence_ids", []) if isinstance(e, str)]
        if parsed.get("not_documented") or not ans:
            if a.allow_abstain:
                return Draft(NOT_DOCUMENTED, None, [], abstained=True, reason="the model found no supporting evidence")
        if ans and not any(e in ctx.ids() for e in eids):
            # the model answered without a usable citation: attach the passage that best covers the answer;
            # the verifier still checks every claim against it
            scored = [(self.extractive.scorer.score(ctx.patient_id, ans, p, set())[0], eid) for eid, p in ctx.passages.items()]
            scored = [x for x in scored if x[0] >= 0.5]
            if scored:
                eids = [max(scored)[1]]
        return Draft(ans, None, eids)

    def _collapsed(self, a: QuestionAnalysis, ctx: Context) -> Draft:
        """Baseline: one call over the raw notes with all options listed (what the stack is compared with)."""
        tally = Draft("")
        if a.multiple_choice:
            opts = "\n".join(f"{k}. {v}" for k, v in a.options.items())
            msgs = self._prefix(ctx) + [{"role": "user", "content": (
                f"QUESTION: {a.question}\nOPTIONS:\n{opts}\nPick the option the notes support ('none' if none), "
                "restate it as answer and cite the E ids. JSON only.")}]
            parsed = self._chat(tally, msgs, choice_schema(list(a.options)), max_tokens=self.max_tokens)
            ch = parsed.get("choice")
            eids = [e for e in parsed.get("evidence_ids", []) if isinstance(e, str)]
            if ch in a.options:
                d = Draft(a.options[ch], ch, eids, model_chose=True)
            else:
                d = Draft(NOT_DOCUMENTED, None, [], abstained=True, reason="the model chose none")
        else:
            d = self._open(a, ctx, tally)
        d.prompt_tokens += tally.prompt_tokens
        d.completion_tokens += tally.completion_tokens
        return d
