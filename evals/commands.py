"""`clinqa eval` and `clinqa synth`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        set_path: Optional[Path] = typer.Argument(None, help="LongHealth-style JSON set (default: the shipped dev set)."),
        backend: str = typer.Option("local", help="extractive | local | openai"),
        model: Optional[str] = typer.Option(None, help="Packaged model name or GGUF path (default qwen2.5-1.5b)."),
        mode: str = typer.Option("stack", help="stack (assembled context) | collapsed (raw notes)"),
        tasks: str = typer.Option("1,2,3", help="Comma-separated tasks: 1 own notes, 2 + distractors, 3 only distractors."),
        out: Optional[Path] = typer.Option(None, help="Output directory (resumable; default runs/<backend>-<mode>)."),
        limit: Optional[int] = typer.Option(None, help="At most this many questions per task, taken round-robin over the patients."),
        concurrency: int = typer.Option(1, help="Questions in flight at once."),
        distractors: int = typer.Option(4, help="Distractor notes per patient in task 2."),
        seed: int = typer.Option(0),
        base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible base URL (openai backend, e.g. vLLM)."),
        compare: Optional[list[Path]] = typer.Option(None, "--compare", help="Compare two run directories instead (give --compare twice)."),
        report_only: bool = typer.Option(False, "--report-only",
                                         help="Rewrite the report of --out from its log (e.g. an interrupted run)."),
        ray: Optional[str] = typer.Option(
            None, "--ray", metavar="ADDRESS",
            help="Answer on a Ray cluster, one patient's questions per actor call: `local` starts one here; auto, "
                 "HOST:PORT or ray://HOST:PORT joins one. The log is still written by this process alone."),
        ray_workers: Optional[int] = typer.Option(None, "--ray-workers", min=1,
                                                  help="Answering actors with --ray (default: the cluster's CPUs)."),
    ) -> None:
        """Evaluate the agent on a LongHealth-style set (tasks 1-3), or compare two runs."""
        from evals import report

        if compare:
            if len(compare) != 2:
                raise typer.BadParameter("--compare takes exactly two run directories")
            typer.echo(report.compare(compare[0], compare[1], out_png=Path(compare[1]) / "compare.png"))
            return
        from evals.harness import EvalConfig, report_from_log, run_eval

        if report_only:
            if out is None:
                raise typer.BadParameter("--report-only needs --out RUN_DIR")
            report_from_log(out)
            typer.echo((out / "report.md").read_text())
            return

        set_path = set_path or Path(__file__).parent / "data" / "dev.json"
        try:
            task_list = sorted({int(t) for t in tasks.split(",") if t.strip()})
        except ValueError:
            raise typer.BadParameter(f"--tasks must be numbers like 1,2,3 (got {tasks!r})") from None
        if not task_list or not set(task_list) <= {1, 2, 3}:
            raise typer.BadParameter("--tasks must be a subset of 1,2,3")
        cfg = EvalConfig(backend=backend, model=model, mode=mode, tasks=task_list, n_distractors=distractors,
                         seed=seed, concurrency=concurrency, limit=limit, base_url=base_url)
        out = out or Path("runs") / f"{backend}-{mode}"
        if ray is None:
            run_eval(set_path, out, cfg)
        else:
            from scale.cluster import connect
            from scale.eval import ray_fan_out

            with connect(ray, num_cpus=ray_workers) as cluster:  # an unreachable address fails before any write
                run_eval(set_path, out, cfg, fan_out=ray_fan_out(cfg, cluster, ray_workers))
        typer.echo((out / "report.md").read_text())
        typer.echo(f"report: {out / 'report.json'}  plots: {out / 'accuracy.png'}, {out / 'latency.png'}")

    @app.command("synth")
    def synth_cmd(
        patients: int = typer.Option(10, help="Number of synthetic patients."),
        seed: int = typer.Option(0),
        out: Path = typer.Option(Path("synth.json"), help="Output LongHealth-style JSON."),
    ) -> None:
        """Generate a synthetic LongHealth-style benchmark with ground truth."""
        from evals.synth import generate

        data = generate(patients, seed)
        out.write_text(json.dumps(data, indent=1))
        n_q = sum(len(p.get("questions", [])) for p in data.values())
        typer.echo(f"wrote {out}: {len(data)} patients, {n_q} questions")
