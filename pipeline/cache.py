"""Artifacts built once per key and kept on disk in the user cache, checked on every load.

The retrieval stage's fixed costs (the taxonomy's vectors, the usearch graph, the BM25 postings)
depend only on (taxonomy, embedder, dimension, metric, knobs); so do the offline provider's
word tables (per taxonomy) and tiktoken's parsed BPE ranks (per installed file). Each artifact is one file named by a
digest of its key, with a JSON sidecar holding the key, the file's size and its SHA-256. A load
checks all three before trusting the file (then memory-maps it); a missing, corrupt or stale file is
rebuilt. Builders take an exclusive lock per key (a second process waits, then loads what the first
built) and publish by ``os.replace`` of a fully written, fsynced file, so a reader never sees half
a file. A cache that cannot be written (read-only, full disk) costs a rebuild, never a run.

One kind grows instead of being built once: tables of counts (the token counts of the pieces runs
have counted, :func:`load_counts` / :func:`add_counts`), checked the same way on every load and
merged under the same lock, so two processes adding at once keep both.

The folder is ``$LEDGER_CACHE_DIR``, else ``$XDG_CACHE_HOME/ledger``, else ``~/.cache/ledger``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

FORMAT = 1
T = TypeVar("T")


def cache_dir() -> Path:
    base = os.environ.get("LEDGER_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ledger"


@dataclass(frozen=True)
class Cached(Generic[T]):
    """An artifact and how it was had: ``status`` is hit (read from disk), built (missing before),
    rebuilt (the file on disk was corrupt or stale) or uncached (the cache could not be written)."""

    value: T
    status: str
    seconds: float
    path: Path | None


def key_digest(fields: Mapping[str, Any]) -> str:
    blob = json.dumps({"format": FORMAT, **fields}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _check(data: Path, meta: Path, digest: str) -> str:
    """'' when ``data`` is what ``meta`` promises for this key; else why not."""
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError):
        return "corrupt"
    if not isinstance(info, dict) or info.get("key") != digest or info.get("format") != FORMAT:
        return "stale"
    try:
        if data.stat().st_size != info.get("size") or _sha256(data) != info.get("sha256"):
            return "corrupt"
    except OSError:
        return "corrupt"
    return ""


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    import fcntl

    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _publish(save: Callable[[Path], None], data: Path, meta: Path, digest: str,
             fields: Mapping[str, Any]) -> None:
    tmp = data.with_name(f".{data.name}.{os.getpid()}.tmp")
    meta_tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
    try:
        save(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        info = {"format": FORMAT, "key": digest, "fields": dict(fields),
                "size": tmp.stat().st_size, "sha256": _sha256(tmp)}
        # The data first, then the sidecar that vouches for it: a crash in between leaves a
        # sidecar that does not match, which the next load rebuilds.
        os.replace(tmp, data)
        meta_tmp.write_text(json.dumps(info, sort_keys=True, default=str), encoding="utf-8")
        os.replace(meta_tmp, meta)
    finally:
        tmp.unlink(missing_ok=True)
        meta_tmp.unlink(missing_ok=True)


def _paths(kind: str, fields: Mapping[str, Any], suffix: str,
           folder: Path | None) -> tuple[Path, Path, Path, str]:
    """(data file, its sidecar, the key's lock file, the key's digest) of an artifact."""
    digest = key_digest({"kind": kind, **fields})
    stem = (folder or cache_dir()) / f"{kind}-{digest[:32]}"
    data = stem.with_name(stem.name + suffix)
    return data, data.with_name(data.name + ".json"), stem.with_name(stem.name + ".lock"), digest


def cached(
    kind: str, fields: Mapping[str, Any], suffix: str, build: Callable[[], T],
    save: Callable[[T, Path], None], load: Callable[[Path], T], folder: Path | None = None,
) -> Cached[T]:
    """The artifact for ``fields``: loaded from the cache when it checks out, else built.

    ``build()`` makes it in memory, ``save(value, path)`` writes it to a file and ``load(path)``
    reads that file back (memory-mapped where it can), raising ``ValueError`` or ``OSError`` when
    the file is unreadable.
    """
    start = time.perf_counter()
    data, meta, lock, digest = _paths(kind, fields, suffix, folder)

    def hit() -> Cached[T] | None:
        if _check(data, meta, digest):
            return None
        try:
            return Cached(load(data), "hit", time.perf_counter() - start, data)
        except (ValueError, OSError):
            return None

    found = hit()
    if found is not None:
        return found
    why = _check(data, meta, digest)
    with contextlib.ExitStack() as stack:
        try:
            data.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(_exclusive(lock))
        except OSError:
            return Cached(build(), "uncached", time.perf_counter() - start, None)
        found = hit()  # another process may have built it while we waited for the lock
        if found is not None:
            return found
        value = build()
        try:
            _publish(lambda path: save(value, path), data, meta, digest, fields)
        except OSError:
            return Cached(value, "uncached", time.perf_counter() - start, None)
    status = "built" if why == "missing" else "rebuilt"
    return Cached(value, status, time.perf_counter() - start, data)


def save_marshal(value: Any, path: Path) -> None:
    """Write ``value`` (plain dicts, lists, str, int, float) with ``marshal``: the fastest to read back."""
    import marshal

    path.write_bytes(marshal.dumps(value))


def load_marshal(path: Path) -> Any:
    """What :func:`save_marshal` wrote; a file it cannot read is a ValueError (the cache rebuilds it)."""
    import marshal

    try:
        return marshal.loads(path.read_bytes())
    except (EOFError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def check_counts(value: Any, path: Path) -> dict[str, int]:
    """``value`` when it is a table of counts (text -> int >= 0), else a ValueError naming ``path``."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in value.items()):
        raise ValueError(f"{path}: not a table of counts")
    return value


def load_counts(kind: str, fields: Mapping[str, Any], folder: Path | None = None) -> dict[str, int]:
    """A table of counts that grows from run to run (text -> count), or ``{}`` when there is none
    or the file does not check out (size, SHA-256 and key in its sidecar, as :func:`cached`)."""
    data, meta, _, digest = _paths(kind, fields, ".marshal", folder)
    if _check(data, meta, digest):
        return {}
    try:
        return check_counts(load_marshal(data), data)
    except (ValueError, OSError):
        return {}


def add_counts(kind: str, fields: Mapping[str, Any], new: Mapping[str, int], limit: int,
               folder: Path | None = None) -> None:
    """Add ``new`` to the table (under the key's lock: two processes adding at once keep both);
    past ``limit`` entries the table starts again from ``new``. A cache that cannot be written
    is left as it is."""
    if not new:
        return
    data, meta, lock, digest = _paths(kind, fields, ".marshal", folder)
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(lock):
            table = load_counts(kind, fields, folder)
            table = {**table, **new} if len(table) + len(new) <= limit else dict(new)
            _publish(lambda path: save_marshal(table, path), data, meta, digest, fields)
    except OSError:
        return
