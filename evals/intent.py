"""How well ``agent.intent.IntentParser`` reads questions: scored on a hand-labelled sample of the three dev sets.

    python -m evals.intent [--backend rules|local] [--model qwen2.5-0.5b|qwen2.5-1.5b] [--limit N] [--labels PATH]
    python -m evals.intent --draw OUT.json     # the seeded draw the labels were made from (unlabelled)

The labels (``evals/data/intent_labels.json``) are 30 questions from each dev set, drawn by ``draw_sample``
(seed 14) and labelled by hand from the question text before the rules were tuned. Each set's draw alternates
``tune`` / ``test``: the cue file was tuned on ``tune`` only, so ``test`` is the figure that says how the rules
generalize. Printed per dev set and split: accuracy of ``asked``, ``negated``, ``time_role`` and ``experiencer``
with a Wilson 95 % interval, and entity precision / recall.

Entities match leniently: a predicted entity matches a gold entity when their content words
(``agent.understand.content_tokens``: stemmed, stopwords dropped) share at least one word; each gold entity is
matched at most once (greedy, in the order predicted). Types are not compared (the router resolves the text).
Precision = matched predictions / predictions, recall = matched gold / gold, pooled over the questions.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEV_SETS = {
    "aci": SHARED / "aci_dev" / "aci_dev.json",
    "lh_style": SHARED / "longhealth_style_dev" / "lh_style_dev.json",
    "synth": ROOT / "evals" / "data" / "dev.json",
}
LABELS = ROOT / "evals" / "data" / "intent_labels.json"
SEED = 14
PER_SET = 30
SLOTS = ("asked", "negated", "time_role", "experiencer")


# -- the draw -------------------------------------------------------------------------------------------------
def draw_sample(seed: int = SEED, per_set: int = PER_SET, sets: dict[str, Path] | None = None) -> list[dict]:
    """``per_set`` questions of each dev set, drawn with ``random.Random(f"{seed}:{set name}")`` from the
    questions in (sorted patient id, file) order; the draw alternates tune / test (even / odd position)."""
    out = []
    for name, path in (sets or DEV_SETS).items():
        data = json.loads(Path(path).read_text("utf-8"))
        pool = [(pid, q) for pid in sorted(data) for q in data[pid]["questions"]]
        picks = random.Random(f"{seed}:{name}").sample(pool, per_set)
        for i, (pid, q) in enumerate(picks):
            options = {k[-1].upper(): v for k, v in q.items() if k.startswith("answer_") and len(k) == len("answer_a")}
            out.append({"set": name, "id": f"{pid}:{q['No']}", "split": "tune" if i % 2 == 0 else "test",
                        "question": q["question"], "options": options})
    return out


# -- scoring --------------------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials (95 % for z = 1.96); (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def match_entities(predicted: list[str], gold: list[str]) -> int:
    """How many predicted entities match a distinct gold entity (content words overlap; greedy in order)."""
    from agent.understand import content_tokens

    free = [set(content_tokens(g)) for g in gold]
    hits = 0
    for p in predicted:
        toks = set(content_tokens(p))
        for i, g in enumerate(free):
            if g is not None and toks & g:
                free[i] = None
                hits += 1
                break
    return hits


@dataclass
class Tally:
    n: int = 0
    right: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SLOTS})
    pred_entities: int = 0
    gold_entities: int = 0
    matched_pred: int = 0
    matched_gold: int = 0

    def add(self, gold: dict, pred: dict) -> None:
        self.n += 1
        for s in SLOTS:
            self.right[s] += int(gold[s] == pred[s])
        g = [e["text"] for e in gold["entities"]]
        p = [e["text"] for e in pred["entities"]]
        hits = match_entities(p, g)
        self.pred_entities += len(p)
        self.gold_entities += len(g)
        self.matched_pred += hits
        self.matched_gold += hits

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        for s in SLOTS:
            lo, hi = wilson(self.right[s], self.n)
            out[s] = {"acc": round(self.right[s] / self.n, 3) if self.n else None, "ci95": [round(lo, 3), round(hi, 3)]}
        out["entity_precision"] = round(self.matched_pred / self.pred_entities, 3) if self.pred_entities else None
        out["entity_recall"] = round(self.matched_gold / self.gold_entities, 3) if self.gold_entities else None
        return out


def load_labels(path: Path = LABELS) -> list[dict]:
    data = json.loads(Path(path).read_text("utf-8"))
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: no 'items' list")
    from agent.records import Intent

    for it in items:
        Intent(**it["gold"])  # a label that is not a valid Intent is a bad label file, said at once
        if it.get("split") not in ("tune", "test"):
            raise ValueError(f"{path}: item {it.get('id')} has split {it.get('split')!r}, expected tune or test")
    return items


def interleave(items: list[dict]) -> list[dict]:
    """One item of each set in turn, so that ``--limit N`` covers every dev set."""
    by_set: dict[str, list[dict]] = {}
    for it in items:
        by_set.setdefault(it["set"], []).append(it)
    out = []
    for i in range(max(len(v) for v in by_set.values())):
        out += [v[i] for v in by_set.values() if i < len(v)]
    return out


def evaluate(parser, items: list[dict]) -> tuple[dict[str, Any], list[dict]]:
    """Run the parser on each item; figures per (set, split), per set, per split and overall, and the errors."""
    tallies: dict[str, Tally] = {}
    errors = []
    for it in items:
        pred = parser.run(it["question"], it.get("options") or None).model_dump()
        gold = it["gold"]
        for key in (f"{it['set']}/{it['split']}", it["set"], f"all/{it['split']}", "all"):
            tallies.setdefault(key, Tally()).add(gold, pred)
        wrong = [s for s in SLOTS if gold[s] != pred[s]]
        if wrong or match_entities([e["text"] for e in pred["entities"]], [e["text"] for e in gold["entities"]]) < max(
                len(gold["entities"]), len(pred["entities"])):
            errors.append({"id": it["id"], "split": it["split"], "question": it["question"], "wrong": wrong,
                           "gold": {s: gold[s] for s in (*SLOTS, "entities", "anchor")},
                           "pred": {s: pred[s] for s in (*SLOTS, "entities", "anchor", "source")}})
    return {k: t.row() for k, t in sorted(tallies.items())}, errors


def format_table(rows: dict[str, Any]) -> str:
    head = f"{'set/split':<16}{'n':>4}  " + "  ".join(f"{s:<22}" for s in SLOTS) + "  ent_P  ent_R"
    lines = [head, "-" * len(head)]
    for key, r in rows.items():
        cells = []
        for s in SLOTS:
            a, (lo, hi) = r[s]["acc"], r[s]["ci95"]
            cells.append(f"{a:.2f} [{lo:.2f}-{hi:.2f}]".ljust(22) if a is not None else "-".ljust(22))
        p = "-" if r["entity_precision"] is None else f"{r['entity_precision']:.2f}"
        rc = "-" if r["entity_recall"] is None else f"{r['entity_recall']:.2f}"
        lines.append(f"{key:<16}{r['n']:>4}  " + "  ".join(cells) + f"  {p:>5}  {rc:>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("rules", "local"), default="rules")
    ap.add_argument("--model", default="qwen2.5-1.5b", help="packaged model for --backend local")
    ap.add_argument("--limit", type=int, default=None, help="score the first N labels (interleaved over the sets)")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--errors", action="store_true", help="print each question with a wrong slot or entity")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--draw", type=Path, default=None, help="write the seeded unlabelled draw to this file and stop")
    args = ap.parse_args(argv)
    if args.draw:
        args.draw.write_text(json.dumps(draw_sample(), indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {args.draw}")
        return 0
    from agent.intent import IntentParser

    items = interleave(load_labels(args.labels))
    if args.limit is not None:
        items = items[: max(0, args.limit)]
    llm = None
    if args.backend == "local":
        from agent.llm import make_llm

        llm = make_llm("local", args.model)
    parser = IntentParser(llm=llm)
    t0 = time.perf_counter()
    parser.warm_up()
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows, errors = evaluate(parser, items)
    run_s = time.perf_counter() - t0
    if llm is not None:
        llm.close()
    label = args.backend + (f" ({args.model})" if llm is not None else "")
    print(f"intent parser: {label}; {len(items)} questions; warm-up {warm_s:.1f} s, parsing {run_s:.1f} s "
          f"({run_s / max(1, len(items)):.2f} s/question); from llm: {parser.stats['llm']}, rules: {parser.stats['rules']}")
    print(format_table(rows))
    if args.errors:
        for e in errors:
            print(json.dumps(e, ensure_ascii=False))
    if args.json_out:
        args.json_out.write_text(json.dumps({"backend": label, "n": len(items), "parse_s": run_s, "rows": rows,
                                             "errors": errors}, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
