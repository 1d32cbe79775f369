"""``ClinicalQA``: the agent's Python API (ask, ask_stream, ask_many) over one workspace."""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from clinqa.errors import ClinqaError, InputError
from agent.context import ContextBuilder
from agent.graph import AgentGraph
from agent.reason import ExtractiveReasoner, LLMReasoner
from agent.records import AgentEvent, Answer
from agent.tools import Toolbox
from agent.understand import validate_options
from agent.verify import AssertionChecker, Verifier

BACKENDS = ("extractive", "local", "openai")
MODES = ("stack", "collapsed")


class ClinicalQA:
    """Answers questions about one patient at a time from a workspace, with verified citations.

    ``backend``: "extractive" (no model), "local" (embedded llama.cpp via agent.llm) or "openai"
    (any OpenAI-compatible server, e.g. vLLM). ``mode="collapsed"`` gives the LLM the raw notes
    instead of the assembled context (for comparison only). ``llm`` injects a ready client. With an LLM the
    verifier's entailment check on the cited clause is on unless ``entail=False``.
    """

    def __init__(self, workspace=None, backend: str = "extractive", model: str | None = None, mode: str = "stack",
                 base_url: str | None = None, *, llm: Any = None, entail: bool | None = None):
        if backend not in BACKENDS:
            raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "collapsed" and backend == "extractive" and llm is None:
            raise InputError("collapsed mode compares LLMs on raw notes; use backend local or openai")
        if workspace is None:
            from clinqa.workspace import Workspace

            workspace = Workspace()
        self.ws = workspace
        self.backend, self.mode = backend, mode
        self.tools = Toolbox(workspace)
        self.assertions = AssertionChecker()
        self._owns_llm = False
        self.llm = llm
        if self.llm is None and backend != "extractive":
            from agent.llm import make_llm  # the transport layer; raises LLMUnavailableError when it cannot start

            self.llm = make_llm(backend=backend, model=model, base_url=base_url)
            self._owns_llm = True
        if self.llm is None:
            reasoner = ExtractiveReasoner(self.tools, self.assertions)
            self.model = None
        else:
            reasoner = LLMReasoner(self.llm, self.tools, self.assertions)
            self.model = getattr(self.llm, "model", None) or model
        verifier = Verifier(self.llm, entail=entail, tools=self.tools)
        verifier.assertions = self.assertions
        collapsed_chars = 12000
        if self.llm is not None:
            ctx_tokens = int(getattr(self.llm, "context_tokens", 4096) or 4096)
            collapsed_chars = max(2000, (ctx_tokens - 700) * 3)  # ~3 chars/token for clinical text, room for the answer
        self.agent = AgentGraph(self.tools, reasoner, verifier, ContextBuilder(notes=self.tools.notes), mode=mode,
                                collapsed_chars=collapsed_chars, backend=backend, model=self.model)

    # -- API ----------------------------------------------------------------------------------------
    def _inputs(self, patient_id: str, question: str, options, allow_abstain: bool) -> dict:
        if not isinstance(question, str) or not question.strip():
            raise InputError("empty question: type a question about the patient")
        self.ws.store.require_patient(patient_id)
        opts = validate_options(options)
        return {"patient_id": patient_id, "question": question.strip(), "options": opts or None,
                "allow_abstain": bool(allow_abstain), "route": [], "timings": {}, "tokens": {}}

    def ask(self, patient_id: str, question: str, options: dict[str, str] | None = None,
            allow_abstain: bool = True) -> Answer:
        """Answer one question; the Answer carries citations, verification, route, timings and tokens."""
        ans = None
        for ev in self.ask_stream(patient_id, question, options, allow_abstain):
            if ev.answer is not None:
                ans = ev.answer
        assert ans is not None
        return ans

    def ask_stream(self, patient_id: str, question: str, options: dict[str, str] | None = None,
                   allow_abstain: bool = True) -> Iterator[AgentEvent]:
        """Node events as the graph runs (LangGraph ``stream_mode="updates"``); the last one has ``.answer``."""
        state = self._inputs(patient_id, question, options, allow_abstain)
        t0 = time.perf_counter()
        for update in self.agent.compiled.stream(state, stream_mode="updates"):
            for node, data in update.items():
                data = data or {}
                ans = data.get("answer")
                elapsed = time.perf_counter() - t0
                if ans is not None:
                    ans.timings["total"] = elapsed
                yield AgentEvent(node=node, summary="; ".join(data.get("route", []) or []), elapsed_s=elapsed,
                                 data=_event_data(node, data), answer=ans)

    def ask_many(self, items: Iterable, allow_abstain: bool = True) -> list[Answer]:
        """Batch: items are (patient_id, question[, options]) tuples, dicts or clinqa Question records."""
        out = []
        for it in items:
            if isinstance(it, dict):
                out.append(self.ask(it["patient_id"], it["question"], it.get("options"), it.get("allow_abstain", allow_abstain)))
            elif hasattr(it, "patient_id") and hasattr(it, "text"):
                out.append(self.ask(it.patient_id, it.text, it.options or None, allow_abstain))
            elif isinstance(it, (tuple, list)) and len(it) in (2, 3):
                out.append(self.ask(it[0], it[1], it[2] if len(it) == 3 else None, allow_abstain))
            else:
                raise InputError(f"cannot read batch item {it!r:.80}; use (patient_id, question[, options])")
        return out

    def close(self) -> None:
        if self._owns_llm and self.llm is not None:
            try:
                self.llm.close()
            except Exception:
                pass
            self.llm = None

    def __enter__(self) -> "ClinicalQA":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _event_data(node: str, data: dict) -> dict:
    """A small JSON-ready view of a node update for the UI."""
    out: dict = {}
    a = data.get("analysis")
    if a is not None:
        out.update(kind=a.kind, concepts=a.concepts, options=list(a.options))
    if "plan" in data:
        out["plan"] = data["plan"]
    if "passages" in data:
        out["n_passages"] = len(data["passages"])
        out["n_facts"] = len(data.get("facts", []))
        out["n_computed"] = len(data.get("computed", []))
        # what was retrieved, so the UI can show the evidence as it streams (first few, quotes shortened)
        out["evidence"] = [
            {"note_id": p.note_id, "start": p.start, "end": p.end, "source": p.source, "section": p.section,
             "note_date": p.note_date.isoformat() if p.note_date else None, "quote": p.text[:160]}
            for p in list(data["passages"])[:6]
        ]
    ctx = data.get("context")
    if ctx is not None:
        out["evidence_ids"] = list(ctx.passages)
    d = data.get("draft")
    if d is not None:
        out.update(draft=d.text[:200], choice=d.choice, cited=d.evidence_ids, verdicts=d.option_verdicts)
    v = data.get("verification")
    if v is not None:
        out.update(status=v.status, reason=v.reason)
    return out


__all__ = ["ClinicalQA", "ClinqaError"]
