"""Pipeline tests keep the user cache (taxonomy, vectors, indexes, responses) in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def ledger_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("ledger-cache")
    before = os.environ.get("LEDGER_CACHE_DIR")
    os.environ["LEDGER_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("LEDGER_CACHE_DIR", None)
    else:
        os.environ["LEDGER_CACHE_DIR"] = before
