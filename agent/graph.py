r"""The agent as a LangGraph ``StateGraph``.

    understand -> route -> <family> -(nothing documented)-> lookup -> gather -> assemble -> reason -> verify -+
                                  \______________(documented)______________/   ^                             |
                                                                               +------ broaden <-------------+
    verify -> finalize -> END            (broaden: unsupported, first attempt only)

``understand`` reads the question (``QuestionAnalyzer``) and its typed ``Intent`` (``IntentParser``); ``route``
resolves the named concepts in the graph and picks, by conditional edge, the tool family the intent asks for
(``tool_family``: medication, timeline, labs, absence, count, or ``lookup``). A family node runs its typed
queries (``FAMILIES``: the multi-step queries of ``agent.chain``, timeline interval / order / first, lab
series and lab answers, negated facts, counts), each checking its own preconditions on the intent; when none
documents an answer, ``lookup`` runs every query the family did not. ``gather`` adds hybrid retrieval,
per-option searches and the concepts' graph facts; ``assemble`` builds the numbered context; ``reason``
drafts an answer; ``verify`` checks every claim; an unsupported draft gets one retry with broader retrieval,
then ``finalize`` abstains with the reason. Node updates stream through
``graph.stream(..., stream_mode="updates")``; ``evidence`` runs the nodes before ``reason`` the same way.
"""
from __future__ import annotations

import dataclasses
import operator
import re
import time
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agent.chain import CHAIN_KINDS, chain_answers
from agent.chain.common import change_direction, change_of, series_change, states_change
from agent.claims import is_frame_phrase
from agent.context import ContextBuilder
from agent.intent import IntentParser
from agent.records import Answer, Citation, FactUsed, FlaggedSentence, Verification
from agent.tools import Computed, FactRow, Passage, Toolbox
from agent.understand import QuestionAnalyzer
from agent.verify import Draft, Verifier


# The tool families, each a LangGraph node reached from ``route`` by the question's intent (``tool_family``); a
# family's typed queries run in this order, and ``lookup`` (the catch-all) runs every query a family did not.
CHAIN_STEPS = tuple(f"chain.{name}" for name in ("onset_interval", "event_interval", "cycle_count", "exam_finding",
                                                  "stop_reason", "dose_path", "replacement", "indication",
                                                  "explicit_absence", "anchored"))
FAMILIES: dict[str, tuple[str, ...]] = {
    "medication": ("chain.dose_path", "chain.stop_reason", "chain.replacement", "chain.indication",
                   "chain.onset_interval", "chain.anchored", "first"),
    "timeline": ("chain.onset_interval", "chain.event_interval", "interval", "order", "first", "chain.anchored"),
    "labs": ("lab_answer", "lab_series", "chain.exam_finding", "chain.dose_path", "chain.anchored"),
    "absence": ("negated_facts", "chain.explicit_absence"),
    "count": ("chain.cycle_count", "count"),
    "lookup": ("negated_facts", "interval", "order", "count", "lab_series", "lab_answer") + CHAIN_STEPS + ("first",),
}


_WH = re.compile(r"\b(?:which|what|who|whom|whose|when|where|why|how)\b", re.I)


def tool_family(intent, a) -> str:
    """The tool family a question's typed intent asks for (its node in the graph)."""
    rel = set(intent.relations)
    drug = any(e.type == "drug" for e in intent.entities)
    if intent.negated:
        return "absence"
    if intent.asked == "count":
        return "count"
    if intent.asked in ("dose", "reason") or (intent.asked == "trend" and drug) or rel & {"replace", "stop", "cause"}:
        return "medication"
    if intent.asked in ("test_result", "trend"):
        return "labs"
    if intent.asked in ("order", "interval", "date") or intent.time_role in ("first", "last"):
        return "timeline"
    return "lookup"


def _merge(a: dict, b: dict) -> dict:
    return {**(a or {}), **(b or {})}


def _add(a: dict, b: dict) -> dict:
    out = dict(a or {})
    for k, v in (b or {}).items():
        out[k] = out.get(k, 0) + v
    return out


class AgentState(TypedDict, total=False):
    patient_id: str
    question: str
    options: dict[str, str] | None
    allow_abstain: bool
    analysis: Any
    intent: Any  # agent.records.Intent: the typed slots (asked, entities, time role, experiencer, negated)
    resolved: dict[str, list[str]]
    plan: list[str]
    family: str  # the tool family the intent routed to (FAMILIES)
    ran: list[str]  # the typed queries run so far
    tool_facts: list[FactRow]  # facts the typed queries selected (gather adds the retrieved ones)
    attempt: int
    passages: list[Passage]
    facts: list[FactRow]
    computed: list[Computed]
    context: Any
    draft: Draft
    typed: dict[str, tuple[Draft, Verification]]  # every option's typed checks over the latest context (reason node)
    verification: Verification
    first_failure: str | None
    answer: Answer
    route: Annotated[list[str], operator.add]
    timings: Annotated[dict[str, float], _merge]
    tokens: Annotated[dict[str, int], _add]  # summed over attempts


class AgentGraph:
    """Holds the components; ``compiled`` is the runnable LangGraph graph."""

    def __init__(self, tools: Toolbox, reasoner, verifier: Verifier, builder: ContextBuilder | None = None,
                 mode: str = "stack", collapsed_chars: int = 12000, backend: str = "extractive", model: str | None = None,
                 intent_llm=None):
        self.tools = tools
        self.reasoner = reasoner
        self.verifier = verifier
        self.builder = builder or ContextBuilder()
        self.analyzer = QuestionAnalyzer()
        self.intents = IntentParser(intent_llm)
        self.mode = mode
        self.collapsed_chars = collapsed_chars
        self.backend = backend
        self.model = model
        self.compiled = self._build()

    def _build(self):
        g = StateGraph(AgentState)
        g.add_node("understand", self._timed("understand", self.understand))
        g.add_node("route", self._timed("route", self.route))
        for family in FAMILIES:
            if family != "lookup":
                g.add_node(family, self._timed(family, self._family_node(family)))
        g.add_node("lookup", self._timed("lookup", self.lookup))
        g.add_node("gather", self._timed("gather", self.gather))
        g.add_node("assemble", self._timed("assemble", self.assemble))
        g.add_node("reason", self._timed("reason", self.reason))
        g.add_node("verify", self._timed("verify", self.verify))
        g.add_node("broaden", self._timed("broaden", self.broaden))
        g.add_node("finalize", self._timed("finalize", self.finalize))
        g.add_edge(START, "understand")
        g.add_edge("understand", "route")
        g.add_conditional_edges("route", lambda s: "gather" if s["family"] == "collapsed" else s["family"],
                                {**{f: f for f in FAMILIES}, "gather": "gather"})
        for family in FAMILIES:
            if family != "lookup":
                g.add_conditional_edges(family, self._after_family, {"lookup": "lookup", "gather": "gather"})
        g.add_edge("lookup", "gather")
        g.add_edge("gather", "assemble")
        g.add_edge("assemble", "reason")
        g.add_edge("reason", "verify")
        g.add_conditional_edges("verify", self._after_verify, {"broaden": "broaden", "finalize": "finalize"})
        g.add_edge("broaden", "gather")
        g.add_edge("finalize", END)
        return g.compile()

    def evidence(self, patient_id: str, question: str, options: dict[str, str] | None = None) -> AgentState:
        """The state the reasoner would see (understand, route, the intent's tool family, lookup when that found
        nothing, gather, assemble), node by node as the graph runs them: evaluation scripts judge forced answers
        over exactly the agent's evidence."""
        s: dict = {"patient_id": patient_id, "question": question, "options": options, "allow_abstain": False}

        def step(fn) -> None:
            s.update({k: v for k, v in fn(s).items() if k not in ("route", "timings", "tokens")})

        step(self.understand)
        step(self.route)
        if s["family"] != "collapsed":
            step(self.lookup if s["family"] == "lookup" else self._family_node(s["family"]))
            if s["family"] != "lookup" and self._after_family(s) == "lookup":
                step(self.lookup)
        step(self.gather)
        step(self.assemble)
        return s

    @staticmethod
    def _timed(name: str, fn):
        def node(state: AgentState) -> dict:
            t0 = time.perf_counter()
            out = fn(state)
            key = name if state.get("attempt", 0) == 0 or name in ("understand", "route", *FAMILIES) else f"{name}_retry"
            out["timings"] = {key: time.perf_counter() - t0}
            return out

        return node

    # -- nodes ------------------------------------------------------------------------------------
    def understand(self, s: AgentState) -> dict:
        a = self.analyzer.run(s["question"], s.get("options"), s.get("allow_abstain", True))
        intent = self.intents.run(a.question, a.options or None)
        if intent.negated and a.multiple_choice and a.kind == "lookup" and not _WH.search(a.question):
            # "All of these were given except:" has no wh-word, which the analyzer's negation rule needs; the intent
            # reads the exception. (With a wh-word the analyzer decides: "Since X was not covered, what ...?")
            a = dataclasses.replace(a, kind="negation")
        return {"analysis": a, "intent": intent, "attempt": 0,
                "route": [f"understand:{a.kind}", f"intent:{intent.source}:{intent.asked}"
                          + (":negated" if intent.negated else "")]}

    def _resolve(self, pid: str, phrase: str) -> tuple[str, list[str]]:
        """The longest sub-phrase of ``phrase`` the graph resolves to concepts."""
        ws = phrase.split()
        for n in range(len(ws), 0, -1):
            for i in range(0, len(ws) - n + 1):
                sub = " ".join(ws[i:i + n])
                if len(sub) < 3:
                    continue
                keys = self.tools.resolve(pid, sub)
                if keys:
                    return sub, keys
        return phrase, []

    def route(self, s: AgentState) -> dict:
        """Resolve the question's concepts in the graph and pick the tool family its intent asks for."""
        a, pid = s["analysis"], s["patient_id"]
        if self.mode == "collapsed":
            return {"plan": ["notes.raw"], "resolved": {}, "family": "collapsed", "route": ["route:collapsed"]}
        resolved: dict[str, list[str]] = {}
        for c in a.concepts:
            if is_frame_phrase(c):
                continue  # "in total": a word of the question's frame, not a concept ("total protein")
            sub, keys = self._resolve(pid, c)
            if keys:
                resolved[sub] = keys
        family = tool_family(s["intent"], a)
        plan = [f"{family}.{step}" for step in FAMILIES[family] if _wanted(step, s["intent"], a)] + ["retrieve.hybrid"]
        if a.multiple_choice:
            plan.append("retrieve.per_option")
        if resolved:
            plan.append("graph.facts")
        return {"plan": plan, "resolved": resolved, "family": family, "ran": [], "computed": [], "tool_facts": [],
                "route": ["route:" + ",".join(plan)]}

    def _family_node(self, family: str):
        """A LangGraph node running the typed queries of one tool family (``FAMILIES``)."""
        def node(s: AgentState) -> dict:
            return self._run_steps(s, [x for x in FAMILIES[family] if x not in s.get("ran", [])], family)

        return node

    def _run_steps(self, s: AgentState, steps: list[str], label: str) -> dict:
        computed, facts, used = list(s.get("computed", [])), list(s.get("tool_facts", [])), []
        for step in steps:
            if step.startswith("chain.") and any(c.documented and c.kind in CHAIN_KINDS for c in computed):
                continue  # an option singled out by a multi-step query ends that chain
            got_c, got_f, note = self._step(step, s, computed)
            computed += got_c
            facts += got_f
            if note:
                used.append(note)
        return {"computed": computed, "tool_facts": facts, "ran": list(s.get("ran", [])) + steps,
                "route": [f"{label}:" + (",".join(used) or "nothing found")]}

    def _after_family(self, s: AgentState) -> str:
        """A family that documented nothing hands over to the general queries (``lookup``) before retrieval."""
        if s.get("family") in ("lookup", "collapsed") or any(c.documented for c in s.get("computed", [])):
            return "gather"
        return "lookup"

    def _step(self, step: str, s: AgentState, computed: list[Computed]) -> tuple[list[Computed], list[FactRow], str]:
        """One typed query over the graph / timeline / notes; each checks its own preconditions."""
        a, pid, intent, resolved = s["analysis"], s["patient_id"], s["intent"], s.get("resolved", {})
        if not _wanted(step, intent, a):
            return [], [], ""
        if step.startswith("chain."):
            if not (a.multiple_choice and self.mode == "stack"):
                return [], [], ""
            if any(c.kind == "lab_answer" and c.documented for c in computed):
                return [], [], ""
            got = chain_answers(self.tools, pid, a, intent, getattr(self.verifier, "assertions", None),
                                order=(step.split(".", 1)[1],))
            return got, [], ",".join(c.kind for c in got)
        if step == "negated_facts":
            facts = []
            for sub in list(resolved)[:4]:
                facts += self.tools.facts(pid, sub, assertion="absent", limit=6)
            for letter, text in a.real_options.items():
                _, keys = self._resolve(pid, text) if len(text.split()) <= 6 else (text, [])
                if keys:
                    facts += self.tools.facts(pid, keys[0], limit=4)
            return [], facts, "facts(absent)"
        if step == "interval" and a.pair:
            ra, _ = self._resolve(pid, a.pair[0])
            rb, _ = self._resolve(pid, a.pair[1])
            c = self.tools.interval(pid, ra, rb)
            if c is None or not c.documented:
                c = self.tools.interval_from_notes(pid, a.pair[0], a.pair[1]) or c
            return ([c], [], f"interval({ra},{rb})") if c is not None else ([], [], "")
        if step == "order":
            return self._order_step(s)
        if step == "count":
            out = [c for sub in list(resolved)[:1] for c in [self.tools.count(pid, sub)] if c is not None]
            return out, [], "count" if out else ""
        if step == "lab_series":
            return self._lab_series_step(s)
        if step == "lab_answer" and a.multiple_choice and self.mode == "stack":
            c = self._lab_answer(pid, a, intent)
            return ([c], [], "lab_answer") if c is not None else ([], [], "")
        if step == "first":
            out = [c for sub in list(resolved)[:2] for c in [self.tools.first_last(pid, sub, "first")]
                   if c is not None and c.documented]
            return out, [], "first" if out else ""
        return [], [], ""

    def _order_step(self, s: AgentState) -> tuple[list[Computed], list[FactRow], str]:
        a, pid, resolved = s["analysis"], s["patient_id"], s.get("resolved", {})
        direction = a.direction or ("last" if s["intent"].time_role == "last" else None)
        if a.multiple_choice and not a.dates:
            # (a question that names its own dates selects passages by them; it does not ask for an order)
            c = self._option_order(pid, a, direction)
            if c is not None:
                return [c], [], "order(options)"
        out, used = [], []
        letters = {}
        if a.multiple_choice:
            for letter, t in a.real_options.items():
                sub, keys = self._resolve(pid, t)
                if keys and sub not in letters:
                    letters[sub] = letter
            items = list(letters)
        else:
            items = list(resolved)
        if len(items) >= 2 or (a.multiple_choice and items):
            c = self.tools.order(pid, items)
            if c is not None and c.documented:
                c.value["letters"] = letters
                out.append(c)
                used.append("order")
        for sub in list(resolved)[:1]:
            c = self.tools.first_last(pid, sub, direction or "first")
            if c is not None and c.documented:
                out.append(c)
                used.append(direction or "first")
        return out, [], ",".join(used)

    def _lab_series_step(self, s: AgentState) -> tuple[list[Computed], list[FactRow], str]:
        a = s["analysis"]
        _, c = self.tools.named_lab_series(s["patient_id"], a.concepts, _option_units(a))
        return ([c], [], "lab_series") if c is not None else ([], [], "")

    def lookup(self, s: AgentState) -> dict:
        """Every typed query the family did not run (each checks its own preconditions): the catch-all."""
        return self._run_steps(s, [x for x in FAMILIES["lookup"] if x not in s.get("ran", [])], "lookup")

    def gather(self, s: AgentState) -> dict:
        """Passages: hybrid retrieval, per-option searches and the resolved concepts' graph facts (broader on retry)."""
        a, pid = s["analysis"], s["patient_id"]
        broader = s.get("attempt", 0) > 0
        passages: list[Passage] = []
        facts: list[FactRow] = list(s.get("tool_facts", []))
        if self.mode == "collapsed":
            return {"passages": [], "facts": [], "computed": [], "route": ["gather:raw_notes"]}
        k = 16 if broader else 8
        plan, resolved = s.get("plan", []), s.get("resolved", {})
        used = []
        passages += self.tools.retrieve(pid, a.question, k=k, options=list(a.real_options.values()) or None)
        used.append(f"retrieve({self.tools.last_retrieval},k={k})")
        if broader:
            passages += self.tools.lexical(pid, a.question, k=k)
            top = sorted(passages, key=lambda p: -p.score)[:6]
            passages += [nb for p in top for nb in self.tools.neighbors(pid, p)]
            used.append("lexical+neighbors")
        if "retrieve.per_option" in plan:
            for letter, text in a.real_options.items():
                got = self.tools.lexical(pid, f"{text}", k=3 if broader else 2)
                got += self.tools.lexical(pid, f"{a.question} {text}", k=2 if broader else 1)
                for p in got:
                    p.source = f"option:{letter}"
                passages += got
            used.append("per_option")
        if "graph.facts" in plan:
            for sub in list(resolved)[: 6 if broader else 3]:
                facts += self.tools.facts(pid, sub, limit=12 if broader else 6)
            used.append("facts")
        return {"passages": passages, "facts": facts, "computed": list(s.get("computed", [])),
                "route": [("gather_broader:" if broader else "gather:") + ",".join(used)]}

    def _lab_answer(self, pid: str, a, intent) -> Computed | None:
        """Lab questions answered in code from the dated series: the highest / lowest value, the value on a date,
        the change between two dates. The option with exactly that value (and direction) is picked."""

        from agent.claims import cue_rx_words
        from agent.understand import find_numbers

        ext = _extreme(a.question)
        diff = bool(cue_rx_words("difference_question").search(a.question))
        change = (intent.asked == "trend" or diff) and len(a.dates) >= 2
        at_date = len(a.dates) == 1 and not change and not diff
        if not (ext or change or at_date or diff):
            return None
        test, series = self.tools.named_lab_series(pid, a.concepts, _option_units(a))
        if series is None:
            return None
        pts, seen = [], set()
        for pt in series.value["points"]:
            key = (pt["date"], pt["value"])
            if key not in seen:
                seen.add(key)
                pts.append(pt)
        by_val = lambda v: [k for k, t in a.real_options.items()  # noqa: E731
                            if (ns := find_numbers(t)) and abs(ns[0][0] - v) < 1e-6]
        choice, what, size = None, "", None
        if diff and not change:
            # the size of a change from an extreme (or the first date) to a date (or the latest value)
            size = series_change(pts, ext, a.dates, bool(cue_rx_words("latest_value").search(a.question)))
            if size is None:
                what = f"{test}: the two ends of the change are not both documented"
            else:
                hits = [k for k, t in a.real_options.items()
                        if states_change(t, size["value"], size["direction"], size["unit"])]
                what = (f"{test}: {size['from']:g} on {size['from_date'].isoformat()} -> {size['to']:g} on "
                        f"{size['to_date'].isoformat()}, a change of {size['value']:g} ({size['direction']})")
                choice = hits[0] if len(hits) == 1 else None
        elif ext:
            vals = [pt["value"] for pt in pts]
            v = ext(vals)
            hits = by_val(v)
            what = f"{'highest' if ext is max else 'lowest'} {test}: {v:g} (of {len(vals)} values)"
            choice = hits[0] if len(hits) == 1 else None
        elif at_date:
            day = a.dates[0]
            on = [pt for pt in pts if pt["date"] == day]
            if not on:
                what = f"no {test} value dated {day.isoformat()} in the notes"
            else:
                vs = sorted({pt["value"] for pt in on})
                what = f"{test} on {day.isoformat()}: {', '.join(f'{v:g}' for v in vs)}"
                hits = [k for v in vs for k in by_val(v)]
                choice = hits[0] if len(set(hits)) == 1 else None
        else:
            d1, d2 = sorted(a.dates[:2])
            v1 = [pt for pt in pts if pt["date"] == d1]
            v2 = [pt for pt in pts if pt["date"] == d2]
            if v1 and v2:
                x, y = v1[0]["value"], v2[0]["value"]
                size = change_of(x, y, d1, d2, v1[0].get("unit") or v2[0].get("unit"))
                trend = size["direction"]
                what = f"{test}: {x:g} on {d1.isoformat()} -> {y:g} on {d2.isoformat()} ({trend})"
                hits = []
                for k, t in a.real_options.items():
                    ns = [n[0] for n in find_numbers(t)]
                    if diff and len(ns) == 1 and states_change(t, size["value"], trend, size["unit"]):
                        hits.append(k)  # "a decrease of 70 mL": the size of the change, not its two ends
                        continue
                    if change_direction(t) != trend:
                        continue
                    if trend == "same" and ns and abs(ns[0] - x) < 1e-6:
                        hits.append(k)
                    elif len(ns) >= 2 and abs(ns[0] - x) < 1e-6 and abs(ns[1] - y) < 1e-6:
                        hits.append(k)
                choice = hits[0] if len(hits) == 1 else None
            else:
                what = f"{test}: no value documented on {'both dates' if not (v1 or v2) else (d1 if not v1 else d2).isoformat()}"
        listing = ", ".join(f"{pt['date'].isoformat()}: {pt['value']:g}" for pt in pts)
        text = f"{what}; series: {listing} (computed from the notes)"
        if choice:
            text += f"; matching option: {choice}"
        value = {"choice": choice, "points": pts, "test": test}
        if diff and size is not None:
            value["difference"] = size
        return Computed("lab_answer", text, value, series.passages, choice is not None)

    def _option_order(self, pid: str, a, direction: str | None) -> Computed | None:
        """Each option's event dated from the notes, then first / last / the right sequence picked in code."""

        seq_rx = re.compile(r",?\s+then\s+|\s*->\s*|\s*→\s*", re.I)
        opts = a.real_options
        sequence = sum(1 for t in opts.values() if len(seq_rx.split(t)) >= 2) >= max(2, len(opts) - 1)
        parts = {k: [x.strip(" .") for x in seq_rx.split(t) if x.strip(" .")] for k, t in opts.items()}
        phrases = list(dict.fromkeys(x.lower() for ps in parts.values() for x in (ps if sequence else [" ".join(ps)])))
        if not sequence:
            parts = {k: [t] for k, t in opts.items()}
        dated = {}
        for ph in phrases:
            got = self.tools.event_date(pid, ph)
            if got is not None:
                dated[ph] = got
        if not dated:
            return None
        items = sorted(((d, ph) for ph, (d, _, _) in dated.items()), key=lambda x: x[0])
        listing = "; ".join(f"{ph}: {d.isoformat()} ({dated[ph][2]})" for d, ph in items)
        missing = [ph for ph in phrases if ph not in dated]
        choice = None
        if sequence:
            ok = []
            for k, ps in parts.items():
                ds = [dated.get(x.lower(), (None,))[0] for x in ps]
                if len(ps) >= 2 and all(d is not None for d in ds) and all(x < y for x, y in zip(ds, ds[1:])):
                    ok.append(k)
            if len(ok) == 1:
                choice = ok[0]
            text = f"Dates of the events (computed from the notes): {listing}" + (
                f"; chronological order: option {choice}" if choice else "; no option is in a documented order")
        else:
            pairs = [(dated[t.lower()][0], k) for k, t in opts.items() if t.lower() in dated]
            if len(pairs) >= 2 and len(pairs) >= len(opts) - 1:
                pairs.sort()
                pick = pairs[0] if direction != "last" else pairs[-1]
                rivals = [d for d, _ in pairs if d == pick[0]]
                choice = pick[1] if len(rivals) == 1 else None
            text = f"Dates of the events (computed from the notes): {listing}" + (
                f"; {direction or 'first'}: {opts[choice]} (option {choice})" if choice else "")
        if missing:
            text += f"; no dated mention found for: {', '.join(missing)}"
        ps = []
        for _, ph in items:
            p = dated[ph][1]
            p = Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, 1.0, "timeline")
            if p.key not in {q.key for q in ps}:
                ps.append(p)
        return Computed("order", text, {"items": [{"query": ph, "name": ph, "date": d} for d, ph in items], "choice": choice,
                                        "sequence": sequence, "not_documented": missing}, ps, choice is not None)

    def assemble(self, s: AgentState) -> dict:
        pid = s["patient_id"]
        if self.mode == "collapsed":
            ctx = self.builder.collapsed(pid, list(self.tools.notes(pid).values()), self.collapsed_chars)
        else:
            ps = sorted(s.get("passages", []), key=lambda p: -p.score)
            # interleave: per-option passages must not be crowded out by many retrieval hits
            ops = [p for p in s.get("passages", []) if p.source.startswith("option")]
            rest = [p for p in ps if not p.source.startswith("option")]
            merged, i = [], 0
            while i < max(len(ops), len(rest)):
                if i < len(rest):
                    merged.append(rest[i])
                if i < len(ops):
                    merged.append(ops[i])
                i += 1
            ctx = self.builder.run(pid, merged, s.get("facts", []), s.get("computed", []), broader=s.get("attempt", 0) > 0)
        return {"context": ctx, "route": [f"assemble:{len(ctx.passages)}E,{len(ctx.facts)}F,{len(ctx.computed)}C"
                                          + (f",{len(ctx.flagged)} flagged" if ctx.flagged else "")]}

    def reason(self, s: AgentState) -> dict:
        typed = self._typed_checks(s) if s["analysis"].multiple_choice and self.mode == "stack" else {}
        settled = self._settled(s, typed)
        if settled is not None:
            return {"draft": settled, "typed": typed,
                    "route": [f"reason:only_verified_option:{settled.choice}", "reason:model_not_asked"]}
        d = self.reasoner.run(s["analysis"], s["context"])
        route = [f"reason:{getattr(self.reasoner, 'name', 'reasoner')}"]
        single = self._single_verified(s, d, typed)
        if single is not None:
            d = single
            route.append(f"reason:only_verified_option:{d.choice}")
        return {"draft": d, "typed": typed, "route": route,
                "tokens": {"prompt": d.prompt_tokens, "completion": d.completion_tokens}}

    def _settled(self, s: AgentState, typed: dict[str, tuple[Draft, Verification]]) -> Draft | None:
        """A model backend's question that the typed checks settle: exactly one option passes them and no computed
        result picks one. The model is not asked to choose: any other pick of its fails those checks and yields to
        that option (``_single_verified``), so its choice could not change the answer, and a prompt costs tens of
        seconds on a CPU. It still judges the answer: the verify node's entailment check on the cited clause."""
        extractive = getattr(self.reasoner, "extractive", None)
        if extractive is None or extractive._computed_choice(s["analysis"], s["context"]) is not None:
            return None
        ok = [letter for letter, (_, v) in typed.items() if v.status == "verified"]
        return typed[ok[0]][0] if len(ok) == 1 else None

    def _single_verified(self, s: AgentState, d: Draft, typed: dict[str, tuple[Draft, Verification]]) -> Draft | None:
        """The one option the verifier's typed checks (``typed``) accept, when the reasoner picked another: the option
        whose claim binds to the record beats one whose words merely occur in it (the extractive backend's scores; a
        model backend's question settled so is not put to the model: ``_settled``). An abstention stays what it
        is, and a computed answer too (dates, counts, orders are code's), except an absence the verifier rejects: the
        absence resolver reads negation by word overlap ("eating less" picked as never mentioned), the verifier's
        absence check reads each option's own mentions ("Denies nausea or vomiting")."""
        a, ctx = s["analysis"], s["context"]
        if not typed or d.abstained or not d.choice:
            return None
        if d.computed_answer:
            kind = next((c.kind for cid, c, _ in ctx.computed if d.evidence_ids and cid == d.evidence_ids[0]), None)
            if kind != "absence" or self.verifier.run(d, ctx, a, s.get("intent")).status == "verified":
                return None
        ok = [letter for letter, (_, v) in typed.items() if v.status == "verified"]
        if len(ok) != 1 or ok[0] == d.choice:
            return None
        alt = typed[ok[0]][0]
        return dataclasses.replace(alt, option_verdicts=d.option_verdicts or alt.option_verdicts,
                                   option_scores=d.option_scores or alt.option_scores,
                                   prompt_tokens=d.prompt_tokens, completion_tokens=d.completion_tokens)

    def _typed_checks(self, s: AgentState) -> dict[str, tuple[Draft, Verification]]:
        """Every option as if it were the answer, with the citations the agent gives it, and the verifier's typed
        checks of it (no model call per option: entailment is left out)."""
        a, ctx = s["analysis"], s["context"]
        extractive = getattr(self.reasoner, "extractive", self.reasoner)
        if not hasattr(extractive, "draft_for"):
            return {}
        judged = extractive.judge_options(a, ctx)
        entail, self.verifier.entail = self.verifier.entail, False
        out = {}
        try:
            for letter in a.real_options:
                draft = extractive.draft_for(a, ctx, judged, letter)
                out[letter] = (draft, self.verifier.run(draft, ctx, a, s.get("intent")))
        finally:
            self.verifier.entail = entail
        return out

    def verify(self, s: AgentState) -> dict:
        v = self.verifier.run(s["draft"], s["context"], s["analysis"], s.get("intent"))
        out: dict = {"verification": v, "route": [f"verify:{v.status}"],
                     "tokens": {"prompt": sum(f.prompt_tokens for f in v.findings),
                                "completion": sum(f.completion_tokens for f in v.findings)}}
        if v.status == "unsupported" and s.get("attempt", 0) == 0:
            out["first_failure"] = v.reason
        return out

    def _context_tokens(self, ctx) -> int:
        from agent.context import SYSTEM_PROMPT

        body = ContextBuilder.render_collapsed(ctx) if ctx.mode == "collapsed" else ctx.render()
        text = SYSTEM_PROMPT + "\n" + body
        counter = getattr(getattr(self.reasoner, "llm", None), "count_tokens", None)
        if counter is not None:
            try:
                return int(counter(text))
            except Exception:
                pass
        return max(1, len(text) // 4)

    def _after_verify(self, s: AgentState) -> str:
        if s["verification"].status == "unsupported" and s.get("attempt", 0) == 0 and self.mode == "stack":
            return "broaden"
        return "finalize"

    def broaden(self, s: AgentState) -> dict:
        plan = list(s.get("plan", []))
        if "retrieve.hybrid" not in plan:
            plan.insert(0, "retrieve.hybrid")
        return {"attempt": s.get("attempt", 0) + 1, "plan": plan, "route": ["retry:broader_retrieval"]}

    def finalize(self, s: AgentState) -> dict:
        a, ctx, d, v = s["analysis"], s["context"], s["draft"], s["verification"]
        if v.status == "unsupported" and a.allow_abstain:
            reason = v.reason or "the answer is not supported by the cited evidence"
            findings = list(v.findings)
            v = Verification(status="abstained", findings=findings, draft_choice=d.choice,
                             reason=f"abstained after {s.get('attempt', 0) + 1} attempt(s): {reason}")
            d = Draft("Not documented: the answer could not be verified against the record (" + reason + ").",
                      a.abstain_option, [], abstained=True, reason=reason, option_verdicts=d.option_verdicts,
                      prompt_tokens=d.prompt_tokens, completion_tokens=d.completion_tokens)
        if v.draft_choice is None and d.choice:
            v = v.model_copy(update={"draft_choice": d.choice})
        cites: list[Citation] = []
        seen = set()
        for ref in d.evidence_ids:
            for eid in ctx.evidence_of(ref):
                if eid in seen:
                    continue
                seen.add(eid)
                p = ctx.passages[eid]
                cites.append(Citation(evidence_id=eid, patient_id=p.patient_id, note_id=p.note_id, start=p.start,
                                      end=p.end, quote=p.text, note_date=p.note_date.isoformat() if p.note_date else None,
                                      section=p.section))
        used = []
        cited = set(d.evidence_ids)
        for cid, c, eids in ctx.computed:
            used.append(FactUsed(fact_id=cid, kind=c.kind, text=c.text, evidence_ids=eids,
                                 value=_plain(c.value)))
        for fid, r, eid in ctx.facts:
            if fid in cited or eid in seen:
                used.append(FactUsed(fact_id=r.fact_id, kind="fact", text=f"{r.name} ({r.assertion})", name=r.name,
                                     assertion=r.assertion, date=r.date.isoformat() if r.date else None,
                                     codes=r.codes, evidence_ids=[eid]))
        tokens = {"prompt": 0, "completion": 0, **dict(s.get("tokens") or {})}
        checks = self._option_checks(s, v) if a.multiple_choice and self.mode == "stack" else {}
        ans = Answer(
            patient_id=s["patient_id"], question=a.question, text=d.text, choice=d.choice, abstained=d.abstained,
            citations=cites, facts_used=used, verification=v, route=list(s.get("route", [])) + ["finalize"],
            timings=dict(s.get("timings", {})), tokens=tokens, kind=a.kind, backend=self.backend, model=self.model,
            mode=self.mode, option_verdicts=d.option_verdicts, option_checks=checks, attempts=s.get("attempt", 0) + 1,
            context_tokens=self._context_tokens(ctx),
            excluded_notes=sorted(self.tools.foreign_notes(s["patient_id"])) if self.mode != "collapsed" else [],
            conflicts=self.verifier.conflicts.cited(ctx, s["draft"].evidence_ids)
            if getattr(self.verifier, "conflicts", None) else [],
            flagged=[FlaggedSentence(note_id=p.note_id, start=p.start, end=p.end, quote=p.text,
                                     reason=ctx.flag_reasons.get(p.key, "")) for p in getattr(ctx, "flagged", [])],
        )
        return {"answer": ans, "route": ["finalize"]}

    def _option_checks(self, s: AgentState, v: Verification) -> dict[str, str]:
        """The verifier's verdict for every option as if it were the answer: the answer's own verification, the
        typed checks the reason node made over the same context (``_typed_checks``) for the options not chosen."""
        out = {}
        for letter, (_, got) in s.get("typed", {}).items():
            got = v if letter == s["draft"].choice and v.status != "abstained" else got
            bad = next((f for f in got.findings if f.status in ("unsupported", "contradicted")), None)
            out[letter] = "verified" if got.status == "verified" else (
                f"failed {bad.check}: {bad.detail}" if bad else f"not verified: {got.reason or got.status}")
        return out


def _extreme(text: str):
    """max / min when the text asks for the highest / lowest value (verify_cues' extremes), else None."""
    from agent.claims import cue_rx

    return next((fn for k, fn in (("max", max), ("min", min)) if cue_rx("extremes", k).search(text)), None)


def _option_units(a) -> set[str]:
    """The units the options' values are given in ("4.28 g/g" -> g/g): the unit of the series they answer."""
    from agent.understand import find_numbers

    return {u for t in a.real_options.values() for _, u, _ in find_numbers(t) if u}


def _wanted(step: str, intent, a) -> bool:
    """A typed query's precondition on the question (intent slots first, the analyzer's kind as a second reader)."""
    if step == "negated_facts":
        return intent.negated or a.kind == "negation"
    if step == "interval":
        return bool(a.pair) and (intent.asked == "interval" or a.kind == "interval")
    if step == "order":  # options that are dates are the answer's values, not events to order; a question that
        # names its own dates ("the follow-up scan of 10/04/2023") selects by them unless its intent asks an order
        return (intent.asked == "order" or (a.kind == "order" and not a.dates)) and intent.asked != "date"
    if step == "count":  # 'how many puffs' is a dose: the intent, not the words 'how many', asks a count
        return intent.asked == "count"
    if step == "lab_series":
        return intent.asked == "trend" or a.kind == "trend"
    if step == "first":
        return (a.temporal or intent.asked == "date") and intent.asked not in ("interval", "order")
    return True  # lab_answer and the chain queries check their own preconditions


def _plain(v):
    import datetime as dt

    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if dataclasses.is_dataclass(v):
        return _plain(dataclasses.asdict(v))
    return v
