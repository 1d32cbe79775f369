"""Metrics, JSON/Markdown reports, PNG plots and run comparison for the eval harness."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ABSTAIN = "F"


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def _acc(recs: list[dict]) -> dict[str, Any]:
    n = len(recs)
    return {"n": n, "accuracy": round(sum(r["correct"] for r in recs) / n, 4) if n else None}


def _by_wording(records: list[dict]) -> dict[str, dict[str, Any]]:
    """Accuracy per task on the wordings a system may be tuned on and on the held-back ones (sets made with
    ``evals.synth.generate(..., wordings=True)``), so a gain that only holds on familiar phrasing shows."""
    from evals.synth import HELD_OUT_WORDINGS, TUNING_WORDINGS

    out: dict[str, dict[str, Any]] = {}
    for t in sorted({r["task"] for r in records}):
        for ws in (TUNING_WORDINGS, HELD_OUT_WORDINGS):
            out[f"task{t}/wordings {ws[0]}-{ws[-1]}"] = _acc([r for r in records if r["task"] == t and r.get("wording") in ws])
    return out


def compute_metrics(records: list[dict]) -> dict[str, Any]:
    """Accuracy per task and kind, abstention P/R, citation quality, verification, latency, tokens."""
    m: dict[str, Any] = {"n_questions": len(records), "overall": _acc(records)}
    by_task: dict[int, list[dict]] = defaultdict(list)
    by_task_kind: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in records:
        by_task[r["task"]].append(r)
        by_task_kind[(r["task"], r["kind"])].append(r)
    m["by_task"] = {f"task{t}": _acc(rs) for t, rs in sorted(by_task.items())}
    m["by_kind"] = {f"task{t}/{k}": _acc(rs) for (t, k), rs in sorted(by_task_kind.items())}
    if any("wording" in r for r in records):
        m["by_wording"] = _by_wording(records)

    pred_abst = [r for r in records if r.get("pred") == ABSTAIN]
    gold_abst = [r for r in records if r["gold"] == ABSTAIN]
    tp = sum(1 for r in pred_abst if r["gold"] == ABSTAIN)
    m["abstention"] = {
        "predicted": len(pred_abst), "gold": len(gold_abst),
        "precision": round(tp / len(pred_abst), 4) if pred_abst else None,
        "recall": round(tp / len(gold_abst), 4) if gold_abst else None,
    }
    cits = sum(len(r.get("citations", [])) for r in records)
    valid = sum(r.get("citations_valid", 0) for r in records)
    with_gold = [r for r in records if r.get("has_gold_spans")]
    m["citations"] = {
        "total": cits,
        "valid_rate": round(valid / cits, 4) if cits else None,
        "answers_citing_gold_evidence": round(sum(1 for r in with_gold if r.get("citations_on_gold", 0) > 0) / len(with_gold), 4)
        if with_gold else None,
    }
    answered = [r for r in records if r.get("verification") not in (None, "error")]
    status = defaultdict(int)
    for r in answered:
        status[r["verification"]] += 1
    # "caught": verification refused a draft answer that would have been wrong.
    caught = [r for r in answered if r.get("draft_choice") and r.get("draft_choice") != r["gold"]
              and r.get("pred") != r.get("draft_choice")]
    overturned_right = [r for r in answered if r.get("draft_choice") and r.get("draft_choice") == r["gold"]
                        and r.get("pred") != r["gold"]]
    m["verification"] = {
        "status_counts": dict(status),
        "pass_rate": round(status.get("verified", 0) / len(answered), 4) if answered else None,
        "caught_wrong_answers": len(caught),
        "rejected_right_answers": len(overturned_right),
        "verified_accuracy": _acc([r for r in answered if r["verification"] == "verified"])["accuracy"],
        # the failure clinqa exists to prevent: a wrong answer shown as verified, as a share of all answers
        "wrong_verified_share": round(sum(1 for r in answered if r["verification"] == "verified" and not r["correct"])
                                      / len(answered), 4) if answered else None,
        "risk_coverage": risk_coverage(records),
    }
    lat = [r["latency_s"] for r in records if r.get("latency_s") is not None]
    m["latency_s"] = {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "mean": round(float(np.mean(lat)), 3) if lat else None}
    toks = [r.get("prompt_tokens", 0) for r in records]
    m["prompt_tokens"] = {"mean": round(float(np.mean(toks)), 1) if toks else None, "p95": _pct(toks, 95)}
    m["errors"] = sum(1 for r in records if r.get("error"))
    return m


def markdown(metrics: dict[str, Any]) -> str:
    cfg = metrics.get("config", {})
    lines = [
        f"# clinqa eval: backend={cfg.get('backend')} model={cfg.get('model') or 'default'} mode={cfg.get('mode')}",
        "", f"Set: `{cfg.get('set')}` — {metrics['n_questions']} questions; ingest {metrics.get('ingest_s')} s", "",
        *([f"**Partial run**: {cov['answered']} of {cov['planned']} planned questions answered "
           "(resume with the same command and --out).", ""] if (cov := metrics.get("coverage") or {}).get("partial") else []),
        "| task | n | accuracy |", "|---|---:|---:|",
    ]
    for t, a in metrics["by_task"].items():
        lines.append(f"| {t} | {a['n']} | {a['accuracy']} |")
    lines += ["", "| task/kind | n | accuracy |", "|---|---:|---:|"]
    for k, a in metrics["by_kind"].items():
        lines.append(f"| {k} | {a['n']} | {a['accuracy']} |")
    if "by_wording" in metrics:
        lines += ["", "| task/question wordings | n | accuracy |", "|---|---:|---:|"]
        for k, a in metrics["by_wording"].items():
            lines.append(f"| {k} | {a['n']} | {a['accuracy']} |")
    ab, ci, ve, la, pt = (metrics[k] for k in ("abstention", "citations", "verification", "latency_s", "prompt_tokens"))
    lines += [
        "",
        f"- abstention: precision {ab['precision']}, recall {ab['recall']} (predicted {ab['predicted']}, gold {ab['gold']})",
        f"- citations: {ci['total']} total, valid {ci['valid_rate']}, answers citing gold evidence {ci['answers_citing_gold_evidence']}",
        f"- verification: pass rate {ve['pass_rate']}, {dict(ve['status_counts'])}, caught wrong answers {ve['caught_wrong_answers']}, "
        f"rejected right answers {ve['rejected_right_answers']}, accuracy of verified answers {ve['verified_accuracy']}, "
        f"wrong answers shown as verified {ve.get('wrong_verified_share')} of all answers; risk-coverage (coverage, risk) "
        f"{ve.get('risk_coverage')}",
        f"- latency: p50 {la['p50']} s, p95 {la['p95']} s; prompt tokens mean {pt['mean']}, p95 {pt['p95']}",
        f"- errors: {metrics['errors']}",
    ]
    return "\n".join(lines) + "\n"


def write_report(metrics: dict[str, Any], records: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(metrics, indent=2))
    (out / "report.md").write_text(markdown(metrics))
    plot_run(metrics, records, out)


def plot_run(metrics: dict[str, Any], records: list[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        paths.append(out / name)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    tasks = list(metrics["by_task"])
    axes[0].bar(tasks, [metrics["by_task"][t]["accuracy"] or 0 for t in tasks], color="#3b7dd8")
    axes[0].set_ylim(0, 1)
    axes[0].set_title("accuracy by task")
    kinds = list(metrics["by_kind"])
    axes[1].barh(kinds, [metrics["by_kind"][k]["accuracy"] or 0 for k in kinds], color="#4caf50")
    axes[1].set_xlim(0, 1)
    axes[1].set_title("accuracy by task/kind")
    save(fig, "accuracy.png")
    lat = [r["latency_s"] for r in records if r.get("latency_s") is not None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(lat, bins=30, color="#d8783b")
    ax.set_xlabel("seconds per question")
    ax.set_title("latency distribution")
    save(fig, "latency.png")
    curve = risk_coverage(records)
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([c for c, _ in curve], [r for _, r in curve], marker="o", color="#7b3bd8")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(0.05, max(r for _, r in curve) * 1.1))
        ax.set_xlabel("coverage (share of questions answered)")
        ax.set_ylabel("risk (share of those answers wrong)")
        ax.set_title("risk-coverage: verified first, then the rest")
        save(fig, "risk_coverage.png")
    return paths


_TRUST = {"verified": 2, "partial": 1, "unsupported": 1}


def risk_coverage(records: list[dict]) -> list[list[float]]:
    """(coverage, risk) when answering only down to each trust level: verified answers whose option alone passed
    the verifier, other verified answers, then unverified ones; abstentions are never answers."""
    def trust(r: dict) -> tuple[int, int]:
        n_ok = r.get("options_verified")
        return _TRUST.get(r.get("verification"), 0), 1 if n_ok == 1 else 0

    answered = [r for r in records if r.get("verification") not in (None, "error", "abstained")]
    if not records or not answered:
        return []
    levels = sorted({trust(r) for r in answered}, reverse=True)
    out = []
    for lv in levels:
        kept = [r for r in answered if trust(r) >= lv]
        out.append([round(len(kept) / len(records), 4), round(sum(not r["correct"] for r in kept) / len(kept), 4)])
    return out


def load_run(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    p = p / "report.json" if p.is_dir() else p
    if not p.is_file():
        from clinqa.errors import InputError

        raise InputError(f"{path}: no report.json (is it an eval output directory?)")
    return json.loads(p.read_text())


def read_log(log: Path) -> dict[str, dict]:
    """A run's per-question records by key, from its ``log.jsonl``; a torn last line (interrupted run) is skipped."""
    recs: dict[str, dict] = {}
    if log.is_file():
        for line in log.read_text().splitlines():
            try:
                r = json.loads(line)
                recs[r["key"]] = r
            except (ValueError, KeyError):
                continue
    return recs


def _log_records(path: str | Path) -> list[dict] | None:
    p = Path(path)
    log = (p if p.is_dir() else p.parent) / "log.jsonl"
    return list(read_log(log).values()) if log.is_file() else None


def compare(run_a: str | Path, run_b: str | Path, out_png: Path | None = None) -> str:
    """Text table of the differences between two runs (b - a); optional side-by-side plot.

    When the runs cover different questions (a partial or interrupted run), both are scored again on the
    questions they have in common, so the difference compares like with like; the header says so.
    """
    a, b = load_run(run_a), load_run(run_b)
    note = ""
    ra, rb = _log_records(run_a), _log_records(run_b)
    if ra is not None and rb is not None:
        ka, kb = {r["key"] for r in ra}, {r["key"] for r in rb}
        if ka != kb:
            common = ka & kb
            if not common:
                from clinqa.errors import InputError

                raise InputError(f"{run_a} and {run_b} have no question in common")
            a = {**compute_metrics([r for r in ra if r["key"] in common]), "config": a.get("config", {})}
            b = {**compute_metrics([r for r in rb if r["key"] in common]), "config": b.get("config", {})}
            note = f"compared on the {len(common)} questions both runs answered (a: {len(ka)}, b: {len(kb)})\n"

    def label(m):
        c = m.get("config", {})
        return f"{c.get('backend')}/{c.get('mode')}"

    rows = [("overall", a["overall"]["accuracy"], b["overall"]["accuracy"])]
    for t in sorted(set(a["by_task"]) | set(b["by_task"])):
        rows.append((t, a["by_task"].get(t, {}).get("accuracy"), b["by_task"].get(t, {}).get("accuracy")))
    for k in sorted(set(a["by_kind"]) | set(b["by_kind"])):
        rows.append((k, a["by_kind"].get(k, {}).get("accuracy"), b["by_kind"].get(k, {}).get("accuracy")))
    for k in sorted(set(a.get("by_wording", {})) | set(b.get("by_wording", {}))):
        rows.append((k, a.get("by_wording", {}).get(k, {}).get("accuracy"), b.get("by_wording", {}).get(k, {}).get("accuracy")))
    rows += [
        ("latency p50 s", a["latency_s"]["p50"], b["latency_s"]["p50"]),
        ("latency p95 s", a["latency_s"]["p95"], b["latency_s"]["p95"]),
        ("prompt tokens mean", a["prompt_tokens"]["mean"], b["prompt_tokens"]["mean"]),
        ("verification pass", a["verification"]["pass_rate"], b["verification"]["pass_rate"]),
    ]
    la, lb = label(a), label(b)
    out = [f"{'metric':<32} {la:>18} {lb:>18} {'diff':>9}"]
    for name, x, y in rows:
        d = f"{y - x:+.3f}" if isinstance(x, (int, float)) and isinstance(y, (int, float)) else "-"
        out.append(f"{name:<32} {str(x):>18} {str(y):>18} {d:>9}")
    if out_png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = [r[0] for r in rows if r[0].startswith("task") or r[0] == "overall"]
        xs = np.arange(len(names))
        va = [next(r[1] for r in rows if r[0] == n) or 0 for n in names]
        vb = [next(r[2] for r in rows if r[0] == n) or 0 for n in names]
        fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.8), 4))
        ax.bar(xs - 0.2, va, 0.4, label=la)
        ax.bar(xs + 0.2, vb, 0.4, label=lb)
        ax.set_xticks(xs, names, rotation=60, ha="right")
        ax.set_ylim(0, 1)
        ax.legend()
        ax.set_title("accuracy: side by side")
        fig.tight_layout()
        fig.savefig(out_png, dpi=100)
        plt.close(fig)
    return note + "\n".join(out)
