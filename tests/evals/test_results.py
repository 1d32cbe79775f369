"""The committed runs in evals/results/ are what the harness wrote: every record belongs to the run's planned
questions, is scored against the right gold letter, quotes its citations from the real note text, and the
committed report is recomputed from the committed log (so a figure quoted from a report can be re-derived)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.harness import EvalConfig, build_tasks, load_set, select_items
from evals.report import compute_metrics, read_log

ROOT = Path(__file__).resolve().parents[2]
RUNS = sorted(p.parent for p in (ROOT / "evals" / "results").glob("*/log.jsonl"))


def _plan(run: Path):
    conf = json.loads((run / "config.json").read_text())
    set_path = ROOT / conf.pop("set")
    if not set_path.exists():  # a run on a shared dev set (../shared/...) when that folder is not here
        pytest.skip(f"{set_path} is not present")
    cfg = EvalConfig(**{k: v for k, v in conf.items() if k in EvalConfig.__dataclass_fields__})
    corpus, items = build_tasks(load_set(set_path), cfg.tasks, cfg.n_distractors, cfg.seed)
    if cfg.limit:
        items = select_items(items, cfg.limit)
    text = {f"{p.patient_id}/{n.source_key}": n.text for p, notes in corpus for n in notes}
    return items, text


@pytest.mark.skipif(not RUNS, reason="no committed runs in evals/results/")
@pytest.mark.parametrize("run", RUNS, ids=[p.name for p in RUNS])
def test_committed_run_is_consistent(run: Path):
    items, text = _plan(run)
    by_key = {it.key: it for it in items}
    done = read_log(run / "log.jsonl")
    assert done, f"{run}: empty log"
    for key, rec in done.items():
        it = by_key.get(key)
        assert it is not None, f"{run}: {key} is not a question of this run's configuration"
        assert rec["gold"] == it.gold and rec["task"] == it.task
        assert rec["correct"] == (rec["pred"] is not None and rec["pred"] == it.gold)
        for c in rec["citations"]:
            note = text.get(c["note_id"])
            assert note is not None, f"{key}: cites unknown note {c['note_id']}"
            assert 0 <= c["start"] < c["end"] <= len(note), f"{key}: citation offsets outside the note"
            assert note[c["start"]:c["end"]][:200] == c["quote"], f"{key}: quote is not the note text at its offsets"
    report = json.loads((run / "report.json").read_text())
    records = [done[it.key] for it in items if it.key in done]
    again = compute_metrics(records)
    for field, value in again.items():
        assert report.get(field) == value, f"{run}: report.json {field} is not what the log gives"
    assert report["coverage"] == {"answered": len(records), "planned": len(items), "partial": len(records) < len(items)}
