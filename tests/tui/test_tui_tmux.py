"""Smoke test of the real `ledger tui` in a terminal (tmux): open, mark two runs, compare, quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import build_ledger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "ledger.db.example"


def capture(session: str) -> str:
    out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=False)
    return out.stdout


def wait_screen(session: str, ok: Callable[[str], bool], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = capture(session)
        if ok(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"the screen never showed what was expected; last screen:\n{text}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: the terminal smoke test needs it")
def test_ledger_tui_in_tmux_compares_two_runs(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    if EXAMPLE.exists():
        shutil.copyfile(EXAMPLE, db)
    else:  # until the pipeline's example ledger exists
        build_ledger(db)
    exe = Path(sys.executable).with_name("ledger")
    session = f"ledger-tui-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "32",
         f"cd {tmp_path} && TERM=xterm-256color {exe} tui --db {db} --poll 0; sleep 30"],
        check=True,
    )
    try:
        screen = wait_screen(session, lambda t: " runs" in t and "sort id" in t)
        assert "experiment" in screen and "F1" in screen
        for key in ("Space", "Up", "Space"):  # mark the newest run and the one before it
            subprocess.run(["tmux", "send-keys", "-t", session, key], check=True)
            time.sleep(0.2)
        wait_screen(session, lambda t: "marked A" in t)
        subprocess.run(["tmux", "send-keys", "-t", session, "c"], check=True)
        screen = wait_screen(session, lambda t: "verdict" in t and "metrics (B" in t and "computing" not in t)
        assert "compare A" in screen and "vs B" in screen
        assert any(word in screen for word in ("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION"))
        assert "flags" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        wait_screen(session, lambda t: "verdict" not in t and "sort id" not in t, timeout=20)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
