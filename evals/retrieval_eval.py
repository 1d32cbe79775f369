"""Recall@5 / recall@10 of gold evidence for dense, BM25 and hybrid retrieval on LongHealth-style sets.

A question counts as recalled at k when one of its top-k chunks overlaps a gold
span in the right note. Gold spans come from exact ``answer_spans`` (the
generator's form) or from LongHealth ``answer_location`` fractions.

Three query forms are scored: the question alone, the question with all its
options in one query, and ``per-option`` (``retrieve(..., options=...)``: one
sub-query per option, CombMAX) — how the agent retrieves for a multiple-choice
question, and the form the targets (hybrid recall@10 >= 0.95, hybrid >= each
single mode) are checked on.

    python -m evals.retrieval_eval [SET.json ...] [--embedder NAME] [--window 3 --overlap 1] [--extract]

Default set: evals/data/dev.json when present, else the retrieval test fixture.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = [ROOT / "evals" / "data" / "dev.json", ROOT / "tests" / "retrieval" / "data" / "longhealth_mini.json"]
MODES = ("dense", "bm25", "hybrid")
KS = (5, 10)


@dataclass(frozen=True)
class GoldSpan:
    note_key: str  # the note's source key inside its patient (e.g. "text_0")
    start: int
    end: int


def _fraction_pairs(loc: Any) -> list[tuple[float, float]]:
    """LongHealth stores {"start": [f...], "end": [f...]}; others use [s, e] or [[s, e], ...]."""
    if isinstance(loc, dict):
        s, e = loc.get("start"), loc.get("end")
        s = s if isinstance(s, list) else [s]
        e = e if isinstance(e, list) else [e]
        return [(float(a), float(b)) for a, b in zip(s, e) if a is not None and b is not None]
    if isinstance(loc, (list, tuple)) and loc and isinstance(loc[0], (int, float)):
        return [(float(loc[0]), float(loc[1]))] if len(loc) >= 2 else []
    if isinstance(loc, (list, tuple)):
        return [p for item in loc for p in _fraction_pairs(item)]
    return []


def gold_spans(question: Any, note_lengths: dict[str, int]) -> list[GoldSpan]:
    """Exact spans when the set has them; else fractions of the note length (values > 1 are taken as offsets)."""
    from graph_store.readers import checked_id

    exact = (getattr(question, "extra", {}) or {}).get("answer_spans") or []
    spans = [GoldSpan(checked_id(str(s.get("text") or s.get("note"))), int(s["start"]), int(s["end"])) for s in exact]
    if spans:
        return spans
    for key, loc in (question.answer_location or {}).items():
        k = checked_id(key)
        n = note_lengths.get(k)
        if n is None:
            continue
        for a, b in _fraction_pairs(loc):
            if max(a, b) > 1.0:  # already character offsets
                s, e = int(a), int(b)
            else:
                s, e = int(a * n), int(round(b * n))
            spans.append(GoldSpan(k, s, max(e, s + 1)))
    return spans


def load(paths: list[Path]):
    from graph_store.readers import ReadItem, read_path

    items = []
    for p in paths:
        for it in read_path(p):
            if isinstance(it, ReadItem):
                items.append(it)
            else:
                print(f"warning: {it}", file=sys.stderr)
    return items


QUERY_FORMS = ("question", "question+options", "per-option")
TARGET_FORM = "per-option"  # how the agent retrieves for a multiple-choice question (LongHealth: all questions)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def question_query(q: Any, with_options: bool) -> str:
    """The retrieval query: the question alone, or (as the agent sees a multiple-choice question) with its options."""
    if not with_options or not q.options:
        return q.text
    return " ".join([q.text, *(str(v) for v in q.options.values())])


def evaluate(paths: list[Path], home: Path, embedder: Any, window: int, overlap: int, extract: bool,
             modes=MODES, verbose: bool = False) -> dict[str, Any]:
    """Recall@k of the gold evidence per mode, for the question alone and for question + options as the query."""
    from clinqa.workspace import Workspace
    from retrieval import NoteChunker, Retriever

    items = load(paths)
    ws = Workspace(home, extract=extract)
    ws._chunker = NoteChunker(window=window, overlap=overlap)  # noqa: SLF001 - eval-chosen chunking
    ws._retriever = Retriever(ws, embedder=embedder)  # noqa: SLF001
    t0 = time.perf_counter()
    summary = ws.ingest_items(items, progress=False)
    t_ingest = time.perf_counter() - t0
    retr = ws.retriever
    n_chunks = ws.store.counts()["chunks"]
    by_query: dict[str, dict] = {}
    for form in QUERY_FORMS:
        results: dict[str, dict[int, int]] = {m: {k: 0 for k in KS} for m in modes}
        n_q, misses = 0, []
        for it in items:
            pid = it.patient.patient_id
            lengths = {n.source_key: len(n.text) for n in it.notes}
            texts = {n.source_key: n.text for n in it.notes}
            for q in it.questions:
                gold = gold_spans(q, lengths)
                if not gold:
                    continue
                # copy-forward: the same evidence sentence carried into a later note is the same evidence
                gold_texts = [t for t in (_norm(texts[g.note_key][g.start:g.end]) for g in gold if g.note_key in texts)
                              if len(t) >= 20]
                n_q += 1
                for mode in modes:
                    if form == "per-option" and q.options:
                        hits = retr.retrieve(pid, q.text, k=max(KS), mode=mode, options=list(map(str, q.options.values())))
                    else:
                        hits = retr.retrieve(pid, question_query(q, form == "question+options"), k=max(KS), mode=mode)
                    first = None
                    for h in hits:
                        key = h.note_id.split("/", 1)[1].split("@v")[0]
                        if any(g.note_key == key and h.start < g.end and g.start < h.end for g in gold) or any(
                                t in _norm(h.chunk.text) for t in gold_texts):
                            first = h.rank
                            break
                    for k in KS:
                        results[mode][k] += int(first is not None and first <= k)
                    if first is None or first > 5:
                        misses.append((mode, pid, q.question_id, q.text, first))
        by_query[form] = {"recall": {m: {k: (results[m][k] / n_q if n_q else 0.0) for k in KS} for m in modes},
                          "misses": misses, "questions": n_q}
    main_form = by_query[TARGET_FORM]
    return {"sets": [str(p) for p in paths], "questions": main_form["questions"], "chunks": n_chunks,
            "notes": summary.added, "embedder": retr.embedder.name, "window": window, "overlap": overlap,
            "ingest_s": round(t_ingest, 2), "recall": main_form["recall"], "misses": main_form["misses"],
            "by_query": {f: {"recall": v["recall"]} for f, v in by_query.items()},
            "misses_by_query": {f: v["misses"] for f, v in by_query.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--embedder", default=None, help="sentence-transformers name/path (default packaged all-MiniLM-L6-v2)")
    ap.add_argument("--window", type=int, default=3)
    ap.add_argument("--overlap", type=int, default=1)
    ap.add_argument("--extract", action="store_true", help="run the extractors (SECTION facts) instead of header detection")
    ap.add_argument("--home", type=Path, default=None, help="workspace to build (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args(argv)
    paths = args.sets or [next((p for p in DEFAULT_SETS if p.is_file()), DEFAULT_SETS[-1])]
    with tempfile.TemporaryDirectory() as tmp:
        res = evaluate(paths, args.home or Path(tmp) / "ws", args.embedder, args.window, args.overlap, args.extract)
    print(f"sets: {', '.join(res['sets'])}")
    print(f"questions: {res['questions']}  notes: {res['notes']}  chunks: {res['chunks']}  embedder: {res['embedder']}  "
          f"window/overlap: {res['window']}/{res['overlap']}  ingest+index: {res['ingest_s']} s")
    for form, fig in res["by_query"].items():
        rec = fig["recall"]
        print(f"\nquery = {form}")
        print(f"{'mode':<8} {'recall@5':>9} {'recall@10':>10}")
        for m, r in rec.items():
            print(f"{m:<8} {r[5]:>9.3f} {r[10]:>10.3f}")
        ok_target = rec["hybrid"][10] >= 0.95
        ok_dom = all(rec["hybrid"][k] >= rec[m][k] for m in ("dense", "bm25") for k in KS)
        print(f"{'[target form] ' if form == TARGET_FORM else ''}target hybrid recall@10 >= 0.95: {'met' if ok_target else 'NOT met'}; "
              f"hybrid >= each single mode at 5 and 10: {'yes' if ok_dom else 'NO'}")
        if args.show_misses:
            for mode, pid, qid, text, first in res["misses_by_query"][form]:
                print(f"  miss@5 [{mode}] {pid} q{qid}: {text} (first gold hit at rank {first})")
    if args.json:
        args.json.write_text(json.dumps({k: v for k, v in res.items() if not k.startswith("misses")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
