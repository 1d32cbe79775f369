"""Prompt tokens per question without running a model: the exact messages the stack and the collapsed mode send.

Every question of a LongHealth-style set (the harness's tasks) goes through the real agent graph; the LLM is a
stand-in that records each request and answers with a schema-valid neutral reply (every judged option
"supported", the entailment check "entailed", collapsed picks "none"), so what is measured is the prompt the
agent builds, not what a model would answer. Tokens are counted with the packaged model's own tokenizer
(llama.cpp's ``/tokenize`` on the 0.5B GGUF, same vocabulary as the 1.5B) plus the chat template's 5 tokens per
message and 3 for the assistant turn; ``--counter estimate`` uses the project's len/3.5 estimate instead.

"uncached" is what a prompt cache still has to process: the request's tokens minus the prefix it shares with
the previous request (llama.cpp, one slot) or with any of the last 64 requests (vLLM's prefix cache,
llama.cpp's host prompt cache).

    python -m evals.prompt_tokens ../shared/data/longhealth_style_dev/lh_style_dev.json \\
        --workspace evals/results/extractive-lh/workspace
    python -m evals.prompt_tokens ../shared/data/aci_dev/aci_dev.json --tasks 1 \\
        --workspace evals/results/extractive-aci/workspace --modes stack

Prints figures; never a test.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TEMPLATE_PER_MESSAGE = 5  # <|im_start|>role\n ... <|im_end|>\n
TEMPLATE_REPLY = 3  # <|im_start|>assistant\n
CACHE_WINDOW = 64


def neutral_reply(schema: dict | None):
    """A schema-valid reply that leans towards "supported" / "entailed" (so the stack does not retry because of
    the stand-in) and never names an option in collapsed mode."""
    if not schema:
        return "x"
    t = schema.get("type")
    if "enum" in schema:
        for want in ("entailed", "supported", "none"):
            if want in schema["enum"]:
                return want
        return schema["enum"][0]
    if t == "object":
        props = schema.get("properties", {})
        return {k: neutral_reply(props[k]) for k in schema.get("required", list(props))}
    if t == "array":
        return []
    if t == "boolean":
        return False
    if t in ("number", "integer"):
        return 0
    return "x"


class RecordingLLM:
    """Stand-in LLM client: records every request, counts its tokens, answers ``neutral_reply``."""

    model = "recording"

    def __init__(self, counter, context_tokens: int):
        self.counter = counter
        self.context_tokens = context_tokens
        self.calls: list[dict] = []

    def count_tokens(self, text: str) -> int:
        return self.counter(text)

    def chat(self, messages, json_schema=None, max_tokens=256, temperature=0, seed=0, **kw):
        from types import SimpleNamespace

        props = (json_schema or {}).get("properties", {})
        enum = (props.get("verdict", {}) or {}).get("enum", [])
        who = "verifier" if "entailed" in enum or "stated" in props else "reasoner"
        text = self.template(messages)
        n = self.counter(text) + TEMPLATE_PER_MESSAGE * len(messages) + TEMPLATE_REPLY
        self.calls.append({"who": who, "text": text, "tokens": n})
        parsed = {"stated": self.closest_option(messages[-1]["content"])} if "stated" in props else \
            neutral_reply(json_schema)
        return SimpleNamespace(text=json.dumps(parsed), parsed=parsed if isinstance(parsed, dict) else None,
                               prompt_tokens=n, completion_tokens=0, latency_s=0.0, model=self.model)

    @staticmethod
    def closest_option(prompt: str) -> str:
        """The contrast judge's stand-in reply: the listed option sharing most words with the quoted sentence (it
        is not told which option is proposed), so the stack does not retry because of the stand-in."""
        from agent.understand import content_tokens

        said = re.search(r'Text: "(.*)"', prompt, re.S)
        sentence = set(content_tokens(said.group(1) if said else ""))
        listed = re.findall(r"^- (.*)$", prompt, re.M)
        return max(listed, key=lambda t: len(sentence & set(content_tokens(t))), default="none")

    @staticmethod
    def template(messages) -> str:
        """The messages in order (role markers as plain separators; their template tokens are added apart)."""
        return "".join(f"\x00{m['role']}\x00{m['content']}" for m in messages)

    def close(self):
        pass


def make_counter(kind: str, model: str):
    """Token counter: the packaged model's tokenizer through llama.cpp (``server``) or the len/3.5 estimate."""
    from agent.llm import estimate_tokens

    if kind == "estimate":
        return estimate_tokens, "estimate (len/3.5)"
    from agent.llm import make_llm

    llm = make_llm(backend="local", model=model)
    probe = "Ceftriaxone 2 g IV once daily."
    n = llm.count_tokens(probe)
    if n == estimate_tokens(probe) and getattr(llm, "_tokenize_ok", None) is False:
        raise SystemExit(f"the llama.cpp server for {model} has no /tokenize; use --counter estimate")
    cache: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in cache:
            cache[text] = llm.count_tokens(text.replace("\x00", "\n")) if text else 0
        return cache[text]

    return count, f"{llm.model} tokenizer via llama.cpp /tokenize"


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    step = 256
    while i + step <= n and a[i:i + step] == b[i:i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


def uncached(calls: list[dict], counter) -> None:
    """Adds ``new_last`` / ``new_any``: tokens past the longest prefix shared with the previous / any recent call."""
    for i, c in enumerate(calls):
        prev = calls[max(0, i - CACHE_WINDOW):i]
        last = _common_prefix(c["text"], prev[-1]["text"]) if prev else 0
        best = max((_common_prefix(c["text"], p["text"]) for p in prev), default=0)
        for key, n in (("new_last", last), ("new_any", best)):
            shared = counter(c["text"][:n].replace("\x00", "\n")) if n else 0
            c[key] = max(0, c["tokens"] - shared)  # (the shared messages' template tokens count as new: a few)


def _pct(xs, q):
    return float(np.percentile(np.array(xs, dtype=float), q)) if xs else float("nan")


def measure(set_path: Path, workspace: Path | None, tasks: list[int], modes: list[str], limit: int | None,
            counter, context_tokens: int, verbose: bool = False, budget: dict | None = None) -> dict:
    from agent import ClinicalQA
    from clinqa.workspace import Workspace
    from evals.harness import build_tasks, load_set, select_items
    from graph_store.readers import ReadItem

    corpus, items = build_tasks(load_set(set_path), tasks)
    if limit:
        items = select_items(items, limit)
    home = Path(tempfile.mkdtemp(prefix="prompt_tokens_"))
    if workspace is not None:  # a copy: opening a workspace may write (locks, caches)
        shutil.copytree(workspace, home / "ws", ignore=shutil.ignore_patterns("writer.lock"))
    ws = Workspace(home / "ws")
    needed = {it.patient_id for it in items}
    t0 = time.perf_counter()
    ws.ingest_items((ReadItem(p, notes) for p, notes in corpus if p.patient_id in needed), progress=False)
    print(f"{set_path.name}: {len(items)} questions, tasks {tasks}; workspace ready in {time.perf_counter() - t0:.1f}s")
    out = {}
    for mode in modes:
        llm = RecordingLLM(counter, context_tokens)
        qa = ClinicalQA(ws, backend="local", mode=mode, llm=llm)
        for k, v in (budget or {}).items():  # the reasoner's evidence budget (LLMReasoner.max_passages / max_chars)
            setattr(qa.agent.reasoner, k, v)
        rows = []
        t1 = time.perf_counter()
        for it in items:
            start = len(llm.calls)
            ans = qa.ask(it.patient_id, it.question.text, options=it.options, allow_abstain=it.task in (2, 3))
            calls = llm.calls[start:]
            rows.append({"key": it.key, "calls": calls, "attempts": ans.attempts,
                         "reported": int(ans.tokens.get("prompt", 0))})
        uncached(llm.calls, counter)
        per_q = []
        for r in rows:
            rs = [c for c in r["calls"] if c["who"] == "reasoner"]
            vs = [c for c in r["calls"] if c["who"] == "verifier"]
            per_q.append({"key": r["key"], "attempts": r["attempts"], "reasoner_calls": len(rs),
                          "prompt": sum(c["tokens"] for c in rs), "reported": r["reported"],
                          "new_last": sum(c["new_last"] for c in r["calls"]),
                          "new_any": sum(c["new_any"] for c in r["calls"]),
                          "verifier_calls": len(vs), "verifier_prompt": sum(c["tokens"] for c in vs),
                          "max_call": max((c["tokens"] for c in rs), default=0)})
            if verbose:
                q = per_q[-1]
                print(f"  {mode} {q['key']}: {q['reasoner_calls']} calls, {q['prompt']} tok (max {q['max_call']}), "
                      f"verifier {q['verifier_calls']}/{q['verifier_prompt']}, new {q['new_last']}/{q['new_any']}")
        out[mode] = {"rows": per_q, "seconds": time.perf_counter() - t1}
    ws.store.close()
    shutil.rmtree(home, ignore_errors=True)
    return out


def summary(per_q: list[dict]) -> dict:
    p = [q["prompt"] for q in per_q]
    used = [q["prompt"] for q in per_q if q["reasoner_calls"]]
    return {"n": len(per_q), "mean": statistics.mean(p) if p else 0.0, "p50": _pct(p, 50), "p95": _pct(p, 95),
            "max_call_p95": _pct([q["max_call"] for q in per_q if q["reasoner_calls"]], 95),
            "with_llm": len(used), "mean_with_llm": statistics.mean(used) if used else 0.0,
            "calls": statistics.mean(q["reasoner_calls"] for q in per_q) if per_q else 0.0,
            "retried": sum(q["attempts"] > 1 for q in per_q),
            "verifier_mean": statistics.mean(q["verifier_prompt"] for q in per_q) if per_q else 0.0,
            "new_last": statistics.mean(q["new_last"] for q in per_q) if per_q else 0.0,
            "new_any": statistics.mean(q["new_any"] for q in per_q) if per_q else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set", type=Path, help="LongHealth-style JSON set")
    ap.add_argument("--workspace", type=Path, default=None,
                    help="an ingested workspace of this set to copy (e.g. evals/results/extractive-lh/workspace); "
                         "without it the set is ingested into a temporary one")
    ap.add_argument("--tasks", default="1,2,3")
    ap.add_argument("--modes", default="stack,collapsed")
    ap.add_argument("--limit", type=int, default=None, help="questions per task")
    ap.add_argument("--counter", choices=("server", "estimate"), default="server")
    ap.add_argument("--model", default="qwen2.5-0.5b", help="packaged model whose tokenizer counts (server)")
    ap.add_argument("--context-tokens", type=int, default=None,
                    help="the model window collapsed mode fills (default: llama.cpp's n_ctx here)")
    ap.add_argument("--max-passages", type=int, default=None, help="stack: passages shown at most (besides must)")
    ap.add_argument("--max-chars", type=int, default=None, help="stack: characters of note text shown at most")
    ap.add_argument("--json", type=Path, default=None, help="write the per-question figures here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not args.set.is_file():
        raise SystemExit(f"{args.set}: no such set")
    from agent.llm.local import DEFAULT_N_CTX

    counter, how = make_counter(args.counter, args.model)
    res = measure(args.set, args.workspace, [int(t) for t in args.tasks.split(",")], args.modes.split(","), args.limit,
                  counter, args.context_tokens or DEFAULT_N_CTX, args.verbose,
                  {k: v for k, v in (("max_passages", args.max_passages), ("max_chars", args.max_chars)) if v})
    print(f"tokens: {how}; reasoner prompt tokens per question (what the eval reports as prompt tokens)")
    print(f"{'mode':<10}{'n':>5}{'mean':>8}{'p50':>8}{'p95':>8}{'calls/q':>9}{'LLM q':>7}{'mean|LLM':>10}"
          f"{'p95 call':>10}{'retried':>9}{'verifier':>10}{'new(last)':>11}{'new(any)':>10}")
    for mode, r in res.items():
        s = summary(r["rows"])
        r["summary"] = s
        print(f"{mode:<10}{s['n']:>5}{s['mean']:>8.0f}{s['p50']:>8.0f}{s['p95']:>8.0f}{s['calls']:>9.2f}{s['with_llm']:>7}"
              f"{s['mean_with_llm']:>10.0f}{s['max_call_p95']:>10.0f}{s['retried']:>9}{s['verifier_mean']:>10.0f}"
              f"{s['new_last']:>11.0f}{s['new_any']:>10.0f}")
    if "stack" in res and "collapsed" in res and res["collapsed"]["summary"]["mean"]:
        print(f"stack / collapsed mean prompt tokens: "
              f"{res['stack']['summary']['mean'] / res['collapsed']['summary']['mean']:.3f}")
    print("calls/q: reasoner requests per question; LLM q: questions that reached the model (the others are "
          "decided in code); p95 call: the largest single request; verifier: the entailment check's prompt tokens "
          "(not in the eval's figure); new(last)/new(any): reasoner + verifier tokens a prefix cache still "
          "processes with one slot / with a cache of recent prompts.")
    if args.json:
        args.json.write_text(json.dumps({m: {"summary": r["summary"], "rows": r["rows"]} for m, r in res.items()},
                                        indent=1))


if __name__ == "__main__":
    main()
