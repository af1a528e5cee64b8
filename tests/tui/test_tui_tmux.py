"""The real `ledger tui` in a real terminal (tmux), driven through a whole working session on a copy
of ledger.db.example: filter, mark, compare, open the cases behind a flag, sweep, launch a run,
decide, export. Keys are sent the way a terminal sends them (a burst for typed text); the screen
is read back with capture-pane; what was written is checked in the ledger afterwards."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger import Ledger
from tests.conftest import need_program

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "ledger.db.example"


class Terminal:
    def __init__(self, session: str) -> None:
        self.session = session

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True,
                             check=False)
        return out.stdout

    def wait(self, ok: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if ok(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed {what}; last screen:\n{text}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        """Literal text, sent in one burst as a fast typist or a paste without brackets."""
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", text], check=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    need_program("tmux", install="apt-get install tmux")
    db = tmp_path / "ledger.db"
    shutil.copyfile(EXAMPLE, db)
    (tmp_path / "configs").mkdir()
    shutil.copyfile(ROOT / "configs" / "03_hybrid.toml", tmp_path / "configs" / "03_hybrid.toml")
    exe = Path(sys.executable).with_name("ledger")
    session = f"ledger-tui-{uuid.uuid4().hex[:8]}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48",
                    # COLUMNS/LINES (set by other tests in this process) would override the pane's size
                    f"cd {tmp_path} && env -u COLUMNS -u LINES TERM=xterm-256color {exe} tui --db {db} --poll 1; "
                    "sleep 30"], check=True)
    try:
        yield Terminal(session), db
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


@pytest.mark.slow
def test_a_whole_session_in_tmux(terminal: tuple[Terminal, Path], tmp_path: Path) -> None:
    t, db = terminal
    t.wait(lambda s: bool(re.search(r"^\s+!\s+17\s+v5 05_tuned_filter", s, re.M)), "the runs table")
    # the cursor starts on the last row, run 17, whose alert (it trips decision 16) takes the status
    # line while the cursor is on it; one row up, the status line counts the runs
    t.keys("Up")
    t.wait(lambda s: "15 runs" in s and "sort id" in s, "the run count")
    # filter: a burst after "/" lands whole in the filter box; nothing opens
    t.keys("/")
    t.type("id:>8")
    t.keys("Enter")
    t.wait(lambda s: bool(re.search(r"^\s+9\s+v4 04_reranker", s, re.M)) and not re.search(r"^\s+8\s+v3", s, re.M),
           "the filtered table")
    # mark runs 11 (A) and 14 (A): older vs newer (the cursor starts on the last row, run 17, whose
    # alert the status line explains while the cursor is on it)
    t.keys("Up", "Up", "Up", "Up", "Space", "Down", "Down", "Space", "Up")  # a mark moves the cursor down
    screen = t.wait(lambda s: "marked A 11,14" in s, "the marks")
    assert "7 of 15 runs" in screen and "filter 'id:>8'" in screen
    # compare, then the cases behind the first flag
    t.keys("c")
    screen = t.wait(lambda s: "VERDICT" in s and "compare A run 11" in s and "computing" not in s, "the comparison")
    assert "what changed" in screen and "metrics (B − A" in screen
    t.keys("Enter")
    screen = t.wait(lambda s: "cases behind:" in s and "shared records" in s, "the cases behind a flag")
    t.keys("Escape", "Escape")
    t.wait(lambda s: "marked A 11,14" in s, "the runs table again")
    # sweep the run under the cursor (14): it opens on the decided score with the recorded costs
    t.keys("s")
    screen = t.wait(lambda s: "sweep of run 14 · score flag" in s and "thresholds" in s, "the sweep")
    assert "as analysis 15" in screen
    t.keys("Escape")
    t.wait(lambda s: "sort id" in s and "thresholds" not in s, "the runs table after the sweep")
    # launch a small run of the hybrid config
    t.keys("l")
    t.wait(lambda s: "launch a run" in s, "the launch form")
    t.type("smoke: hybrid on 20 records")
    t.keys("Tab", "BSpace", "BSpace", "BSpace")
    t.type("20")
    t.keys("C-s")
    finished = t.wait(lambda s: "run 18 ok · P" in s and "compares with its parent, run " in s,
           "the finished run's headline and a compare with its parent", timeout=240)
    t.keys("Escape")
    t.wait(lambda s: "16 runs" in s or "8 of 16 runs" in s, "the new run in the table")
    # decide about the run under the cursor
    t.keys("d")
    t.wait(lambda s: "decision about run" in s, "the decide form")
    t.type("smoke: keep the hybrid")
    t.keys("Enter")
    t.type("recall < 0.05")
    t.keys("Enter")
    t.wait(lambda s: "recorded decision 19" in s, "the recorded decision")
    t.keys("Escape")
    t.wait(lambda s: "sort id" in s and "decision about" not in s, "the runs table after the decision")
    # export the whole ledger as HTML (a new file; nothing is replaced)
    t.keys("e")
    t.wait(lambda s: "export for people" in s, "the export form")
    t.keys("C-s")
    screen = t.wait(lambda s: "wrote " in s, "the written report")
    written = screen[screen.index("wrote "):].split()[1]
    assert written == str(tmp_path / "ledger-runs.html"), screen  # runs 11 and 14 are marked
    t.keys("Escape")
    t.wait(lambda s: "sort id" in s and "export for people" not in s, "the runs table after the export")
    t.keys("q")
    t.wait(lambda s: "sort id" not in s, "the app to quit", timeout=20)
    with Ledger(db) as led:
        launched = led.get(18)
        decision = led.get(19)
        assert launched.hypothesis == "smoke: hybrid on 20 records" and launched.sample_size == 20
        assert f"compares with its parent, run {launched.parent_id} " in finished
        # the same config from this install is the same variant as the example's 03_hybrid runs
        assert launched.variant == led.get(6).variant
        assert decision.kind == "decision" and decision.body["revisit_when"] == "recall < 0.05"
        assert led.verify().ok
    report = (tmp_path / "ledger-runs.html").read_text(encoding="utf-8")
    assert "What was decided" in report and 'id="run-11"' in report and 'id="run-12"' not in report
