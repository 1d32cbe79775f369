"""Distractor attack on the verifier: force every option of every question as the answer and count verdicts.

For each question of a LongHealth-style set (task 1: the patient's own notes) the agent runs as usual up to
the assembled context; then every option in turn is forced as the answer, with the citations the agent
would give it (``ExtractiveReasoner.draft_for``), and the verifier judges it. A good verifier accepts the
gold option and rejects the wrong ones. Printed per set and per question kind:

- gold accepted: gold options verified / gold options;
- wrong rejected: wrong options not verified / wrong options (and how many had no citation at all, a
  rejection that needs no check);
- the failed checks that rejected the wrong options, most frequent first.

    python -m evals.verifier                       # the three dev sets, typed checks only (no LLM)
    python -m evals.verifier --backend local --limit 20   # + the model's entailment check, 20 questions per set
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

from clinqa.errors import ClinqaError
from evals.harness import build_tasks, load_set, select_items

DEFAULT_SETS = ["evals/data/dev.json", "../shared/data/aci_dev/aci_dev.json",
                "../shared/data/longhealth_style_dev/lh_style_dev.json"]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def attack(set_path: str | Path, work: Path, limit: int | None = None, backend: str = "extractive",
           model: str | None = None, llm=None, progress: bool = True) -> dict:
    """Run the attack on one set; returns counts and one record per forced option."""
    from agent import ClinicalQA
    from clinqa.workspace import Workspace
    from graph_store.readers import ReadItem

    es = load_set(set_path)
    corpus, items = build_tasks(es, [1])
    if limit:
        items = select_items(items, limit)
    ws = Workspace(work / Path(set_path).stem)
    needed = {it.patient_id for it in items}
    summary = ws.ingest_items((ReadItem(p, notes) for p, notes in corpus if p.patient_id in needed), progress=progress)
    if summary.failed:
        raise ClinqaError(f"{set_path}: ingest failed: " + "; ".join(map(str, summary.failed[:3])))
    qa = ClinicalQA(ws, backend=backend, model=model, llm=llm)
    g = qa.agent
    extractive = getattr(g.reasoner, "extractive", g.reasoner)
    records = []
    t0 = time.perf_counter()
    try:
        for i, it in enumerate(items):
            s = g.evidence(it.patient_id, it.question.text, it.options)
            a, ctx = s["analysis"], s["context"]
            judged = extractive.judge_options(a, ctx)
            for letter in a.real_options:
                d = extractive.draft_for(a, ctx, judged, letter)
                v = g.verifier.run(d, ctx, a, s.get("intent"))
                failed = [f for f in v.findings if f.status in ("unsupported", "contradicted")]
                records.append({"set": Path(set_path).stem, "key": it.key, "kind": it.question.kind or a.kind,
                                "question": it.question.text, "option": a.real_options[letter],
                                "letter": letter, "gold": letter == it.gold, "verified": v.status == "verified",
                                "cited": bool(d.evidence_ids), "failed": [f.check for f in failed],
                                "reason": v.reason})
            if progress and (i + 1) % 25 == 0:
                print(f"  {Path(set_path).stem}: {i + 1}/{len(items)} questions ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    finally:
        qa.close()
    return {"set": str(set_path), "questions": len(items), "records": records}


def summarize(records: list[dict]) -> dict:
    gold = [r for r in records if r["gold"]]
    wrong = [r for r in records if not r["gold"]]
    acc = sum(r["verified"] for r in gold)
    rej = sum(not r["verified"] for r in wrong)
    return {"gold": len(gold), "gold_accepted": acc, "wrong": len(wrong), "wrong_rejected": rej,
            "wrong_uncited": sum(not r["cited"] for r in wrong),
            "checks": Counter(c for r in wrong if not r["verified"] for c in dict.fromkeys(r["failed"])).most_common(6),
            "gold_failed": Counter(c for r in gold if not r["verified"] for c in dict.fromkeys(r["failed"])).most_common(6)}


def _line(name: str, m: dict) -> str:
    ga = m["gold_accepted"] / m["gold"] if m["gold"] else 0.0
    wr = m["wrong_rejected"] / m["wrong"] if m["wrong"] else 0.0
    gl, gh = wilson(m["gold_accepted"], m["gold"])
    wl, wh = wilson(m["wrong_rejected"], m["wrong"])
    return (f"{name:<28} gold accepted {m['gold_accepted']:>4}/{m['gold']:<4} {ga:6.1%} [{gl:.2f}-{gh:.2f}]   "
            f"wrong rejected {m['wrong_rejected']:>4}/{m['wrong']:<4} {wr:6.1%} [{wl:.2f}-{wh:.2f}]"
            f"  (uncited {m['wrong_uncited']})")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.verifier", description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", help="LongHealth-style JSON sets (default: the three dev sets present)")
    ap.add_argument("--work", default="/tmp/clinqa-verifier-attack", help="workspace root (reused: ingest is a no-op)")
    ap.add_argument("--limit", type=int, help="questions per set (round-robin over patients)")
    ap.add_argument("--backend", default="extractive", help="extractive (typed checks) | local | openai")
    ap.add_argument("--model", help="LLM for the entailment check (local backend)")
    ap.add_argument("--out", help="write the per-option records as JSON lines here")
    args = ap.parse_args(argv)
    sets = args.sets or [s for s in DEFAULT_SETS if Path(s).exists()]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    everything = []
    for sp in sets:
        t = time.perf_counter()
        res = attack(sp, work, args.limit, args.backend, args.model)
        recs = res["records"]
        everything += recs
        m = summarize(recs)
        print(_line(Path(sp).stem, m) + f"   {res['questions']} questions, {time.perf_counter() - t:.0f} s")
        by_kind = defaultdict(list)
        for r in recs:
            by_kind[r["kind"]].append(r)
        for k in sorted(by_kind):
            print("  " + _line(k, summarize(by_kind[k])))
        print(f"  wrong options rejected by: {', '.join(f'{c} {n}' for c, n in m['checks'])}")
        print(f"  gold options failed on:    {', '.join(f'{c} {n}' for c, n in m['gold_failed'])}")
    if len(sets) > 1:
        print(_line("ALL", summarize(everything)))
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in everything))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
