"""The README's examples run as written (item 16: the Python snippet used undefined names)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]


def readme_block(after: str, lang: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(after)
    match = re.search(rf"```{lang}\n(.*?)```", text[start:], re.S)
    assert match, f"no {lang} block after {after!r}"
    return match.group(1)


def test_the_python_snippet_runs_as_written(tmp_path: Path) -> None:
    code = readme_block("### From Python", "python")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_id = int(proc.stdout.strip())
    with Ledger(tmp_path / "ledger.db") as led:
        run = led.get(run_id)
        assert run.status == "ok" and run.record_count == 200 and run.positive_label == "wrong"
        assert led.records(run_id).inputs["text"][0] == "item 0"


def test_the_readme_says_true_code_is_required_and_the_loader_agrees(tmp_path: Path) -> None:
    from pipeline.io import RECORD_COLUMNS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "[,true_code]" not in text and "`id,text,declared_code,true_code`: all four required" in text
    assert RECORD_COLUMNS == ("id", "text", "declared_code", "true_code")


def test_the_readme_describes_the_demo_it_runs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    configs = sorted((ROOT / "configs").glob("*.toml"))
    assert "runs the bundled HS-code audit pipeline twice" not in text
    assert f"once per config in `configs/` ({['zero', 'one', 'two', 'three', 'four', 'five'][len(configs)]}" in text
    assert "compares the baseline with the run of the best F1" in text
