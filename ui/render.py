"""Pure rendering helpers for the clinqa web UI (no Gradio import: unit-testable and fast).

Everything that puts note text into HTML goes through :func:`html.escape`: notes are data,
never markup. Spans are given as character offsets into ``note.text``; the highlighted
element's text is exactly ``note.text[start:end]``.
"""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# -- verification badge ------------------------------------------------------------------------------
BADGES: dict[str, tuple[str, str, str]] = {
    # status -> (label, css modifier, symbol)
    "verified": ("Verified", "verified", "✓"),
    "partial": ("Partly supported", "partial", "◐"),
    "unsupported": ("Unsupported", "unsupported", "✕"),
    "abstained": ("Abstained: not documented", "abstained", "∅"),
    "conflict": ("Conflict: not answered", "unsupported", "⚠"),  # cited text contradicts the record's lists
}


def badge_label(status: str) -> str:
    return BADGES.get(status, (str(status).capitalize(), "", ""))[0]


def badge_html(status: str) -> str:
    label, mod, sym = BADGES.get(status, (str(status).capitalize(), "unknown", "?"))
    return (f'<span class="cq-badge cq-badge-{html.escape(mod)}" data-status="{html.escape(str(status))}">'
            f'<span class="cq-badge-sym" aria-hidden="true">{sym}</span>{html.escape(label)}</span>')


def badge_markdown(status: str) -> str:
    label, _, sym = BADGES.get(status, (str(status).capitalize(), "", "?"))
    return f"{sym} **{label}**"


# -- answers and citations ------------------------------------------------------------------------------
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def one_line(text: str, width: int | None = None) -> str:
    s = " ".join(str(text or "").split())
    if width and len(s) > width:
        s = s[: width - 1].rstrip() + "…"
    return s


def citation_list_html(citations: Sequence[Any], active: int | None = None) -> str:
    """Numbered citations as buttons (``data-cite="N"``, 1-based) the app turns into viewer clicks."""
    if not citations:
        return '<p class="cq-muted">No citations.</p>'
    items = []
    for i, c in enumerate(citations, 1):
        cls = "cq-cite" + (" cq-cite-active" if active == i else "")
        date = _get(c, "note_date") or "undated"
        items.append(
            f'<li><button type="button" class="{cls}" data-cite="{i}" id="cite-btn-{i}" '
            f'title="Open {html.escape(str(_get(c, "note_id")))} at characters {_get(c, "start")}–{_get(c, "end")}">'
            f'<span class="cq-cite-num">{i}</span>'
            f'<span class="cq-cite-body"><span class="cq-cite-meta">{html.escape(str(_get(c, "note_id")))} · '
            f'{html.escape(str(date))} · chars {_get(c, "start")}–{_get(c, "end")}</span>'
            f'<span class="cq-cite-quote">“{html.escape(one_line(_get(c, "quote"), 240))}”</span></span>'
            f'</button></li>'
        )
    return '<ol class="cq-cites">' + "".join(items) + "</ol>"


# Per-option verdicts say whether the option's terms are found in the evidence (and whether negated there), not
# whether the option answers the question: "found" for a wrong option that the notes mention in another role is
# the normal case, so the labels say "found", never "supported".
VERDICT_LABELS = {"supported": "found", "contradicted": "negated", "not_documented": "not found"}


def conflicts_shown(answer: Any) -> list[str]:
    """The verifier's conflict findings ('"<claim>" vs "<fact>": why'), once each (see agent.render)."""
    return list(dict.fromkeys(_get(f, "detail") for f in (_get(_get(answer, "verification"), "findings") or [])
                              if _get(f, "check") == "conflict" and _get(f, "status") == "contradicted"))


def answer_html(answer: Any, options: dict[str, str] | None = None, active: int | None = None) -> str:
    """The answer card: badge, chosen option, answer text, why, option verdicts, clickable citations."""
    if answer is None:
        return ('<div class="cq-answer cq-empty"><p class="cq-muted">Ask a question: the answer appears here with '
                'a verification badge and numbered citations. Click a citation to see it in the note.</p></div>')
    ver = _get(answer, "verification")
    conflicts = conflicts_shown(answer)
    status = "conflict" if conflicts else _get(ver, "status", "unsupported")
    reason = _get(ver, "reason")
    choice = _get(answer, "choice")
    opts = dict(options or {})
    parts = [f'<div class="cq-answer" data-status="{html.escape(str(status))}">',
             f'<div class="cq-answer-head">{badge_html(status)}']
    if choice and not conflicts:
        parts.append(f'<span class="cq-choice" id="answer-choice">Option {html.escape(str(choice))}</span>')
    parts.append("</div>")
    if conflicts:  # the answer would rest on a sentence the record's lists contradict: no answer, the conflict
        parts += [f'<p class="cq-why cq-conflict"><b>Conflict:</b> {html.escape(c)}</p>' for c in conflicts]
        reason = None
    else:
        if choice and opts.get(choice) and opts[choice].strip() != str(_get(answer, "text") or "").strip():
            parts.append(f'<p class="cq-choice-text"><b>{html.escape(choice)}.</b> {html.escape(opts[choice])}</p>')
        parts.append(f'<p class="cq-answer-text" id="answer-text">{html.escape(str(_get(answer, "text") or ""))}</p>')
    if reason:
        parts.append(f'<p class="cq-why"><b>Why:</b> {html.escape(str(reason))}</p>')
    for f in _get(answer, "flagged") or []:
        parts.append(f'<p class="cq-why"><b>Flagged, not evidence:</b> {html.escape(str(_get(f, "note_id")))} '
                     f'({html.escape(str(_get(f, "reason")))}): “{html.escape(one_line(_get(f, "quote"), 160))}”</p>')
    excluded = _get(answer, "excluded_notes") or []
    if excluded:
        parts.append(f'<p class="cq-why"><b>Left out:</b> {len(excluded)} note(s) of this chart name another patient: '
                     f'{html.escape(", ".join(excluded[:5]))}{" …" if len(excluded) > 5 else ""}</p>')
    checks = _get(answer, "option_checks") or {}
    verdicts = _get(answer, "option_verdicts") or {}
    if checks:
        rows = []
        for letter, verdict in sorted(checks.items()):
            mark = " cq-opt-chosen" if letter == choice else ""
            ok = verdict == "verified"
            rows.append(f'<tr class="cq-opt{mark}"><td class="cq-opt-letter">{html.escape(letter)}</td>'
                        f'<td>{html.escape(one_line(opts.get(letter, ""), 120))}</td>'
                        f'<td class="cq-verdict cq-verdict-{"supported" if ok else "not_documented"}" '
                        f'title="{html.escape(str(verdict))}">{html.escape("verified" if ok else one_line(str(verdict), 90))}'
                        '</td></tr>')
        parts.append('<table class="cq-opts" style="border:none"><thead><tr><th></th><th>Option</th>'
                     '<th>Verifier, as the answer</th></tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>'
                     '<p class="cq-muted cq-opts-note">The verifier\'s verdict had each option been the answer, with '
                     'the check that failed; options not chosen get the typed checks only.</p>')
    elif verdicts:
        rows = []
        for letter, verdict in sorted(verdicts.items()):
            mark = " cq-opt-chosen" if letter == choice else ""
            rows.append(f'<tr class="cq-opt{mark}"><td class="cq-opt-letter">{html.escape(letter)}</td>'
                        f'<td>{html.escape(one_line(opts.get(letter, ""), 120))}</td>'
                        f'<td class="cq-verdict cq-verdict-{html.escape(str(verdict))}">'
                        f'{html.escape(VERDICT_LABELS.get(verdict, str(verdict)))}</td></tr>')
        parts.append('<table class="cq-opts" style="border:none"><thead><tr><th></th><th>Option</th><th>In the record</th></tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>'
                     '<p class="cq-muted cq-opts-note">Whether each option is mentioned in the evidence (or negated '
                     'there); a mention is not the answer.</p>')
    computed = [f for f in (_get(answer, "facts_used") or []) if _get(f, "kind") != "fact"]
    if computed:
        parts.append('<ul class="cq-computed">' + "".join(
            f'<li>computed: {html.escape(one_line(_get(f, "text"), 200))}</li>' for f in computed) + "</ul>")
    cites = _get(answer, "citations") or []
    parts.append(f'<div class="cq-cites-head">Citations ({len(cites)})</div>')
    parts.append(citation_list_html(cites, active))
    meta = [f"backend {_get(answer, 'backend')}"]
    if _get(answer, "model"):
        meta.append(f"model {_get(answer, 'model')}")
    total = (_get(answer, "timings") or {}).get("total")
    if total is not None:
        meta.append(f"{total:.2f} s")
    meta.append(f"kind {_get(answer, 'kind')}")
    parts.append(f'<div class="cq-answer-meta">{html.escape(" · ".join(str(m) for m in meta))}</div></div>')
    return "".join(parts)


def answer_markdown(answer: Any, options: dict[str, str] | None = None) -> str:
    """The chat message for an answer (Markdown; note text is escaped)."""
    ver = _get(answer, "verification")
    conflicts = conflicts_shown(answer)
    if conflicts:
        return "\n\n".join([badge_markdown("conflict")] + [f"*Conflict:* {md_escape(c)}" for c in conflicts])
    status = _get(ver, "status", "unsupported")
    choice = _get(answer, "choice")
    lines = [badge_markdown(status)]
    head = ""
    if choice:
        head = f"**{md_escape(choice)}.** "
        if options and options.get(choice) and options[choice].strip() != str(_get(answer, "text") or "").strip():
            head += f"{md_escape(options[choice])} — "
    lines.append(head + md_escape(str(_get(answer, "text") or "")))
    if _get(ver, "reason"):
        lines.append(f"*Why:* {md_escape(str(_get(ver, 'reason')))}")
    cites = _get(answer, "citations") or []
    if cites:
        refs = "; ".join(f"[{i}] {md_escape(str(_get(c, 'note_id')))} ({md_escape(str(_get(c, 'note_date') or 'undated'))})"
                         for i, c in enumerate(cites, 1))
        lines.append(f"Sources: {refs}. Click a citation in the answer panel to open it in the note.")
    return "\n\n".join(lines)


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~")


def md_escape(text: str) -> str:
    """Escape Markdown and HTML so note text shows literally in the chat."""
    out = []
    for ch in str(text):
        if ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# -- agent steps -------------------------------------------------------------------------------------------
def step_line(node: str, summary: str = "", data: dict | None = None, elapsed_s: float | None = None) -> str:
    """One human-readable line for an agent node update (route, tools, retrieved evidence)."""
    d = data or {}
    t = f" · {elapsed_s:.2f} s" if elapsed_s is not None else ""
    if node == "understand":
        concepts = ", ".join(d.get("concepts") or []) or "none"
        opts = d.get("options") or []
        o = f"; options {opts[0]}–{opts[-1]}" if opts else ""
        return f"**Understand** — question kind *{md_escape(d.get('kind', '?'))}*; concepts: {md_escape(concepts)}{o}{t}"
    if node == "route":
        plan = " → ".join(d.get("plan") or []) or md_escape(summary)
        return f"**Route** — tools: {md_escape(plan)}{t}"
    if node == "gather":
        how = summary.split(":", 1)[1] if ":" in summary else summary
        line = (f"**Gather** — {d.get('n_passages', 0)} passage(s), {d.get('n_facts', 0)} fact(s), "
                f"{d.get('n_computed', 0)} computed result(s) via {md_escape(how)}{t}")
        for ev in d.get("evidence") or []:  # retrieved evidence previews, as they stream
            where = f"{ev.get('note_id')} {ev.get('note_date') or ''}".strip()
            line += f"\n    - *{md_escape(where)}* ({md_escape(ev.get('source') or '')}): “{md_escape(one_line(ev.get('quote') or '', 100))}”"
        return line
    if node == "assemble":
        ids = d.get("evidence_ids") or []
        return f"**Assemble** — evidence {md_escape(', '.join(ids) or 'none')}{t}"
    if node == "reason":
        c = f"choice {d['choice']}, " if d.get("choice") else ""
        cited = ", ".join(d.get("cited") or []) or "nothing"
        draft = one_line(d.get("draft") or "", 120)
        return f"**Reason** — {md_escape(c)}cites {md_escape(cited)}: “{md_escape(draft)}”{t}"
    if node == "verify":
        r = f" ({md_escape(d['reason'])})" if d.get("reason") else ""
        return f"**Verify** — {md_escape(badge_label(d.get('status', '?')))}{r}{t}"
    if node == "finalize":
        return f"**Done**{t}"
    return f"**{md_escape(node.capitalize())}** — {md_escape(summary)}{t}"


# -- note viewer ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Highlight:
    start: int
    end: int
    label: str = ""  # e.g. "1" for citation 1
    active: bool = False


def note_html(note: Any, highlights: Iterable[Highlight] = (), *, header: bool = True) -> str:
    """A note as escaped HTML with spans wrapped in ``<mark id="cite-N">``; the active one gets ``cq-active``.

    Overlapping highlights are clipped so every character is shown exactly once.
    """
    if note is None:
        return '<div class="cq-note cq-empty"><p class="cq-muted">No note selected.</p></div>'
    text = str(_get(note, "text") or "")
    spans = sorted((h for h in highlights if 0 <= h.start < h.end <= len(text)), key=lambda h: (h.start, -h.end))
    out, pos = [], 0
    for n, h in enumerate(spans):
        start = max(h.start, pos)
        if start >= h.end:
            continue
        out.append(html.escape(text[pos:start]))
        ident = f"cite-{h.label}" if h.label else f"span-{n}"
        cls = "cq-mark" + (" cq-active" if h.active else "")
        title = f"[{h.label}] " if h.label else ""
        out.append(f'<mark id="{html.escape(ident)}" class="{cls}" data-start="{start}" data-end="{h.end}" '
                   f'title="{html.escape(title)}characters {start}–{h.end}">{html.escape(text[start:h.end])}</mark>')
        pos = h.end
    out.append(html.escape(text[pos:]))
    head = ""
    if header:
        date = _get(note, "note_date")
        day = date.isoformat() if isinstance(date, (dt.date, dt.datetime)) else (date or "undated")
        if _get(note, "date_known", True) is False:
            day = f"{day} (date unknown)"
        title = _get(note, "title") or _get(note, "note_id")
        flags = _get(note, "flags") or []
        meta = [str(_get(note, "note_id")), str(day), str(_get(note, "note_type") or "note"), f"{len(text)} chars"]
        head = (f'<div class="cq-note-head"><div class="cq-note-title">{html.escape(str(title))}</div>'
                f'<div class="cq-note-meta">{html.escape(" · ".join(meta))}'
                + "".join(f' <span class="cq-flag">{html.escape(f)}</span>' for f in flags) + "</div></div>")
    return (f'<div class="cq-note" data-note-id="{html.escape(str(_get(note, "note_id")))}">{head}'
            f'<pre class="cq-note-text">{"".join(out)}</pre></div>')


def citation_highlights(citations: Sequence[Any], note_id: str, active: int | None) -> list[Highlight]:
    """Highlights for every citation into ``note_id`` (1-based labels), ``active`` marked."""
    return [Highlight(int(_get(c, "start")), int(_get(c, "end")), str(i), active == i)
            for i, c in enumerate(citations, 1) if _get(c, "note_id") == note_id]


# -- patients ----------------------------------------------------------------------------------------------
def patient_label(row: dict) -> str:
    name = row.get("name") or "(no name)"
    n = row.get("n_notes") or 0
    first, last = row.get("first"), row.get("last")
    span = f"{first} → {last}" if first and last and first != last else (first or "no dated notes")
    return f"{name} · {row['patient_id']} · {n} note{'s' if n != 1 else ''} · {span}"


def patient_choices(summaries: Iterable[dict]) -> list[tuple[str, str]]:
    return [(patient_label(r), r["patient_id"]) for r in summaries]


# -- spans in tables -------------------------------------------------------------------------------------------
def span_str(start: int, end: int) -> str:
    return f"{start}-{end}"


def parse_span(value: Any) -> tuple[int, int] | None:
    try:
        a, b = str(value).replace("–", "-").split("-", 1)
        return int(a), int(b)
    except (ValueError, AttributeError):
        return None


# -- timeline ----------------------------------------------------------------------------------------------------
TIMELINE_COLUMNS = ["date", "event", "name", "detail", "note", "span", "quote"]
TIMELINE_DEFAULT_TYPES = ("diagnosis", "procedure", "lab_result", "adverse_event", "medication_start",
                          "medication_stop", "medication_hold", "dose_change")
EVENT_LABELS = {
    "diagnosis": "diagnosis", "finding": "finding", "adverse_event": "adverse event",
    "medication_start": "medication start", "medication_stop": "medication stop", "medication_hold": "medication hold",
    "dose_change": "dose change", "medication": "medication", "medication_past": "past medication",
    "procedure": "procedure", "lab_result": "lab result", "vital_sign": "vital sign",
}


def _day(d: Any) -> str:
    return d.isoformat() if isinstance(d, (dt.date, dt.datetime)) else (str(d) if d else "undated")


def is_abnormal_lab(event: Any) -> bool:
    ab = (_get(event, "attributes") or {}).get("abnormal")
    return bool(ab) and str(ab).lower() not in ("normal", "n", "false", "no", "0")


def timeline_rows(events: Iterable[Any], types: Iterable[str] | None = TIMELINE_DEFAULT_TYPES,
                  abnormal_labs_only: bool = True) -> list[list[str]]:
    """Rows (TIMELINE_COLUMNS) for TimelineEvents; labs only when abnormal unless asked otherwise."""
    wanted = set(types) if types is not None else None
    rows = []
    for e in events:
        et = _get(e, "event_type")
        if wanted is not None and et not in wanted:
            continue
        if et == "lab_result" and abnormal_labs_only and not is_abnormal_lab(e):
            continue
        ev = _get(e, "evidence")
        day = _day(_get(e, "date"))
        if _get(e, "date_kind") not in (None, "occurred") and _get(e, "date"):
            day += " (documented)"
        rows.append([day, EVENT_LABELS.get(et, et), str(_get(e, "name") or ""), str(_get(e, "detail") or ""),
                     str(_get(ev, "note_id")), span_str(_get(ev, "start"), _get(ev, "end")),
                     one_line(_get(ev, "quote"), 160)])
    return rows


def _dose_label(d: Any) -> str:
    parts = [str(x) for x in (_get(d, "dose"), _get(d, "unit")) if x not in (None, "")]
    label = " ".join(parts)
    extra = " ".join(str(x) for x in (_get(d, "route"), _get(d, "frequency")) if x)
    if extra:
        label = f"{label} {extra}".strip()
    ch = _get(d, "change")
    if ch and ch not in ("continued",):
        label = f"{ch}: {label}" if label else str(ch)
    return label


def medication_bars(intervals: Iterable[Any], until: dt.date | None = None) -> list[dict]:
    """Plot-ready bars: one per medication interval; open intervals (no stop documented) run to ``until``
    (the latest note date) or, without it, to the last documented mention."""
    bars = []
    for iv in intervals:
        start = _get(iv, "start")
        if start is None:
            continue
        end = _get(iv, "end")
        ongoing = end is None
        if ongoing:
            end = max(d for d in (_get(iv, "last_documented"), until, start) if d is not None)
        if end < start:
            end = start
        doses = [{"date": _get(d, "date"), "label": _dose_label(d)} for d in (_get(iv, "doses") or [])
                 if _get(d, "date") is not None]
        bars.append({"name": str(_get(iv, "name")), "start": start, "end": end, "ongoing": ongoing,
                     "end_reason": _get(iv, "end_reason"), "doses": doses,
                     "note_id": _get(_get(iv, "start_evidence"), "note_id")})
    return bars


def timeline_figure(intervals: Iterable[Any], title: str = "Medications", until: dt.date | None = None):
    """A matplotlib Gantt chart of medication intervals with dose-change markers (None when nothing to draw)."""
    bars = medication_bars(intervals, until)
    if not bars:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    names = []
    for b in bars:
        if b["name"] not in names:
            names.append(b["name"])
    fig = Figure(figsize=(9, max(1.8, 0.55 * len(names) + 1.0)), dpi=100)
    ax = fig.add_subplot(111)
    for b in bars:
        y = names.index(b["name"])
        s, e = mdates.date2num(b["start"]), mdates.date2num(b["end"])
        width = max(e - s, 1.0)
        ax.barh(y, width, left=s, height=0.5, color="#2563eb" if not b["ongoing"] else "#60a5fa",
                edgecolor="#1e3a8a", linewidth=0.6, hatch="//" if b["ongoing"] else None)
        for d in b["doses"]:
            x = mdates.date2num(d["date"])
            ax.plot([x], [y], marker="D", color="#f59e0b", markeredgecolor="#78350f", markersize=6, zorder=3)
            if d["label"]:
                ax.annotate(d["label"], (x, y), xytext=(0, 9), textcoords="offset points", fontsize=7,
                            ha="center", color="#374151")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=9)
    ax.invert_yaxis()
    ax.set_ylim(len(names) - 0.4, -0.8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{title} (hatched: no stop documented; ◆ dose documented)", fontsize=9, loc="left", color="#374151")
    fig.tight_layout()
    return fig


# -- facts --------------------------------------------------------------------------------------------------------
FACT_COLUMNS = ["type", "name", "text", "assertion", "experiencer", "date", "code", "note", "span"]
ASSERTION_LABELS = {"present": "present", "absent": "negated", "possible": "possible", "hypothetical": "hypothetical"}


def _val(x: Any) -> str:
    return str(getattr(x, "value", x)) if x is not None else ""


def fact_rows(facts: Iterable[Any], type_: str | None = None, assertion: str | None = None,
              experiencer: str | None = None, query: str | None = None) -> list[list[str]]:
    """Rows (FACT_COLUMNS) for stored Facts, filtered; negated and family-history facts are labelled as such."""
    q = (query or "").strip().lower()
    rows = []
    for f in facts:
        t, a, who = _val(_get(f, "type")), _val(_get(f, "assertion")), _val(_get(f, "experiencer"))
        if type_ and type_ != "all" and t != type_:
            continue
        if assertion and assertion != "all" and ASSERTION_LABELS.get(a, a) != assertion and a != assertion:
            continue
        if experiencer and experiencer != "all" and who != experiencer:
            continue
        codes = _get(f, "codes") or {}
        code = ", ".join(f"{k}:{v}" for k, v in sorted(codes.items()))
        if q and q not in " ".join([str(_get(f, "name")), str(_get(f, "text")), code,
                                    str(_get(f, "section") or "")]).lower():
            continue
        label = ASSERTION_LABELS.get(a, a)
        if _get(f, "historical"):
            label += " (historical)"
        who_label = "family history" if who == "family" else who
        rows.append([t.lower(), str(_get(f, "name") or ""), one_line(_get(f, "text"), 120), label, who_label,
                     _day(_get(f, "date")) if _get(f, "date") else "", code,
                     str(_get(f, "note_id")), span_str(_get(f, "start"), _get(f, "end"))])
    return rows


# -- ingest summary --------------------------------------------------------------------------------------------------
def ingest_summary_html(summary: Any, rename: dict[str, str] | None = None) -> str:
    """The ingest summary as a status box: counts, then each skipped/failed source and why."""
    ren = rename or {}

    def clean(s: str) -> str:
        for long, short in ren.items():
            s = s.replace(long, short)
        return s

    failed, skipped = list(_get(summary, "failed") or []), list(_get(summary, "skipped") or [])
    added, versioned, unchanged = (_get(summary, k) or 0 for k in ("added", "versioned", "unchanged"))
    kind = "error" if failed and not (added or versioned or unchanged) else ("warn" if failed or skipped else "ok")
    patients = sorted(_get(summary, "patients") or [])
    head = (f"Ingested {added} new note(s), {versioned} new version(s), {unchanged} unchanged; "
            f"{len(patients)} patient(s); {_get(summary, 'questions') or 0} question(s); "
            f"{len(skipped)} skipped; {len(failed)} failed.")
    lines = [f'<div class="cq-status cq-status-{kind}" role="status"><div class="cq-status-head">{html.escape(head)}</div>']
    if failed or skipped:
        lines.append("<ul>")
        lines += [f'<li class="cq-failed"><b>Failed</b> {html.escape(clean(s))}</li>' for s in failed]
        lines += [f'<li class="cq-skipped"><b>Skipped</b> {html.escape(clean(s))}</li>' for s in skipped]
        lines.append("</ul>")
    lines.append("</div>")
    return "".join(lines)


def status_html(message: str, kind: str = "info") -> str:
    return f'<div class="cq-status cq-status-{html.escape(kind)}" role="status">{html.escape(message)}</div>'
