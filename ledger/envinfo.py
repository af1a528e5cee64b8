"""What a run ran on: the environment (cheap, cached) and the code version (git, on request)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PACKAGES = (
    "ledger", "numpy", "scipy", "pandas", "anthropic", "openai", "usearch", "tiktoken",
    "textual", "typer", "sqlite-utils",
)


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Python, platform, machine, SQLite and the versions of the packages that shape results."""
    versions = installed_versions(PACKAGES)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "node": platform.node(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "argv0": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "",
    }


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each of ``names`` that is installed, as ``importlib.metadata``
    finds it (the first distribution along ``sys.path``). Read from the ``NAME-VERSION.dist-info``
    folders' names (one listing of each path entry), which is what pip writes: importing
    ``importlib.metadata`` (and the email package it reads metadata with) costs more than a run's
    append. A package found otherwise (an egg-info install) is asked of ``importlib.metadata``."""
    wanted = {_normal(n): n for n in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:  # a zip file, a missing folder
            continue
        with listing:
            for item in listing:
                if not item.name.endswith(".dist-info"):
                    continue
                dist, sep, version = item.name[: -len(".dist-info")].rpartition("-")
                name = wanted.get(_normal(dist))
                if sep and name is not None and name not in found:
                    found[name] = version
    missing = [n for n in wanted.values() if n not in found]
    if missing:
        from importlib import metadata

        for name in missing:
            try:
                found[name] = _version(metadata.distribution(name))
            except metadata.PackageNotFoundError:
                continue
    return {n: found[n] for n in wanted.values() if n in found}


def _version(dist: Any) -> str:
    """``dist.version``, read from the metadata's header lines: ``dist.version`` parses the
    whole file with the email package (a package's long description included), 2-5 ms each."""
    for name in ("METADATA", "PKG-INFO"):
        text = dist.read_text(name)
        if not text:
            continue
        for line in text.splitlines():
            if not line.strip():
                break  # the end of the headers
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == "version":
                return value.strip()
    return str(dist.version)


def code_version(path: Path | str = ".") -> dict[str, Any] | None:
    """Git commit, dirty flag and a digest of the uncommitted patch; None outside a checkout."""

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=path, capture_output=True, timeout=10, check=False
        )

    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    patch = git("diff", "HEAD")
    dirty = bool(status.stdout.strip())
    return {
        "commit": head.stdout.decode().strip(),
        "dirty": dirty,
        "patch_sha256": hashlib.sha256(patch.stdout).hexdigest() if dirty else None,
    }
