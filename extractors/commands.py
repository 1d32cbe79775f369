"""CLI of the extractors layer: ``clinqa facts PATIENT [--type T] [--csv FILE]`` (registered by clinqa/cli.py)."""
from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

import typer

from clinqa.errors import InputError
from clinqa.records import Fact, FactType

COLUMNS = [
    "fact_id", "note_id", "type", "name", "text", "start", "end", "section", "assertion", "historical",
    "experiencer", "date", "date_kind", "date_text", "value", "unit", "abnormal", "dose", "route", "frequency",
    "change", "codes", "relations", "provenance",
]


def _row(f: Fact) -> dict:
    a = f.attributes or {}
    return {
        "fact_id": f.fact_id, "note_id": f.note_id, "type": FactType(f.type).value, "name": f.name, "text": f.text,
        "start": f.start, "end": f.end, "section": f.section, "assertion": getattr(f.assertion, "value", f.assertion),
        "historical": bool(f.historical), "experiencer": getattr(f.experiencer, "value", f.experiencer),
        "date": f.date.isoformat() if f.date else None, "date_kind": getattr(f.date_kind, "value", f.date_kind),
        "date_text": f.date_text,
        "value": a.get("value") if FactType(f.type) in (FactType.LAB, FactType.VITAL, FactType.DATE) else None,
        "unit": a.get("unit"), "abnormal": a.get("abnormal"), "dose": a.get("dose"), "route": a.get("route"),
        "frequency": a.get("frequency"), "change": a.get("change"),
        "codes": ";".join(f"{k}:{v}" for k, v in sorted((f.codes or {}).items())),
        "relations": ";".join(f"{r.kind}->{r.target}" for r in f.relations),
        "provenance": ";".join(f.provenance),
    }


def facts_frame(facts: Iterable[Fact]):
    """One row per fact, the columns in ``COLUMNS`` (codes/relations/provenance as ';'-joined strings)."""
    import pandas as pd

    return pd.DataFrame([_row(f) for f in facts], columns=COLUMNS)


def parse_types(types: str | None) -> set[FactType] | None:
    if not types:
        return None
    out = set()
    for t in types.split(","):
        t = t.strip().upper()
        if not t:
            continue
        try:
            out.add(FactType(t))
        except ValueError:
            raise InputError(f"unknown fact type {t!r}; use one of: {', '.join(x.value for x in FactType)}") from None
    return out


def render_table(df, max_text: int = 40) -> str:
    if df.empty:
        return "no facts"
    cols = ["note_id", "type", "name", "text", "section", "assertion", "date", "date_kind", "detail"]
    rows = []
    for r in df.to_dict("records"):
        detail = []
        for k in ("value", "unit", "abnormal", "dose", "route", "frequency", "change"):
            v = r.get(k)
            if v is not None and v == v and v != "":  # skip None/NaN
                detail.append(f"{v}")
        if r.get("codes"):
            detail.append(f"[{r['codes']}]")
        text = str(r["text"]).replace("\n", " ")
        rows.append([str(r["note_id"]), r["type"], str(r["name"])[:max_text], text[:max_text], str(r["section"] or "-")[:28],
                     r["assertion"], r["date"] or "-", r["date_kind"], " ".join(detail)])
    widths = [max(len(c), *(len(str(x[i])) for x in rows)) for i, c in enumerate(cols)]
    widths[-1] = len(cols[-1])
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    for x in rows:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(x, widths)).rstrip())
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("facts")
    def facts_cmd(
        patient: str = typer.Argument(..., help="patient id"),
        type: Optional[str] = typer.Option(None, "--type", "-t", help="comma-separated fact types (PROBLEM,DRUG,LAB,VITAL,PROCEDURE,SECTION,DATE)"),  # noqa: A002
        csv: Optional[Path] = typer.Option(None, "--csv", help="also write all matching facts to this CSV file ('-' = stdout)"),
        note: Optional[str] = typer.Option(None, "--note", help="only facts of this note id"),
    ) -> None:
        """Print a patient's extracted facts as a table (and export them as CSV)."""
        from clinqa.workspace import Workspace

        wanted = parse_types(type)
        ws = Workspace(extract=False, chunk=False)
        facts = ws.store.facts(patient, note_id=note)
        if wanted is not None:
            facts = [f for f in facts if FactType(f.type) in wanted]
        df = facts_frame(facts)
        if csv is not None and str(csv) == "-":
            df.to_csv(sys.stdout, index=False)
            return
        typer.echo(render_table(df))
        typer.echo(f"{len(df)} fact(s) for {patient}", err=True)
        if csv is not None:
            csv.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(csv, index=False)
            typer.echo(f"wrote {csv}: {len(df)} row(s)", err=True)
