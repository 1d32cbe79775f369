"""`clinqa demo` / `make demo`: the main job on the embedded default, end to end."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer

from clinqa.errors import ClinqaError

SAMPLES = Path(__file__).parent / "samples"


def sample_files() -> list[Path]:
    path = SAMPLES / "sample_patients.json"
    if not path.is_file():
        raise ClinqaError(f"bundled sample data missing: {path}")
    return [path]


def run_demo(home: Path | None = None, backend: str = "local", model: str | None = None, max_questions: int | None = None) -> list:
    """Ingest the sample patients into a fresh workspace and answer their questions, printing cited answers."""
    from clinqa.workspace import Workspace

    home = Path(home) if home else Path("clinqa-data") / "demo"
    if home.exists():
        shutil.rmtree(home)
    t0 = time.perf_counter()
    ws = Workspace(home)
    summary = ws.ingest(sample_files(), progress=True)
    typer.echo(summary.render())
    typer.echo(f"ingest took {time.perf_counter() - t0:.1f}s -> workspace {home}")
    counts = ws.store.counts()
    typer.echo("store: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    try:
        from agent import ClinicalQA
    except ImportError as e:
        typer.echo(f"agent layer not available yet ({e}); stopping after ingestion")
        return []
    from agent.render import render_answer

    questions = ws.store.questions()
    if max_questions:
        questions = questions[:max_questions]
    answers = []
    correct = 0
    qa = ClinicalQA(ws, backend=backend, model=model)
    try:
        for q in questions:
            typer.echo("\n" + "=" * 100)
            typer.echo(f"[{q.patient_id}] Q{q.question_id}: {q.text}")
            for letter, text in q.options.items():
                typer.echo(f"   {letter}. {text}")
            ans = qa.ask(q.patient_id, q.text, options=q.options or None)
            answers.append(ans)
            typer.echo(render_answer(ans))
            gold = q.correct_letter
            if gold:
                ok = ans.choice == gold
                correct += ok
                typer.echo(f"   gold: {gold} -> {'CORRECT' if ok else 'WRONG'}")
    finally:
        qa.close()
    graded = sum(1 for q in questions if q.correct_letter)
    verified = sum(1 for a in answers if a.verification.status == "verified")
    typer.echo("\n" + "=" * 100)
    typer.echo(f"demo: {len(answers)} questions, {correct}/{graded} correct, {verified} verified, backend={backend}")
    return answers
