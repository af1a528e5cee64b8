"""Notebooks: DataFrames of runs, variants and records; a comparison as HTML; the README's
notebook example runs; pandas, MLflow and Datasette stay off the CLI's start-up path; a missing
extra is one line naming it."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from ledger import Ledger, RunInput
from ledger.compare import compare_runs

from .conftest import plain_run

ROOT = Path(__file__).resolve().parents[2]


def test_runs_frame(team_db: Path) -> None:
    with Ledger(team_db) as led:
        frame = led.runs_frame()
        runs = led.runs()
        with_params = led.runs_frame(params=True, experiment="spam")
    assert list(frame.index) == [r.id for r in runs]
    for run in runs:
        row = frame.loc[run.id]
        assert row["hypothesis"] == run.hypothesis and row["status"] == run.status
        assert (row["f1"] == run.f1) if run.f1 is not None else np.isnan(row["f1"])
    assert frame.loc[1, "variant"] == "v1" and frame.loc[3, "variant"] == "v2" and frame.loc[1, "evalset"] == "hs-40"
    assert str(frame["created_at"].dtype).startswith("datetime64") and str(frame["parent_id"].dtype) == "Int64"
    assert list(with_params.index) == [5, 6] and list(with_params["param.alpha"]) == [0.5, 0.5]


def test_variants_frame_means_and_spread(team_db: Path) -> None:
    with Ledger(team_db) as led:
        frame = led.variants_frame()
        f1 = {r.id: r.f1 for r in led.runs()}
    assert list(frame.index) == ["v1", "v2", "v3", "v4"]
    assert frame.loc["v1", "run_ids"] == [1, 2] and frame.loc["v2", "run_ids"] == [3, 9]
    assert frame.loc["v2", "f1_mean"] == pytest.approx(statistics.fmean([f1[3], f1[9]]))
    assert frame.loc["v2", "f1_std"] == pytest.approx(float(np.std([f1[3], f1[9]], ddof=1)))
    assert frame.loc["v3", "ok_runs"] == 0 and np.isnan(frame.loc["v3", "f1_mean"])  # the failed run


def test_records_to_pandas(team_db: Path) -> None:
    with Ledger(team_db) as led:
        recs = led.records(3)
    frame = recs.to_pandas()
    assert list(frame["id"]) == recs.ids and list(frame["prediction"].astype(str)) == recs.predictions
    assert frame["correct"].sum() == sum(a == b for a, b in zip(recs.labels, recs.predictions, strict=True))
    assert list(frame["scores.flag"]) == list(recs.numeric["scores.flag"])
    assert list(frame["output.code"]) == recs.outputs["code"] and list(frame["stratum"].astype(str)) == recs.strata


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_comparison_renders_as_html(tmp_path: Path) -> None:
    with Ledger(tmp_path / "c.db", create=True) as led:
        led.append(RunInput(experiment="e", records=plain_run(1, 200), positive_label="spam",
                            hypothesis="<script>alert(1)</script>"))
        led.append(RunInput(experiment="e", records=plain_run(2, 200), positive_label="spam"))
        comparison = compare_runs(led, [1], [2])
    html = comparison._repr_html_()
    parsed = _Text()
    parsed.feed(html)
    text = " ".join(parsed.text)
    assert comparison.verdict.decision in text
    assert "script" not in parsed.tags  # the hypothesis is escaped, not run
    f1 = comparison.metrics["f1"]
    assert f"{f1.a:.3f}" in text and f"{f1.b:.3f}" in text
    assert "table" in parsed.tags


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- notebook example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README has the notebook example"
    return match.group(1)


def test_the_readme_notebook_example_runs(tmp_path: Path) -> None:
    shutil.copy(ROOT / "ledger.db.example", tmp_path / "ledger.db")
    proc = subprocess.run([sys.executable, "-c", readme_example()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "v5" in proc.stdout and "05_tuned_filter" in proc.stdout
    assert any(d in proc.stdout for d in ("PROMOTE", "ROLLBACK", "REVIEW", "NO_DECISION"))


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_nothing_heavy_at_start_up() -> None:
    loaded = _modules_after("import ledger, ledger.cli")
    assert not {m for m in loaded if m.split(".")[0] in ("pandas", "mlflow", "datasette")}


@pytest.mark.parametrize(("argv", "extra"), [
    (["push", "--to", "http://127.0.0.1:9"], "ledger[mlflow]"),
    (["import", "mlflow", "--from", "sqlite:///x.db", "-e", "x"], "ledger[mlflow]"),
    (["serve"], "ledger[serve]"),
])
def test_a_missing_extra_is_one_line(team_db: Path, argv: list[str], extra: str) -> None:
    """MLflow and Datasette made unimportable (as when the extra is not installed)."""
    code = ("import sys; sys.modules['mlflow'] = None; sys.modules['datasette'] = None\n"
            "from ledger.cli import main; sys.argv = ['ledger'] + sys.argv[1:]; main()")
    if argv[0] == "push":  # past the reachability check, to the import
        argv = ["push", "--to", "sqlite:///" + str(team_db.with_name("m.db"))]
    proc = subprocess.run([sys.executable, "-c", code, *argv, "--db", str(team_db)], capture_output=True,
                          text=True, env={**os.environ}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and f"pip install '{extra}'" in proc.stderr, proc.stderr
