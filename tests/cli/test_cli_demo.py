"""`ledger demo` (the README's main command) as a real process: no key, no network needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ledger import Ledger


def test_demo_runs_every_config_then_lists_compares_and_verifies(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "ledger", "demo", "--db", str(db), "--sample", "80"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    configs = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))
    with Ledger(db) as led:
        runs = led.runs()
        assert len(runs) == len(configs) >= 2
        assert all(r.status == "ok" and r.sample_size == 80 for r in runs)
        assert led.verify().ok
    out = proc.stdout
    # the baseline against the best F1 (not simply the last config)
    best = max(runs[1:], key=lambda r: (r.f1, r.id))
    assert "VERDICT:" in out and f"ledger compare {runs[0].id} {best.id} " in out
    # a PROMOTE under a below-majority warning says why both hold
    if "VERDICT: PROMOTE" in out and "does not beat always answering" in out:
        assert "why both: accuracy counts every record" in out
    assert f"chain head:      {runs[-1].id}:{runs[-1].hash}" in out
    assert "Traceback" not in proc.stderr


def test_why_both_is_said_only_when_promote_meets_the_majority_warning() -> None:
    from ledger.cli.demo import _why_both

    below = {"kind": "below_majority_baseline"}
    assert _why_both({"flags": [below], "verdict": {"decision": "PROMOTE"}, "positive_label": "wrong"})
    assert _why_both({"flags": [below], "verdict": {"decision": "REVIEW"}}) is None
    assert _why_both({"flags": [], "verdict": {"decision": "PROMOTE"}}) is None
