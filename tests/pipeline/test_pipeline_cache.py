"""The on-disk artifact cache: hits, key changes, corrupt and stale files rebuilt, unwritable
folders survived, and two processes building the same artifact at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cache import cached
from pipeline.config import RetrieveSection
from pipeline.stages.retrieve import Retriever
from pipeline.taxonomy import hs_taxonomy

ROOT = Path(__file__).resolve().parents[2]


def _artifact(folder: Path, fields: dict[str, object], value: float = 1.0) -> object:
    calls: list[int] = []

    def build() -> np.ndarray:
        calls.append(1)
        return np.full((4, 3), value, dtype=np.float32)

    def save(arr: np.ndarray, path: Path) -> None:
        with path.open("wb") as fh:
            np.save(fh, arr)

    def load(path: Path) -> np.ndarray:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.shape != (4, 3):
            raise ValueError("wrong shape")
        return arr

    got = cached("test", fields, ".npy", build, save, load, folder=folder)
    return got, len(calls)


def test_built_once_then_read_back_memory_mapped(tmp_path: Path) -> None:
    first, builds = _artifact(tmp_path, {"k": 1})
    assert (first.status, builds) == ("built", 1)  # type: ignore[attr-defined]
    again, builds = _artifact(tmp_path, {"k": 1})
    assert (again.status, builds) == ("hit", 0)  # type: ignore[attr-defined]
    assert isinstance(again.value, np.memmap)  # type: ignore[attr-defined]
    other, builds = _artifact(tmp_path, {"k": 2}, value=2.0)  # another key: another file
    assert (other.status, builds) == ("built", 1) and float(other.value[0, 0]) == 2.0  # type: ignore[attr-defined]
    assert len(list(tmp_path.glob("test-*.npy"))) == 2


@pytest.mark.parametrize("damage", ["flip", "truncate", "sidecar_garbage", "sidecar_key",
                                    "sidecar_gone"])
def test_a_corrupt_or_stale_cache_file_is_rebuilt(tmp_path: Path, damage: str) -> None:
    first, _ = _artifact(tmp_path, {"k": 1})
    data = first.path  # type: ignore[attr-defined]
    meta = data.with_name(data.name + ".json")
    if damage == "flip":  # same size, one byte changed: only the checksum can tell
        raw = bytearray(data.read_bytes())
        raw[-1] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        data.write_bytes(data.read_bytes()[:40])
    elif damage == "sidecar_garbage":
        meta.write_text("{not json")
    elif damage == "sidecar_key":  # a file left by another key or format: stale
        info = json.loads(meta.read_text())
        info["key"] = "0" * 64
        meta.write_text(json.dumps(info))
    else:
        meta.unlink()
    again, builds = _artifact(tmp_path, {"k": 1})
    assert builds == 1 and again.status in ("rebuilt", "built")  # type: ignore[attr-defined]
    assert np.array_equal(np.asarray(again.value), np.ones((4, 3), dtype=np.float32))  # type: ignore[attr-defined]
    third, builds = _artifact(tmp_path, {"k": 1})
    assert (third.status, builds) == ("hit", 0)  # type: ignore[attr-defined]


def test_an_unwritable_cache_costs_a_build_not_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    got, builds = _artifact(blocker / "cache", {"k": 1})
    assert (got.status, builds) == ("uncached", 1)  # type: ignore[attr-defined]


def test_retriever_reads_its_index_from_the_cache(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_CACHE_DIR", str(tmp_path))
    tax = hs_taxonomy()
    cfg = RetrieveSection(hybrid_weight=0.5, search="hnsw", dims=128)
    cold = Retriever(tax, cfg)
    assert {cold.parts[k].status for k in ("vectors", "hnsw", "bm25")} == {"built"}
    warm = Retriever(tax, cfg)
    assert {warm.parts[k].status for k in ("vectors", "hnsw", "bm25")} == {"hit"}
    texts = ["smartphone", "frozen shrimp", "mens cotton jeans"]
    declared = np.array([-1, -1, -1])
    assert cold.search(texts, declared)[:2] == warm.search(texts, declared)[:2]
    timing = warm.timing()
    assert timing["index_vectors_cache"] == "hit" and timing["index_hnsw_s"] >= 0


_BUILDER = """
import hashlib, sys
import numpy as np
from pipeline.config import RetrieveSection
from pipeline.stages.retrieve import Retriever
from pipeline.taxonomy import hs_taxonomy
r = Retriever(hs_taxonomy(), RetrieveSection(embedder="hashed", dims=64, search="hnsw"))
print(r.parts["vectors"].status, r.parts["hnsw"].status,
      hashlib.sha256(np.ascontiguousarray(r.vectors).tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_two_processes_building_the_cache_at_once(tmp_path: Path) -> None:
    env = dict(os.environ, LEDGER_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", _BUILDER], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    lines = [o.split() for o, _ in outs]
    # Of each artifact, one process built it; the other waited for its lock and read it.
    for part in (0, 1):
        assert sorted(line[part] for line in lines) == ["built", "hit"]
    assert lines[0][2] == lines[1][2]
    # What is on disk checks out for a third process, and no temporary file is left behind.
    third = subprocess.run([sys.executable, "-c", _BUILDER], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert third.stdout.split()[:2] == ["hit", "hit"] and third.stdout.split()[2] == lines[0][2]
    assert not list((tmp_path / "cache").glob(".*.tmp"))


def test_tiktoken_ranks_and_offline_word_tables_come_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parsed tiktoken ranks and the offline provider's word tables are cached artifacts:
    what is read back counts and reads exactly as what was built; a damaged file is rebuilt."""
    import tiktoken

    from pipeline import tokens
    from pipeline.providers.offline import Knowledge, _knowledge, knowledge_tables

    monkeypatch.setenv("LEDGER_CACHE_DIR", str(tmp_path))
    built = tokens._cached_spec()
    assert built is not None and list(tmp_path.glob("tiktoken-*.marshal"))
    again = tokens._cached_spec()
    assert again == built
    reference = tiktoken.get_encoding(tokens.ENCODING)
    ours = tiktoken.Encoding(**again)
    text = "851712: Telephones for cellular networks [Telephone sets]\n{\"code\": \"851712\"} é 🙂"
    assert ours.encode_ordinary(text) == reference.encode_ordinary(text)
    (data,) = tmp_path.glob("tiktoken-*.marshal")
    data.write_bytes(data.read_bytes()[:1000])  # truncated: rebuilt, never trusted
    assert tokens._cached_spec() == built

    tax = hs_taxonomy()
    _knowledge.cache_clear()
    try:
        cached_k = _knowledge(tax)
        assert list(tmp_path.glob("knowledge-*.marshal"))
        fresh = Knowledge(tax, knowledge_tables(tax.vocabulary))
        assert (cached_k.df, cached_k.prefix, cached_k.deletes) == (fresh.df, fresh.prefix,
                                                                    fresh.deletes)
        _knowledge.cache_clear()
        assert _knowledge(tax).deletes == fresh.deletes  # read back from the file
    finally:
        _knowledge.cache_clear()


def test_the_offline_providers_normal_table_comes_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The offline provider's table of normal draws is a cached artifact: read back it is the
    generator's draws bit for bit; a damaged file is rebuilt, never trusted."""
    from pipeline.providers.offline import NORMALS_SEED, NORMALS_SIZE, _normal_table

    monkeypatch.setenv("LEDGER_CACHE_DIR", str(tmp_path))
    expected = np.random.default_rng(NORMALS_SEED).standard_normal(NORMALS_SIZE).tobytes()
    _normal_table.cache_clear()
    try:
        assert _normal_table().tobytes() == expected  # built
        (data,) = tmp_path.glob("normals-*.npy")
        _normal_table.cache_clear()
        assert _normal_table().tobytes() == expected  # read back
        raw = bytearray(data.read_bytes())
        raw[-8:] = b"\x00" * 8  # one draw damaged: rebuilt
        data.write_bytes(bytes(raw))
        _normal_table.cache_clear()
        assert _normal_table().tobytes() == expected
    finally:
        _normal_table.cache_clear()
