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


def test_the_example_commands_run_as_written(tmp_path: Path) -> None:
    """The commands under "try the ledger of real runs", on a copy of ledger.db.example; the
    variant names start with a digit (config stems) and must not be read as run ids."""
    import shutil

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("try the ledger of real runs")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block
    db = tmp_path / "example.db"
    shutil.copyfile(ROOT / "ledger.db.example", db)
    exe = Path(sys.executable).with_name("ledger")
    outputs = {}
    for line in block.group(1).splitlines():
        words = line.split()
        assert words[0] == ".venv/bin/ledger" and words[-2:] == ["--db", "ledger.db.example"], line
        if words[1] == "tui":
            continue  # driven in tmux by tests/tui/test_tui_tmux.py
        proc = subprocess.run([str(exe), *words[1:-1], str(db)], capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 1), (line, proc.stderr)  # compare exits 1 on a REVIEW verdict
        assert "error" not in proc.stderr and "Traceback" not in proc.stderr, (line, proc.stderr)  # notes only
        outputs[words[1]] = proc.stdout
    assert "A = v4 04_reranker (runs 9, 10, 11)   B = v5 05_tuned_filter (runs 12, 13, 14)" in outputs["compare"]
    assert re.search(r"^v5\s+05_tuned_filter\s+hs-audit\s+4\b", outputs["ls"], re.M)
    assert re.search(r"^\s+16\s+v5\s+17\b", outputs["triggers"], re.M)
