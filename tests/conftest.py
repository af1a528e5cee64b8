"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from ledger import Ledger, Records, RunInput

# Property tests draw the same examples on every run (CI included): a failure is reproducible,
# never a matter of luck. (Each test's examples are seeded by the test itself.)
settings.register_profile("ledger", derandomize=True, database=None)
settings.load_profile("ledger")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def ledger(db_path: Path) -> Iterator[Ledger]:
    with Ledger(db_path, create=True) as led:
        yield led


def make_records(n: int = 200, seed: int = 0, positive_rate: float = 0.05, flip: float = 0.1,
                 scores: bool = True, strata: bool = True) -> Records:
    """Synthetic binary audit records: label 'wrong' (rare) or 'ok'."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "wrong" if rng.random() < positive_rate else "ok"
        pred = label if rng.random() > flip else ("ok" if label == "wrong" else "wrong")
        row: dict[str, object] = {
            "id": f"r{i}", "label": label, "prediction": pred,
            "cost_usd": rng.uniform(0, 0.001), "input_tokens": rng.randint(50, 400),
            "output_tokens": rng.randint(1, 30), "latency_ms": rng.uniform(5, 80),
        }
        if scores:
            row["scores"] = {"flag": rng.random()}
        if strata:
            row["stratum"] = rng.choice(["84", "85", "61", "39"])
        rows.append(row)
    return Records.from_rows(rows)


def make_run(experiment: str = "exp", n: int = 200, seed: int = 0, **fields: object) -> RunInput:
    return RunInput(experiment=experiment, records=make_records(n, seed), positive_label="wrong",
                    **fields)  # type: ignore[arg-type]


def need_program(*names: str, install: str) -> str:
    """The path of the first of ``names`` on PATH. Missing: a skip on a developer's machine, a
    failure in CI (``CI`` set), where `.ci/run` installs it: a real-browser or real-terminal check
    that skips in CI is a check that never runs."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"{names[0]} is not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run installs it before the tests", pytrace=False)
    pytest.skip(message)
