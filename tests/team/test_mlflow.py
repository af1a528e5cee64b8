"""`ledger push` and `ledger import mlflow` against a real `mlflow server` (SQLite backend,
artifacts in a temp folder) on 127.0.0.1, read back with MLflow's own client (`MlflowClient`,
`mlflow.load_table`). One server for the module; each test uses its own experiments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from ledger import Ledger, Records, RunInput

from .conftest import LEDGER, build_team_ledger, cli, plain_run
from .servers import QUIET_ENV, free_port, mlflow_server

pytestmark = pytest.mark.slow
os.environ.update(QUIET_ENV)  # this test process talks to MLflow too


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture(scope="module")
def client(mlflow_uri: str):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(mlflow_uri)


@pytest.fixture(scope="module")
def pushed(mlflow_uri: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The team ledger, pushed once (the tests below read what the push left)."""
    db = tmp_path_factory.mktemp("team") / "team.db"
    build_team_ledger(db)
    return db, cli("push", "--to", mlflow_uri, "--db", str(db), check=True)


def by_uid(client, experiment: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    from mlflow.entities import ViewType

    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000)
    out: dict[str, list] = {}
    for r in runs:
        out.setdefault(r.data.tags.get("ledger.uid", ""), []).append(r)
    return out


def test_push_mirrors_every_run(pushed, client, mlflow_uri: str) -> None:  # type: ignore[no-untyped-def]
    db, proc = pushed
    assert "7 run(s)" in proc.stdout and "7 created" in proc.stdout, proc.stdout
    with Ledger(db) as led:
        runs = led.runs()
        head_id, head_hash = 9, led.get(9).hash  # the head when the push started
        variants = {v.fingerprint: v.key for v in led.variants()}
        records = {r.id: led.records(r.id) for r in runs}
    found = {**by_uid(client, "hs-audit"), **by_uid(client, "spam")}
    assert sorted(found) == sorted(r.uid for r in runs)  # one MLflow run per ledger run, no other
    for run in runs:
        (mr,) = found[run.uid]
        tags, params, metrics = mr.data.tags, mr.data.params, mr.data.metrics
        assert tags["ledger.id"] == str(run.id) and tags["ledger.hash"] == run.hash
        assert tags["ledger.chain_head"] == f"{head_id}:{head_hash}"
        assert tags["ledger.hypothesis"] == run.hypothesis
        assert tags["ledger.status"] == run.status
        assert tags.get("ledger.variant_number") == variants.get(run.variant or "")
        assert tags.get("ledger.variant_name") == run.variant_name
        assert mr.info.status == {"ok": "FINISHED", "failed": "FAILED"}[run.status]
        assert params == {k: v if isinstance(v, str) else json.dumps(v) for k, v in run.params.items()}
        recs = records[run.id]
        if len(recs):
            truth, pred = recs.labels, recs.predictions
            label = run.positive_label
            # scikit-learn, from the records, is the oracle for what MLflow holds
            assert metrics["precision"] == pytest.approx(precision_score(truth, pred, pos_label=label, zero_division=0))
            assert metrics["recall"] == pytest.approx(recall_score(truth, pred, pos_label=label, zero_division=0))
            assert metrics["f1"] == pytest.approx(f1_score(truth, pred, pos_label=label, zero_division=0))
            other = "ok" if label == "wrong" else "ham"
            assert metrics[f"class.{other}.support"] == truth.count(other)
            assert metrics["sample_size"] == len(recs)
    assert found[runs[0].uid][0].data.tags["ledger.evalset"] == "hs-40"
    assert found[runs[3].uid][0].data.tags["ledger.error"] == "provider timed out"
    assert found[runs[2].uid][0].data.tags["ledger.parent"] == "2"


def test_records_table_reads_back_with_mlflow(pushed, client) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    db, _ = pushed
    with Ledger(db) as led:
        run = led.get(3)
        recs = led.records(3)
    (mr,) = by_uid(client, "hs-audit")[run.uid]
    logged = json.loads(mr.data.tags["mlflow.loggedArtifacts"])
    assert {"path": "ledger/records.json", "type": "table"} in logged  # what MLflow's views list
    mlflow.set_tracking_uri(client.tracking_uri)  # load_table searches through the fluent API
    table = client.load_table(mr.info.experiment_id, "ledger/records.json", run_ids=[mr.info.run_id])
    assert len(table) == len(recs) == 40
    assert list(table["label"]) == recs.labels and list(table["prediction"]) == recs.predictions
    assert list(table["correct"]) == [a == b for a, b in zip(recs.labels, recs.predictions, strict=True)]
    # pandas.read_json (MLflow's reader) turns numeric-looking text into numbers; ledger's own
    # import reads the JSON as written (test_records_round_trip_exactly)
    assert list(table["output.code"]) == pytest.approx([float(c) for c in recs.outputs["code"]])
    assert list(table["scores.flag"]) == pytest.approx(list(recs.numeric["scores.flag"]))
    assert [str(s) for s in table["stratum"]] == recs.strata  # filled from the evaluation set


def test_decision_and_analysis_travel_with_their_runs(pushed, client) -> None:  # type: ignore[no-untyped-def]
    db, _ = pushed
    with Ledger(db) as led:
        uid3, uid1 = led.get(3).uid, led.get(1).uid
    runs = by_uid(client, "hs-audit")
    names3 = {a.path for a in client.list_artifacts(runs[uid3][0].info.run_id, "ledger/rows")}
    assert names3 == {"ledger/rows/decision-7.json", "ledger/rows/analysis-8.json"}
    names1 = {a.path for a in client.list_artifacts(runs[uid1][0].info.run_id, "ledger/rows")}
    assert names1 == {"ledger/rows/analysis-8.json"}
    local = client.download_artifacts(runs[uid3][0].info.run_id, "ledger/rows/decision-7.json")
    body = json.loads(Path(local).read_text())["body"]
    assert body == {"why": "top-10 wins on recall", "revisit_when": "recall < 0.9"}


def test_push_is_recorded_in_the_ledger(pushed, client) -> None:  # type: ignore[no-untyped-def]
    db, _ = pushed
    with Ledger(db) as led:
        rows = led.runs(kind="push")
        runs = {r.id: r for r in led.runs()}
        assert led.verify().ok
    assert [r.experiment for r in rows] == ["hs-audit", "spam"]
    assert sorted(ref for r in rows for ref in r.refs) == sorted(runs)
    hs = rows[0]
    mirrored = by_uid(client, "hs-audit")
    for run_id, mlflow_id in hs.body["runs"].items():
        assert mirrored[runs[int(run_id)].uid][0].info.run_id == mlflow_id
    assert hs.body["mlflow_experiment_id"] == client.get_experiment_by_name("hs-audit").experiment_id


def test_push_again_adds_nothing_until_a_row_is_appended(pushed, client, mlflow_uri: str) -> None:  # type: ignore[no-untyped-def]
    db, _ = pushed
    before = {k: [r.info.run_id for r in v] for k, v in by_uid(client, "hs-audit").items()}
    again = cli("push", "--to", mlflow_uri, "--db", str(db), "--json", check=True)
    assert {r["action"] for r in json.loads(again.stdout)["runs"]} == {"present"}
    assert {k: [r.info.run_id for r in v] for k, v in by_uid(client, "hs-audit").items()} == before
    with Ledger(db) as led:
        pushes = led.count("push")
        led.append(RunInput(kind="decision", experiment="hs-audit", refs=[1], body={"why": "keep v1 too"}))
    third = json.loads(cli("push", "--to", mlflow_uri, "--db", str(db), "--json", check=True).stdout)
    assert {r["run_id"]: r["action"] for r in third["runs"] if r["action"] != "present"} == {1: "updated"}
    assert {k: [r.info.run_id for r in v] for k, v in by_uid(client, "hs-audit").items()} == before
    with Ledger(db) as led:
        assert led.count("push") == pushes + 1


def test_push_selects_by_spec_since_and_experiment(tmp_path: Path, mlflow_uri: str, client) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "sel.db"
    with Ledger(db, create=True) as led:
        for seed in range(4):
            led.append(RunInput(experiment="sel-a" if seed < 3 else "sel-b", records=plain_run(seed, 20),
                                params={"k": seed}, positive_label="spam"))
    out = json.loads(cli("push", "--to", mlflow_uri, "--db", str(db), "--runs", "1-2", "--json", check=True).stdout)
    assert [r["run_id"] for r in out["runs"]] == [1, 2]
    out = json.loads(cli("push", "--to", mlflow_uri, "--db", str(db), "--since", "1", "-e", "sel-a", "--json",
                         check=True).stdout)
    assert [(r["run_id"], r["action"]) for r in out["runs"]] == [(2, "present"), (3, "created")]
    assert client.get_experiment_by_name("sel-b") is None  # run 4 was never selected
    bad = cli("push", "--to", mlflow_uri, "--db", str(db), "--runs", "1", "--since", "1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not both" in bad.stderr


def kill_test_ledger(path: Path, n: int) -> None:
    with Ledger(path, create=True) as led:
        for i in range(n):
            led.append(RunInput(experiment="kill-test", hypothesis=f"run {i}", params={"i": i},
                                records=plain_run(100 + i, 500), positive_label="spam"))


def test_a_push_killed_half_way_resumes_with_each_run_once(tmp_path: Path, mlflow_uri: str, client) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "kill.db"
    n = 24
    kill_test_ledger(db, n)
    proc = subprocess.Popen([LEDGER, "push", "--to", mlflow_uri, "--db", str(db)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **QUIET_ENV})
    assert proc.stderr is not None
    seen = 0
    try:
        for line in proc.stderr:  # one progress line per run (stderr is a pipe)
            if line.startswith("push "):
                seen += 1
            if seen == 3:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    mid = by_uid(client, "kill-test")
    complete = [r for runs in mid.values() for r in runs if r.data.tags.get("ledger.push_complete") == "1"]
    assert 3 <= len(complete) < n  # killed half-way: some runs there, not all
    done_uids = {r.data.tags["ledger.uid"] for r in complete}
    with Ledger(db) as led:
        assert led.count("push") == 0  # a killed process recorded nothing
    resumed = json.loads(cli("push", "--to", mlflow_uri, "--db", str(db), "--json", check=True).stdout)
    after = by_uid(client, "kill-test")
    with Ledger(db) as led:
        led_runs = led.runs()
        uids = [r.uid for r in led_runs]
        rows = led.runs(kind="push")
        assert led.verify().ok
    assert sorted(after) == sorted(uids)
    assert all(len(v) == 1 and v[0].data.tags["ledger.push_complete"] == "1" for v in after.values())
    # the runs the killed push completed are left alone (with 4 in flight they finish in any order,
    # so they are found by uid, not by position); the others are created or completed now
    done_ids = {r.id for r in led_runs if r.uid in done_uids}
    actions = {r["run_id"]: r["action"] for r in resumed["runs"]}
    assert len(done_ids) == len(complete) and {actions[i] for i in done_ids} == {"present"}
    assert {a for i, a in actions.items() if i not in done_ids} <= {"created", "completed"}
    # the resumed push records every run, those the killed push sent included
    assert sorted(ref for r in rows for ref in r.refs) == list(range(1, n + 1))


def test_an_interrupted_run_is_completed_not_duplicated(tmp_path: Path, mlflow_uri: str, client) -> None:  # type: ignore[no-untyped-def]
    """The state a kill right after the MLflow run was created leaves: the run with its uid tag
    and nothing else. The next push completes that run."""
    db = tmp_path / "partial.db"
    with Ledger(db, create=True) as led:
        run = led.append(RunInput(experiment="partial", records=plain_run(3, 30), positive_label="spam",
                                  params={"model": "nb"}))
    exp = client.create_experiment("partial")
    client.create_run(exp, tags={"ledger.uid": run.uid})
    out = json.loads(cli("push", "--to", mlflow_uri, "--db", str(db), "--json", check=True).stdout)
    assert [r["action"] for r in out["runs"]] == ["completed"]
    (only,) = by_uid(client, "partial")[run.uid]
    assert only.data.params == {"model": "nb"} and only.data.metrics["recall"] == pytest.approx(run.recall)


def test_import_into_a_fresh_ledger_gives_the_same_runs(pushed, tmp_path: Path, mlflow_uri: str) -> None:  # type: ignore[no-untyped-def]
    db, _ = pushed
    fresh = tmp_path / "fresh.db"
    with Ledger(fresh, create=True) as led:  # the evaluation set exists there too: the link is kept
        from ledger.evalsets import EvalRecords

        from .conftest import EVALSET, evalset_rows

        led.add_evalset(EVALSET, EvalRecords.from_rows(evalset_rows()), description="40 audit cases")
    for experiment in ("hs-audit", "spam"):
        out = cli("import", "mlflow", "--from", mlflow_uri, "--experiment", experiment, "--db", str(fresh), check=True)
        assert "imported" in out.stdout
    with Ledger(db) as a, Ledger(fresh) as b:
        old = {r.uid: r for r in a.runs()}
        new = {r.uid: r for r in b.runs()}
        assert sorted(old) == sorted(new)
        for uid, r in old.items():
            s = new[uid]
            assert (s.experiment, s.hypothesis, s.status, s.params, s.variant, s.variant_name) == \
                   (r.experiment, r.hypothesis, r.status, r.params, r.variant, r.variant_name)
            assert s.records_digest == r.records_digest and s.metrics == r.metrics
            assert {k: b.prompt_text(v) for k, v in s.prompts.items()} == {k: a.prompt_text(v) for k, v in r.prompts.items()}
            assert (s.parent_id is None) == (r.parent_id is None)
            if r.parent_id is not None:
                assert b.get(s.parent_id).uid == a.get(r.parent_id).uid
            assert b.get(s.id).evalset_id == (1 if r.evalset_id else None)
        assert b.verify().ok
        count = b.count("run")
    again = cli("import", "mlflow", "--from", mlflow_uri, "--experiment", "hs-audit", "--db", str(fresh),
                "--json", check=True)
    assert {r["action"] for r in json.loads(again.stdout)["runs"]} == {"present"}
    with Ledger(fresh) as b:
        assert b.count("run") == count


def test_import_runs_logged_by_other_tools(tmp_path: Path, mlflow_uri: str, client) -> None:  # type: ignore[no-untyped-def]
    exp = client.create_experiment("other-tool")
    with_table = client.create_run(exp, run_name="gpt judge", tags={"team": "search", "mlflow.note.content": "a judge"})
    rid = with_table.info.run_id
    client.log_param(rid, "temperature", "0.2")
    client.log_metric(rid, "toxicity", 0.01)
    truth = ["a", "b", "a", "a", "b", "a"]
    pred = ["a", "a", "a", "b", "b", "a"]
    client.log_table(rid, {"inputs": [f"q{i}" for i in range(6)], "targets": truth, "outputs": pred,
                           "score": [0.9, 0.2, 0.8, 0.4, 0.7, 0.6], "explanation": ["x"] * 6}, "eval_results_table.json")
    client.set_terminated(rid)
    metrics_only = client.create_run(exp, run_name="summary")
    client.log_metric(metrics_only.info.run_id, "precision", 0.8)
    client.set_terminated(metrics_only.info.run_id)
    running = client.create_run(exp, run_name="still going")
    db = tmp_path / "other.db"
    out = cli("import", "mlflow", "--from", mlflow_uri, "-e", "other-tool", "--db", str(db), "--json", check=True)
    report = json.loads(out.stdout)
    actions = {r["mlflow_run_id"]: r for r in report["runs"]}
    assert actions[running.info.run_id]["action"] == "skipped"
    assert any("explanation" in n for n in report["unmapped"]) and any("'team'" in n for n in report["unmapped"])
    with Ledger(db) as led:
        table_run = led.get(actions[rid]["run_id"])
        summary = led.get(actions[metrics_only.info.run_id]["run_id"])
        recs = led.records(table_run.id)
    assert table_run.hypothesis == "a judge" and table_run.params == {"temperature": "0.2"}
    assert recs.labels == truth and recs.predictions == pred and recs.inputs["text"] == [f"q{i}" for i in range(6)]
    assert table_run.accuracy == pytest.approx(4 / 6)  # computed by the ledger from the table
    assert table_run.reported_metrics == {"toxicity": 0.01}
    assert table_run.body["imported"]["tags"] == {"team": "search"}
    assert summary.record_count == 0 and summary.reported_metrics == {"precision": 0.8}
    again = json.loads(cli("import", "mlflow", "--from", mlflow_uri, "-e", "other-tool", "--db", str(db),
                           "--json", check=True).stdout)
    assert sorted(r["action"] for r in again["runs"]) == ["present", "present", "skipped"]


def test_an_unreachable_server_is_one_line_and_writes_nothing(team_db: Path) -> None:
    before = team_db.read_bytes()
    proc = cli("push", "--to", f"http://127.0.0.1:{free_port()}", "--db", str(team_db))
    assert proc.returncode == 2
    assert proc.stderr.startswith("ledger: error: cannot reach an MLflow server") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert team_db.read_bytes() == before


def test_records_round_trip_exactly(tmp_path: Path) -> None:
    """The records table's values survive JSON: a run with NaN, ints, strata and JSON outputs."""
    from ledger.mlflow_import import _ledger_records
    from ledger.mlflow_map import records_table, table_json

    recs = Records.from_rows([
        {"id": "1", "label": "x", "prediction": "y", "stratum": "s", "cost_usd": 0.1, "scores": {"f": 1 / 3},
         "output": {"cands": ["a", "b"], "why": "ü"}},
        {"id": "2", "label": "y", "prediction": "y", "input_tokens": 12},
    ])
    back = _ledger_records(json.loads(table_json(records_table(recs))))
    assert back.to_storage() == recs.to_storage()
