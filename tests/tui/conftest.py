"""Fixtures for the TUI tests: small real ledgers on disk with fixed times (stable snapshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger, Records, RunInput
from tests.conftest import make_records

ENV = {"python": "3.11", "machine": "test", "sqlite": "3.40"}


def stamp(i: int) -> str:
    return f"2025-03-{1 + i // 24:02d}T{i % 24:02d}:15:00.000000Z"


def staged_records(n: int, seed: int) -> Records:
    """Records with per-stage columns: every record is filtered, 60% reach rerank."""
    base = make_records(n, seed)
    numeric = dict(base.numeric)
    numeric["stages.filter.latency_ms"] = [1.0] * n  # type: ignore[assignment]
    numeric["stages.rerank.latency_ms"] = [5.0 if i % 5 < 3 else float("nan") for i in range(n)]  # type: ignore[assignment]
    return Records.from_columns(base.ids, base.labels, base.predictions, strata=base.strata, numeric=numeric)


def build_ledger(path: Path) -> Path:
    """Six runs: baseline x3, rerank x3 (one failed; one with stage columns and a prompt)."""
    with Ledger(path, create=True) as led:
        specs = [
            ("baseline", "first baseline on the generated set", {"retrieve.top_k": 5}),
            ("baseline", "same config, new seed", {"retrieve.top_k": 5}),
            ("baseline", "top_k 10 lifts recall", {"retrieve.top_k": 10}),
            ("rerank", "LLM rerank of the top 10", {"retrieve.top_k": 10, "rerank.on": True}),
        ]
        for i, (exp, hyp, params) in enumerate(specs):
            led.append(RunInput(experiment=exp, hypothesis=hyp, params=params, records=make_records(300, i),
                                positive_label="wrong", created_at=stamp(i), environment=ENV,
                                timing={"wall_s": 3.0 + i}))
        led.append(RunInput(experiment="rerank", hypothesis="provider timeout", status="failed",
                            error="provider timed out after 3 retries", created_at=stamp(4), environment=ENV))
        led.append(RunInput(experiment="rerank", hypothesis="stage columns for the funnel",
                            params={"retrieve.top_k": 10, "rerank.on": True, "rerank.prompt": "v2"},
                            prompts={"rerank": "Choose the best code for: {text}"},
                            records=staged_records(300, 7), positive_label="wrong", created_at=stamp(5), parent=4,
                            environment=ENV, timing={"wall_s": 9.0, "stage_order": ["filter", "rerank"]}))
    return path


@pytest.fixture
def tui_db(tmp_path: Path) -> Path:
    return build_ledger(tmp_path / "tui.db")


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio through anyio's pytest plugin (``pytestmark = pytest.mark.anyio``)."""
    return "asyncio"


def burst(app: object, keys: list[str]) -> None:
    """Queue key presses all at once, without waiting for any to be handled: what a terminal
    delivers for a fast typist or a paste without bracketed paste (Pilot's press waits between
    keys, which hides races between a key and the ones after it)."""
    from textual import events
    from textual.keys import _character_to_key

    driver = app._driver  # type: ignore[attr-defined]
    for key in keys:
        char = key if len(key) == 1 else None
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char if name != "enter" else "\r")
        event.set_sender(app)  # type: ignore[arg-type]
        driver.send_message(event)
