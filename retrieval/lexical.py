"""BM25 (bm25s) over one patient's chunks.

bm25s has no in-place updates, so a patient's BM25 index is rebuilt whenever that
patient's chunk set changes; at a few hundred chunks per patient this takes
milliseconds, and other patients' indexes are untouched.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import bm25s
import numpy as np

from clinqa.errors import DamagedIndexError

NO_TERMS = "no_terms"  # marker file: the chunks hold no searchable term, so there is no BM25 model

# Keep single characters and decimals ("2.5", "K") that clinical queries use; lower-case.
TOKEN_PATTERN = r"(?u)\b\w[\w.]*\w\b|\b\w\b"


@lru_cache(maxsize=1)
def query_stopwords() -> frozenset[str]:
    data = json.loads(resources.files("retrieval.resources").joinpath("query_stopwords.json").read_text("utf-8"))
    return frozenset(w.lower() for w in data["words"])


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[list[str]], list[str]] | None:
    """Snowball (nltk, already a dependency of the drug NER packages) so "fractured" meets "fracture"."""
    try:
        from nltk.stem.snowball import SnowballStemmer
    except ImportError:  # stemming is a recall aid, not a requirement
        return None
    stem = lru_cache(maxsize=200_000)(SnowballStemmer("english").stem)
    return lambda words: [stem(w) for w in words]


def tokenize(texts: list[str]) -> list[list[str]]:
    out = bm25s.tokenize(
        texts, lower=True, token_pattern=TOKEN_PATTERN, stopwords="english", stemmer=_stemmer(),
        return_ids=False, show_progress=False,
    )
    return [list(t) for t in out]


class LexicalIndex:
    """BM25 index whose document i is ``chunk_ids[i]``."""

    def __init__(self, chunk_ids: list[str] | None = None, model: bm25s.BM25 | None = None):
        self.chunk_ids = list(chunk_ids or [])
        self.model = model

    @classmethod
    def build(cls, chunk_ids: list[str], texts: list[str]) -> "LexicalIndex":
        """Index the texts; chunks with no searchable term at all ("No.", "a") get no BM25 model (bm25s needs one term)."""
        tokens = tokenize(texts) if chunk_ids else []
        if not any(tokens):
            return cls(chunk_ids, None)
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(chunk_ids, model)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if self.model is None or not self.chunk_ids:
            return []
        drop = query_stopwords()
        words = " ".join(w for w in re.findall(r"\S+", query) if w.lower().strip("?.,;:!") not in drop)
        toks = [t for t in tokenize([words])[0] if t in self.model.vocab_dict]
        if not toks:
            return []
        scores = self.model.get_scores(toks)
        k = min(k, len(self.chunk_ids))
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        """Write to a temp folder unique to this process, then swap it in, so a crash never leaves half an index."""
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = folder.with_name(f"{folder.name}.{tag}.tmp")
        try:
            tmp.mkdir(parents=True)
            if self.model is not None:
                self.model.save(str(tmp), show_progress=False)
            elif self.chunk_ids:
                (tmp / NO_TERMS).write_text("")  # tells load() the missing model is expected, not damage
            (tmp / "chunk_ids.json").write_text(json.dumps(self.chunk_ids))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = folder.with_name(f"{folder.name}.{tag}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        """Read a saved index; a missing or damaged one raises DamagedIndexError."""
        try:
            ids = json.loads((folder / "chunk_ids.json").read_text())
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError("chunk_ids.json is not a list of chunk ids")
            model = bm25s.BM25.load(str(folder), show_progress=False) if ids and not (folder / NO_TERMS).exists() else None
        except Exception as e:  # bm25s surfaces a damaged file as whatever numpy/json/scipy raise
            raise DamagedIndexError(f"the BM25 index {folder} is damaged ({type(e).__name__}: {str(e)[:160]})") from None
        return cls(ids, model)
