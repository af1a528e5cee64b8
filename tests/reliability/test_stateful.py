"""A random sequence of appends, reopens, JSON exports, imports through `ledger log` and verifies,
checked at every step against a simple model: what was appended reads back the same, an append
never changes an earlier row, a retried uid never duplicates, and a whole-ledger export logged into
an empty ledger rebuilds the very same hash chain."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from typer.testing import CliRunner

from ledger import InvalidRun, Ledger, Records, RunInput
from ledger.cli import app
from ledger.params import flatten

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
scalar = st.one_of(st.integers(-10**6, 10**6), st.booleans(), text,
                   st.floats(allow_nan=False, allow_infinity=False, width=32))
params_st = st.dictionaries(st.sampled_from(["top_k", "model", "threshold", "rerank"]),
                            st.one_of(scalar, st.dictionaries(st.sampled_from(["a", "b"]), scalar, max_size=2)),
                            max_size=3)


@st.composite
def records_st(draw: st.DrawFn) -> list[dict[str, Any]] | None:
    n = draw(st.integers(0, 12))
    if n == 0:
        return None
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "id": f"r{i}", "label": draw(st.sampled_from(["ok", "wrong"])),
            "prediction": draw(st.sampled_from(["ok", "wrong"])),
        }
        if draw(st.booleans()):
            row["cost_usd"] = draw(st.floats(0, 1, allow_nan=False))
        if draw(st.booleans()):
            row["scores"] = {"flag": draw(st.floats(0, 1, allow_nan=False))}
        if draw(st.booleans()):
            row["stratum"] = draw(st.sampled_from(["84", "85", "61"]))
        rows.append(row)
    return rows


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr, result.exception)
    return result


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-stateful-"))
        self.db = self.dir / "a.db"
        self.ledger: Ledger | None = None
        self.model: list[dict[str, Any]] = []  # what each appended run must read back as
        self.hashes: list[str] = []  # the hash of each row when it was appended
        self.export: Path | None = None
        self.exported_head: tuple[int | None, str] | None = None
        self.imports = 0

    @initialize()
    def open_ledger(self) -> None:
        self.ledger = Ledger(self.db, create=True)

    def teardown(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(experiment=st.sampled_from(["a", "b", "c"]), hypothesis=text, params=params_st,
          rows=records_st(), status=st.sampled_from(["ok", "ok", "failed"]), reuse=st.booleans())
    def append(self, experiment: str, hypothesis: str, params: dict[str, Any],
               rows: list[dict[str, Any]] | None, status: str, reuse: bool) -> None:
        assert self.ledger is not None
        uid = self.model[-1]["uid"] if (reuse and self.model) else f"uid-{len(self.model)}"
        records = Records.from_rows(rows) if rows else None
        given = RunInput(
            experiment=experiment, hypothesis=hypothesis, params=params, records=records,
            positive_label="wrong", status=status, uid=uid,
            error="boom" if status == "failed" else None,
        )
        if reuse and self.model:
            last = self.model[-1]
            same = (last["experiment"], last["hypothesis"], last["params"], last["status"], last["rows"]) == (
                experiment, hypothesis, flatten(params), status, records.rows() if records else [])
            try:
                run = self.ledger.append(given)
            except InvalidRun as exc:
                assert not same and "already run" in str(exc), "only other content under a stored uid is refused"
                event("refused other content under a stored uid")
                return
            assert same, "other content under a stored uid must be refused, not dropped"
            assert run.id == len(self.model), "a retried uid must return the stored run"
            assert run.hash == self.hashes[-1]
            event("retried a uid")
            return
        run = self.ledger.append(given)
        assert run.id == len(self.model) + 1
        self.model.append({
            "uid": uid, "experiment": experiment, "hypothesis": hypothesis, "params": flatten(params),
            "status": status, "rows": Records.from_rows(rows).rows() if rows else [],
        })
        self.hashes.append(run.hash)

    @rule()
    def reopen(self) -> None:
        assert self.ledger is not None
        self.ledger.close()
        self.ledger = Ledger(self.db)

    @precondition(lambda self: bool(self.model))
    @rule()
    def export_json(self) -> None:
        assert self.ledger is not None
        out = self.dir / "export.json"
        _invoke("export", "--format", "json", "--output", str(out), "--force", "--db", str(self.db))
        self.export = out
        self.exported_head = self.ledger.head()
        header = json.loads(out.read_text(encoding="utf-8"))["ledger_export"]
        assert header["chain_head"] == {"id": self.exported_head[0], "hash": self.exported_head[1]}

    @precondition(lambda self: self.export is not None and self.exported_head is not None
                  and self.exported_head[0] is not None)
    @rule()
    def import_via_log(self) -> None:
        assert self.export is not None and self.exported_head is not None
        self.imports += 1
        event("imported an export via ledger log")
        target = self.dir / f"imported{self.imports}.db"
        _invoke("init", "--db", str(target))
        _invoke("log", str(self.export), "--db", str(target))
        _invoke("log", str(self.export), "--db", str(target))  # again: every uid is known, a no-op
        with Ledger(target) as copy:
            assert copy.head() == self.exported_head, "the export did not rebuild the same chain"
            n = self.exported_head[0]
            assert copy.count(kind=None) == n
            self._check_against_model(copy, upto=n)
            assert copy.verify().ok

    @precondition(lambda self: bool(self.model))
    @rule()
    def export_then_import(self) -> None:
        self.export_json()
        self.import_via_log()

    @rule()
    def verify(self) -> None:
        assert self.ledger is not None
        report = self.ledger.verify()
        assert report.ok, report.problems
        assert report.runs_checked == len(self.model)

    def _check_against_model(self, ledger: Ledger, upto: int | None = None) -> None:
        runs = ledger.runs(kind=None)
        expected = self.model[: upto if upto is not None else len(self.model)]
        assert len(runs) == len(expected)
        for run, want in zip(runs, expected, strict=True):
            assert run.uid == want["uid"]
            assert run.experiment == want["experiment"]
            assert run.hypothesis == want["hypothesis"]
            assert run.params == want["params"]
            assert run.status == want["status"]
            assert ledger.records(run.id).rows() == want["rows"]

    @invariant()
    def earlier_rows_never_change(self) -> None:
        if self.ledger is None:
            return
        stored = [r.hash for r in self.ledger.runs(kind=None)]
        assert stored == self.hashes

    @invariant()
    def reads_back_what_was_appended(self) -> None:
        if self.ledger is None or len(self.model) % 3:  # full check every third size (cost)
            return
        self._check_against_model(self.ledger)


# bench/torture.py sets LEDGER_RELIABILITY_SCALE (e.g. 10) for the full-size run.
LedgerMachine.TestCase.settings = settings(
    max_examples=60 * int(os.environ.get("LEDGER_RELIABILITY_SCALE", "1")), stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerMachine = LedgerMachine.TestCase
