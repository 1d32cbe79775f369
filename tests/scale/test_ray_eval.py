"""`clinqa eval --ray`: the same records and report as the single-process run (extractive backend)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.harness import EvalConfig, build_tasks, load_set, run_eval

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")]

DEV = Path(__file__).resolve().parents[2] / "evals" / "data" / "dev.json"
TIMING = ("latency_s",)


def _records(run: Path) -> dict[str, dict]:
    lines = (run / "log.jsonl").read_text().splitlines()
    return {r["key"]: {k: v for k, v in r.items() if k not in TIMING} for r in map(json.loads, lines)}


def _scores(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("latency_s", "ingest_s", "config")}


def test_by_patient_keeps_planned_order():
    from scale.eval import by_patient

    _, items = build_tasks(load_set(DEV), [1, 2], n_distractors=2)
    groups = by_patient(items)
    assert [g[0].patient_id for g in groups] == list(dict.fromkeys(it.patient_id for it in items))
    for g in groups:
        assert g == [it for it in items if it.patient_id == g[0].patient_id]


def test_ray_eval_gives_the_single_process_predictions(cluster, hashing, tmp_path):
    from scale.eval import ray_fan_out

    cfg = EvalConfig(backend="extractive", limit=3)
    one = run_eval(DEV, tmp_path / "one", cfg, progress=False)
    ray = run_eval(DEV, tmp_path / "ray", cfg, progress=False, fan_out=ray_fan_out(cfg, cluster, workers=2))
    assert _records(tmp_path / "ray") == _records(tmp_path / "one")
    assert len(_records(tmp_path / "one")) == 9
    assert _scores(ray) == _scores(one)


def test_ray_eval_resumes_a_single_process_run(cluster, hashing, tmp_path):
    """The log is the one source of truth: a run cut short without Ray is finished with it, nothing asked twice."""
    from scale.eval import ray_fan_out

    out = tmp_path / "run"
    run_eval(DEV, out, EvalConfig(backend="extractive", limit=1), progress=False)
    first = _records(out)
    cfg = EvalConfig(backend="extractive", limit=2)
    run_eval(DEV, out, cfg, progress=False, fan_out=ray_fan_out(cfg, cluster, workers=2))
    keys = [json.loads(line)["key"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6 and set(first) < set(keys)
    report = json.loads((out / "report.json").read_text())
    assert report["coverage"] == {"answered": 6, "planned": 6, "partial": False}
