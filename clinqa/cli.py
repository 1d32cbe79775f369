"""`clinqa` command line: one typer app; each layer adds its commands via `<layer>.commands.register(app)`."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from clinqa.errors import ClinqaError, InputError, NotAvailableError, StorageError, WorkspaceBusyError

# Exit codes: 0 ok; 1 nothing ingested / `check` found problems; 2 a clear user error (bad value, unknown
# patient); 3 an ingest batch partly failed; 4 the workspace cannot be written (disk full, read-only, damaged
# store); 5 another process kept the workspace's writer lock too long; 130 interrupted.
EXIT_STORAGE = 4
EXIT_BUSY = 5

app = typer.Typer(
    name="clinqa",
    help="On-prem clinical question answering over a patient's notes, with cited and verified answers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Layer modules that contribute commands, and the commands each one is expected to add.
LAYER_COMMANDS: dict[str, list[str]] = {
    "extractors.commands": ["facts"],
    "graph_store.commands": ["graph", "timeline"],
    "retrieval.commands": ["search"],
    "agent.commands": ["ask"],
    "agent.llm.commands": ["llm"],
    "evals.commands": ["eval", "synth"],
    "ui.commands": ["ui"],
}


@app.callback()
def _global(
    home: Optional[Path] = typer.Option(
        None, "--home", envvar="CLINQA_HOME", help="Workspace directory (default ./clinqa-data)."
    ),
) -> None:
    if home is not None:
        os.environ["CLINQA_HOME"] = str(home)


def _workspace(**kw):
    from clinqa.workspace import Workspace

    return Workspace(**kw)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .txt/.md folders, LongHealth JSON, FHIR JSON, CSV."),
    no_extract: bool = typer.Option(False, "--no-extract", help="Store notes only; skip extraction and indexing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ray: Optional[str] = typer.Option(
        None, "--ray", metavar="ADDRESS",
        help="Extract and embed on a Ray cluster: `local` starts one on this machine; auto, HOST:PORT or "
             "ray://HOST:PORT joins one. This process stays the store's only writer (needs the scale extra)."),
    ray_workers: Optional[int] = typer.Option(
        None, "--ray-workers", min=1, help="Extraction actors with --ray (default: the cluster's CPUs)."),
) -> None:
    """Ingest notes; bad files are reported one line each and skipped, the rest of the batch goes on.

    Exit code: 0 when every input was ingested, unchanged or deliberately skipped; 3 when the batch partly
    failed; 1 when nothing was ingested; 4 when the workspace cannot be written (disk full, read-only).
    """
    if ray is None:
        summary = _workspace(extract=not no_extract, chunk=not no_extract).ingest(paths, progress=not quiet)
    else:
        if no_extract:
            raise InputError("--ray distributes extraction and embedding; it cannot be combined with --no-extract")
        from scale.cluster import connect
        from scale.ingest import ray_ingest

        with connect(ray, num_cpus=ray_workers) as cluster:  # an unreachable address fails before anything is opened
            summary = ray_ingest(_workspace(), paths, cluster, workers=ray_workers, progress=not quiet)
    typer.echo(summary.render())
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


@app.command()
def check() -> None:
    """Check the store and the search indexes; exit code 1 when anything is wrong (each problem one line)."""
    from clinqa.workspace import Workspace

    try:
        ws = Workspace(extract=False)
    except StorageError as e:
        typer.echo(f"PROBLEM {e}")
        raise typer.Exit(1) from None
    problems = ws.store.check()
    problems += ws.retriever.check()
    for p in problems:
        typer.echo(f"PROBLEM {p}")
    if problems:
        typer.echo(f"{len(problems)} problem(s); `clinqa reindex` rebuilds the indexes from the store")
        raise typer.Exit(1)
    c = ws.store.counts()
    typer.echo(f"ok: store and indexes consistent ({c['patients']} patient(s), {c['notes']} note(s), {c['chunks']} chunk(s))")


@app.command()
def patients() -> None:
    """List patients with their number of notes and note date range."""
    rows = _workspace(extract=False, chunk=False).store.patient_summaries()
    if not rows:
        typer.echo("no patients yet: run `clinqa ingest PATH`")
        return
    typer.echo(f"{'patient':<20} {'notes':>5}  {'first':<10}  {'last':<10}  name")
    for r in rows:
        typer.echo(f"{r['patient_id']:<20} {r['n_notes']:>5}  {r['first'] or '-':<10}  {r['last'] or '-':<10}  {r['name'] or ''}")


@app.command()
def notes(patient: str = typer.Argument(..., help="Patient id.")) -> None:
    """List a patient's notes (id, date, type, size, flags)."""
    store = _workspace(extract=False, chunk=False).store
    for n in store.notes(patient):
        date = n.note_date.isoformat() if n.note_date else "-"
        if not n.date_known:
            date += "?"
        flags = f"  [{', '.join(n.flags)}]" if n.flags else ""
        typer.echo(f"{n.note_id:<40} {date:<11} {n.note_type:<22} {len(n.text):>7} chars  v{n.version}{flags}")


@app.command()
def delete(
    patient: str = typer.Argument(..., help="Patient id."),
    note: Optional[str] = typer.Option(None, "--note", help="Delete only this note (all its versions)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a patient (or one note) and everything derived from it."""
    ws = _workspace(extract=False)
    ws.store.require_patient(patient)
    what = f"note {note}" if note else f"patient {patient} and all notes"
    if not yes and not typer.confirm(f"Delete {what}?"):
        raise typer.Exit(1)
    if note:
        ws.delete_note(note)
    else:
        ws.delete_patient(patient)
    typer.echo(f"deleted {what}")


@app.command()
def demo(
    backend: str = typer.Option(os.environ.get("CLINQA_LLM_BACKEND", "local"), help="local | openai | extractive"),
    model: Optional[str] = typer.Option(None, help="Packaged model name or GGUF path (local backend)."),
    home: Optional[Path] = typer.Option(None, help="Workspace for the demo (default: a fresh ./clinqa-data/demo)."),
) -> None:
    """Ingest the bundled sample patients and answer their sample questions with citations."""
    from clinqa.demo import run_demo

    run_demo(home=home, backend=backend, model=model)


def _register_layers() -> None:
    for module, names in LAYER_COMMANDS.items():
        try:
            mod = importlib.import_module(module)
            mod.register(app)
        except ImportError as e:
            missing = str(e)
            for name in names:
                _placeholder(name, module, missing)


def _placeholder(name: str, module: str, why: str) -> None:
    def _cmd(args: Optional[list[str]] = typer.Argument(None)) -> None:
        raise NotAvailableError(f"`clinqa {name}` is not available yet ({module} is not installed: {why})")

    _cmd.__doc__ = f"(not available yet: {module})"
    app.command(name, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_cmd)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _register_layers()
    try:
        app(args=argv)  # click handles its own usage errors, --help and exit codes
    except StorageError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(EXIT_STORAGE)
    except WorkspaceBusyError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(EXIT_BUSY)
    except ClinqaError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
