"""Export a patient graph (node-link JSON, GraphML) and a timeline (CSV).

GraphML only holds scalar attributes, so dates become ISO strings, dicts and
lists become JSON strings and None values are dropped; node-link JSON keeps the
same flattening so both files describe the same graph.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import networkx as nx

from graph_store.queries import TimelineEvent

FORMATS = ("node-link", "graphml")
TIMELINE_COLUMNS = (
    "date", "date_kind", "event_type", "name", "detail", "concept_key", "note_id", "note_date", "start", "end",
    "quote", "section", "fact_id", "n_mentions",
)


def _scalar(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple, set)):
        v = sorted(value) if isinstance(value, set) else value
        return json.dumps(v, default=str, sort_keys=True)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def flat_graph(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy with only scalar attribute values (what GraphML can carry)."""
    out = nx.MultiDiGraph()
    out.graph.update({k: _scalar(v) for k, v in g.graph.items() if v is not None})
    for n, data in g.nodes(data=True):
        out.add_node(n, **{k: _scalar(v) for k, v in data.items() if v is not None})
    for u, v, k, data in g.edges(keys=True, data=True):
        out.add_edge(u, v, key=k, **{a: _scalar(b) for a, b in data.items() if b is not None})
    return out


def node_link(g: nx.MultiDiGraph) -> dict:
    return nx.node_link_data(flat_graph(g), edges="edges")


def write_graph(g: nx.MultiDiGraph, path: str | Path, fmt: str = "node-link") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "node-link":
        path.write_text(json.dumps(node_link(g), indent=1, ensure_ascii=False), "utf-8")
    elif fmt == "graphml":
        nx.write_graphml(flat_graph(g), path, encoding="utf-8")
    else:
        raise ValueError(f"unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")
    return path


def graph_text(g: nx.MultiDiGraph, fmt: str = "node-link") -> str:
    if fmt == "node-link":
        return json.dumps(node_link(g), indent=1, ensure_ascii=False)
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(flat_graph(g)))
    raise ValueError(f"unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")


def timeline_rows(events: Iterable[TimelineEvent]) -> list[dict[str, Any]]:
    rows = []
    for e in events:
        ev = e.evidence
        rows.append({
            "date": e.date.isoformat() if e.date else "", "date_kind": e.date_kind, "event_type": e.event_type,
            "name": e.name, "detail": e.detail, "concept_key": e.concept_key, "note_id": ev.note_id,
            "note_date": ev.note_date.isoformat() if ev.note_date else "", "start": ev.start, "end": ev.end,
            "quote": ev.quote, "section": ev.section or "", "fact_id": e.fact_id, "n_mentions": len(e.all_evidence),
        })
    return rows


def write_timeline_csv(events: Iterable[TimelineEvent], out: str | Path | IO[str]) -> None:
    rows = timeline_rows(events)
    if isinstance(out, (str, Path)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="", encoding="utf-8") as fh:
            _write_csv(rows, fh)
    else:
        _write_csv(rows, out)


def timeline_csv(events: Iterable[TimelineEvent]) -> str:
    buf = io.StringIO()
    _write_csv(timeline_rows(events), buf)
    return buf.getvalue()


def _write_csv(rows: list[dict[str, Any]], fh: IO[str]) -> None:
    w = csv.DictWriter(fh, fieldnames=TIMELINE_COLUMNS)
    w.writeheader()
    w.writerows(rows)
