"""Score extractors.assertion on a NegEx / ConText test-kit TSV.

    python -m evals.negex FILE.tsv [--json-out X] [--reports 1-40] [--errors negation]
    python -m evals.negex [FILE.tsv] --cv      # in-sample vs two-fold cross-validated F1 by report
    python -m evals.negex --cv --errors negation   # ... and the held-out rows the tuned rules get wrong

The TSV has a header naming (in any order) ``concept``, ``sentence``, ``negation``
(Affirmed/Negated), ``temporality`` (Recent/Historical/Not particular) and
``experiencer`` (Patient/Other/...); ``report`` is optional (needed for --reports).
The concept is located inside its sentence (case-sensitively first, then
case-insensitively, whitespace-tolerant); rows where it cannot be found are
reported and not scored. Figures: precision / recall / F1 / support for
negation (positive class Negated), historical (Historical), hypothetical
(Not particular) and experiencer (any non-Patient value).

``--cv`` estimates how the project's own lexicon additions carry over to unseen reports. The general
lexicons (medspaCy ConText, GenNegEx, and the rules file's ``origin`` "general" rules: published lexicon
items or the issue's clinical phrases, each naming its ``source``) and the engine are fixed; the project
rules (``origin`` "clinqa") are tuned on one half of the reports (forward selection: a rule is kept only when
it lowers the errors on that half) and scored on the other half (reports 1-30 vs 31-60 and back, counts
pooled). A rule that only one half's sentences need is dropped when tuning on the other half, so the
cross-validated figure pays for it.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from clinqa.records import Assertion, Experiencer

REQUIRED = ("concept", "sentence", "negation", "temporality", "experiencer")
DEFAULT_FILE = Path(__file__).resolve().parents[1].parent / "shared/data/negex/dev.tsv"
CV_FOLDS = ("1-30", "31-60")
FIELDS = ("negation", "historical", "hypothetical", "experiencer")


def read_rows(path: str | Path) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: empty file") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{path}: header lacks column(s) {missing}; got {header}")
        rows = []
        for line_no, rec in enumerate(reader, start=2):
            if not rec or all(not x.strip() for x in rec):
                continue
            rec = rec + [""] * (len(header) - len(rec))
            row = {h: rec[i] for i, h in enumerate(header)}
            row["_line"] = str(line_no)
            rows.append(row)
    return rows


def find_concept(sentence: str, concept: str) -> tuple[int, int] | None:
    """Char span of concept in sentence. The kit marks the annotated mention by writing it in upper case, so an
    upper-case occurrence wins over an earlier one in another case ("BK Virus Urine ... testing for BK VIRUS is
    negative"); then exact, then whitespace-tolerant case-sensitive, then case-insensitive."""
    c = concept.strip()
    if not c:
        return None
    parts = c.split()
    upper = r"\s+".join(re.escape(p.upper()) for p in parts)
    if upper != upper.lower():  # the concept has letters to upper-case
        m = re.search(upper, sentence)
        if m:
            return m.start(), m.end()
    i = sentence.find(c)
    if i >= 0:
        return i, i + len(c)
    rx = r"\s+".join(re.escape(p) for p in parts)
    for flags in (0, re.IGNORECASE):
        m = re.search(rx, sentence, flags)
        if m:
            return m.start(), m.end()
    return None


def prf(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, Any]:
    tp = sum(1 for g, p in zip(gold, pred) if g and p)
    fp = sum(1 for g, p in zip(gold, pred) if p and not g)
    fn = sum(1 for g, p in zip(gold, pred) if g and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def gold_labels(row: dict[str, str]) -> dict[str, bool]:
    temp = row["temporality"].strip().lower()
    return {
        "negation": row["negation"].strip().lower() == "negated",
        "historical": temp == "historical",
        "hypothetical": temp in ("not particular", "hypothetical"),
        "experiencer": row["experiencer"].strip().lower() not in ("patient", ""),
    }


def parse_reports(spec: str | None) -> set[str] | None:
    """'1-40,45' -> {'1',...,'40','45'}."""
    if not spec:
        return None
    out: set[str] = set()
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(str(n) for n in range(int(a), int(b) + 1))
        elif part:
            out.add(str(int(part)) if part.isdigit() else part)
    return out


def evaluate(
    path: str | Path,
    classifier: Any = None,
    reports: Iterable[str] | None = None,
    collect_errors: bool = False,
) -> dict[str, Any]:
    from extractors.assertion import AssertionClassifier

    clf = classifier or AssertionClassifier()
    clf.warm_up()
    rows = read_rows(path)
    if reports is not None:
        wanted = {str(r).strip() for r in reports}
        if rows and "report" not in rows[0]:
            raise ValueError("--reports needs a 'report' column")
        rows = [r for r in rows if r.get("report", "").strip() in wanted]
    gold: dict[str, list[bool]] = {f: [] for f in FIELDS}
    pred: dict[str, list[bool]] = {f: [] for f in FIELDS}
    not_found: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for row in rows:
        sentence = row["sentence"]
        span = find_concept(sentence, row["concept"])
        if span is None:
            not_found.append({"line": row["_line"], "report": row.get("report", ""), "concept": row["concept"]})
            continue
        res = clf.classify(sentence, span[0], span[1])
        p = _labels(res)
        g = gold_labels(row)
        for f in FIELDS:
            gold[f].append(g[f])
            pred[f].append(p[f])
        if collect_errors:
            wrong = [f for f in FIELDS if g[f] != p[f]]
            if wrong:
                errors.append({
                    "line": row["_line"], "report": row.get("report", ""), "concept": row["concept"],
                    "sentence": sentence, "wrong": wrong, "gold": g, "pred": p, "triggers": res.triggers,
                })
    elapsed = time.perf_counter() - t0
    n_scored = len(gold["negation"])
    out: dict[str, Any] = {
        "file": str(path),
        "rules_version": getattr(clf, "version", ""),
        "n": len(rows),
        "n_scored": n_scored,
        "not_found": not_found,
        "elapsed_s": round(elapsed, 4),
        "rows_per_s": round(n_scored / elapsed, 1) if elapsed > 0 else None,
    }
    for f in FIELDS:
        out[f] = prf(gold[f], pred[f])
    if collect_errors:
        out["errors"] = errors
    return out


def _predict(clf: Any, sentence: str, span: tuple[int, int]) -> dict[str, bool]:
    return _labels(clf.classify(sentence, span[0], span[1]))


def _labels(res: Any) -> dict[str, bool]:
    """An AssertionResult as the four scored yes/no labels."""
    return {
        "negation": res.assertion == Assertion.ABSENT,
        "historical": bool(res.historical),
        "hypothetical": res.assertion == Assertion.HYPOTHETICAL,
        "experiencer": res.experiencer != Experiencer.PATIENT,
    }


def _scored_rows(path: str | Path, rules: Any) -> list[dict[str, Any]]:
    """Rows whose concept is found, with the token string the rule patterns are searched in (``key``)."""
    out = []
    for row in read_rows(path):
        span = find_concept(row["sentence"], row["concept"])
        if span is not None:
            out.append({"report": row.get("report", "").strip(), "sentence": row["sentence"], "span": span,
                        "gold": gold_labels(row), "key": " ".join(rules.tokenize(row["sentence"])) + " "})
    return out


def _figures(items: Sequence[dict[str, Any]], preds: Sequence[dict[str, bool]]) -> dict[str, dict[str, Any]]:
    return {f: prf([it["gold"][f] for it in items], [p[f] for p in preds]) for f in FIELDS}


def _errors(item: dict[str, Any], pred: dict[str, bool]) -> int:
    return sum(item["gold"][f] != pred[f] for f in FIELDS)


def project_ids(rules: Any) -> list[str]:
    """Ids of the project's own rules and concept priors (what --cv tunes), in file order."""
    return [r.id for r in rules.rules if r.origin == "clinqa"] + [
        p["id"] for p in rules.data.get("concept_priors", []) if p.get("origin", "clinqa") == "clinqa"]


def tune(rules: Any, items: Sequence[dict[str, Any]], passes: int = 2) -> frozenset[str]:
    """Forward selection of the project rules on ``items``: returns the ids of the project rules left out.

    Starts from the general lexicons alone and adds each project rule (file order, ``passes`` sweeps) when
    it strictly lowers the number of wrong labels; only rows where the rule's pattern occurs are re-scored.
    """
    from extractors.assertion import AssertionClassifier

    candidates = project_ids(rules)
    pattern_of = {p.rule.id: p.rx for p in rules.patterns}
    off = set(candidates)
    clf = AssertionClassifier.from_rules(rules.without(off))
    preds = [_predict(clf, it["sentence"], it["span"]) for it in items]
    for _ in range(passes):
        changed = False
        for rid in candidates:
            if rid not in off:
                continue
            rx = pattern_of.get(rid)  # None for a concept prior: every row may change
            touched = [k for k, it in enumerate(items) if rx is None or rx.search(it["key"])]
            if not touched:
                continue
            trial = AssertionClassifier.from_rules(rules.without(off - {rid}))
            new = {k: _predict(trial, items[k]["sentence"], items[k]["span"]) for k in touched}
            delta = sum(_errors(items[k], new[k]) - _errors(items[k], preds[k]) for k in touched)
            if delta < 0:
                off.discard(rid)
                for k, p in new.items():
                    preds[k] = p
                changed = True
        if not changed:
            break
    return frozenset(off)


def cross_validate(path: str | Path, rules_path: str | Path | None = None,
                   folds: Sequence[str] = CV_FOLDS, collect_errors: bool = False) -> dict[str, Any]:
    """In-sample F1 of the shipped rules and two-fold cross-validated F1 of the tuned project rules
    (``collect_errors``: also the held-out rows the tuned rules get wrong, under ``errors``)."""
    from extractors.assertion import AssertionClassifier

    clf = AssertionClassifier(rules_path)
    clf.warm_up()
    rules = clf.rules
    items = _scored_rows(path, rules)
    if items and not items[0]["report"]:
        raise ValueError("--cv needs a 'report' column")
    halves = [[it for it in items if it["report"] in parse_reports(f)] for f in folds]
    for f, h in zip(folds, halves):
        if not h:
            raise ValueError(f"{path}: no rows for reports {f}")
    for it in items:  # the shipped rules' labels, for the in-sample figures (all reports and each half)
        it["shipped"] = _predict(clf, it["sentence"], it["span"])
    in_sample = _figures(items, [it["shipped"] for it in items])
    general = AssertionClassifier.from_rules(rules.without(set(project_ids(rules))))
    base = _figures(items, [_predict(general, it["sentence"], it["span"]) for it in items])
    test_items: list[dict[str, Any]] = []
    test_preds: list[dict[str, bool]] = []
    per_fold = []
    errors: list[dict[str, Any]] = []
    n_project = len(project_ids(rules))
    for i, test in enumerate(halves):
        train = [it for j, h in enumerate(halves) if j != i for it in h]
        off = tune(rules, train)
        tuned = AssertionClassifier.from_rules(rules.without(off))
        results = [tuned.classify(it["sentence"], *it["span"]) for it in test]
        preds = [_labels(r) for r in results]
        if collect_errors:
            errors.extend(_error_row(it, p, r.triggers, folds[i]) for it, p, r in zip(test, preds, results)
                          if _errors(it, p))
        test_items.extend(test)
        test_preds.extend(preds)
        per_fold.append({"test_reports": folds[i], "project_rules_kept": n_project - len(off),
                         "kept": [r for r in project_ids(rules) if r not in off],
                         "figures": _figures(test, preds),
                         "in_sample": _figures(test, [it["shipped"] for it in test])})
    return {
        "file": str(path), "rules_version": rules.version, "n_scored": len(items),
        "project_rules": n_project,
        "in_sample": in_sample, "cross_validated": _figures(test_items, test_preds),
        "general_lexicons_only": base, "folds": per_fold, **({"errors": errors} if collect_errors else {}),
    }


def _error_row(item: dict[str, Any], pred: dict[str, bool], triggers: list[str], fold: str) -> dict[str, Any]:
    return {"test_reports": fold, "report": item["report"], "concept": item["sentence"][slice(*item["span"])],
            "sentence": item["sentence"], "wrong": [f for f in FIELDS if item["gold"][f] != pred[f]],
            "gold": item["gold"], "pred": pred, "triggers": triggers}


def format_cv(res: dict[str, Any]) -> str:
    folds = res["folds"]
    kept = ", ".join(f"{f['project_rules_kept']} for test {f['test_reports']}" for f in folds)
    heads = [f"test {f['test_reports']} in/CV" for f in folds]
    width = max(len(h) for h in heads) + 2
    lines = [f"{res['file']}: {res['n_scored']} rows, rules {res['rules_version']}, "
             f"{res['project_rules']} project rules/priors, kept by tuning on the other half: {kept}",
             "in-sample: the shipped rules on all reports; 2-fold CV: general lexicons + the project rules tuned on "
             "one half, scored on the other (counts pooled); test X in/CV: the two on that half alone; general only: "
             "no project rules",
             f"{'F1':<13}{'in-sample':>10}{'2-fold CV':>11}" + "".join(f"{h:>{width}}" for h in heads)
             + f"{'general only':>14}{'support':>9}"]
    for f in FIELDS:
        lines.append(f"{f:<13}{res['in_sample'][f]['f1']:>10.3f}{res['cross_validated'][f]['f1']:>11.3f}"
                     + "".join(f"{fo['in_sample'][f]['f1']:.3f}/{fo['figures'][f]['f1']:.3f}".rjust(width)
                               for fo in folds)
                     + f"{res['general_lexicons_only'][f]['f1']:>14.3f}{res['in_sample'][f]['support']:>9}")
    return "\n".join(lines)


def _print_errors(errors: list[dict[str, Any]], field: str | None) -> None:
    """One JSON line per wrong row on stderr (only rows wrong on ``field`` unless it is 'all')."""
    if field not in (None, "all") and field not in FIELDS:
        raise SystemExit(f"error: --errors takes one of {FIELDS} or nothing, got {field!r}")
    for e in errors:
        if field == "all" or field in e["wrong"]:
            print(json.dumps(e, ensure_ascii=False), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.negex", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", default=str(DEFAULT_FILE),
                    help="NegEx/ConText test-kit TSV (default: the shared dev file)")
    ap.add_argument("--cv", action="store_true",
                    help="in-sample vs two-fold (reports 1-30 / 31-60) cross-validated F1 of the tuned project rules")
    ap.add_argument("--json-out", help="also write the JSON figures here")
    ap.add_argument("--rules", help="rules JSON (default: the packaged rules)")
    ap.add_argument("--reports", help="only these report numbers, e.g. 1-40 or 41-60,3")
    ap.add_argument("--errors", nargs="?", const="all", default=None,
                    help="print misclassified rows (optionally of one field) to stderr; with --cv the held-out rows "
                         "the rules tuned on the other half get wrong")
    args = ap.parse_args(argv)
    from extractors.assertion import AssertionClassifier

    if args.cv:
        try:
            res = cross_validate(args.file, args.rules, collect_errors=args.errors is not None)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _print_errors(res.pop("errors", []), args.errors)
        print(format_cv(res))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return 0
    clf = AssertionClassifier(args.rules)
    try:
        result = evaluate(args.file, clf, parse_reports(args.reports), collect_errors=args.errors is not None)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_errors(result.pop("errors", []), args.errors)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
