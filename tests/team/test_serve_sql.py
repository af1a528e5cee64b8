"""The canned queries' SQL, run by SQLite itself on a ledger with integer-coded records, an
evaluation set and decisions, against the ledger's Python answers (no server needed)."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from ledger import Ledger, RunInput, expr
from ledger import datasette_sql as Q
from ledger.decisions import run_variables, tripped_triggers
from ledger.serve import metadata, snapshot

from .conftest import evalset_rows


@pytest.fixture
def snap(team_db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "snap.db"
    snapshot(team_db, out)
    return out


def rows(db: Path, sql: str, **params: object) -> list[dict[str, object]]:
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def test_snapshot_is_the_same_chain(team_db: Path, snap: Path) -> None:
    conn = sqlite3.connect(snap)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # opens immutable
    conn.close()
    with Ledger(team_db) as a, Ledger(snap) as b:
        assert a.head() == b.head() and b.verify().ok


def test_cases_decode_codes_inputs_and_outputs(team_db: Path, snap: Path) -> None:
    found = rows(snap, Q.cases_sql(), a=1, b=3)
    with Ledger(team_db) as led:
        a, b = led.records(1), led.records(3)
    texts = {str(r["id"]): r["input"]["text"] for r in evalset_rows()}  # type: ignore[index]
    index_b = {rid: i for i, rid in enumerate(b.ids)}
    expected = {}
    for i, rid in enumerate(a.ids):
        j = index_b[rid]
        if a.predictions[i] != b.predictions[j]:
            change = "lost" if a.predictions[i] == a.labels[i] else "gained" if b.predictions[j] == a.labels[i] else "changed"
            expected[rid] = (a.labels[i], a.predictions[i], b.predictions[j], change, a.strata[i],  # type: ignore[index]
                             {"text": texts[rid]}, {"code": a.outputs["code"][i]}, {"code": b.outputs["code"][j]})
    got = {r["record_id"]: (r["label"], r["prediction_a"], r["prediction_b"], r["change"], r["stratum"],
                            json.loads(str(r["inputs"])), json.loads(str(r["output_a"])),
                            json.loads(str(r["output_b"]))) for r in found}
    assert got == expected and len(found) == len(expected) > 3


def test_variants_match_the_ledger(team_db: Path, snap: Path) -> None:
    with Ledger(snap) as led:
        sql = Q.variants_sql(led)
        expected = [(v.key, v.name, run_id) for v in led.variants() for run_id in v.run_ids]
    assert [(r["variant"], r["variant_name"], r["run"]) for r in rows(snap, sql)] == expected


def test_tripped_triggers_match_the_ledger(team_db: Path, tmp_path: Path) -> None:
    """Variant and experiment scopes, confirm 1 and 2, failed runs in or out, a run missing a value."""
    from ledger.decisions import decide

    from .conftest import EVALSET, evalset_run

    with Ledger(team_db) as led:
        decide(led, "3", "wider net", "recall < 0.9", scope="experiment", confirm=2)
        decide(led, "v1", "baseline stays", "f1 < 0.95 and precision > 0", confirm=2, include_failed=True)
        decide(led, "5", "spam ok", "recall < 0.99")  # no later spam run: never trips
        base = {"retrieve": {"top_k": 10, "metric": "cosine"}, "rerank": {"prompt": "v1"}}
        for seed, flip, variant in ((21, 0.5, "top10"), (22, 0.05, "baseline"), (23, 0.5, "top10"),
                                    (24, 0.5, "baseline"), (25, 0.45, "baseline")):
            params = {**base, "run": {"seed": seed}}
            if variant == "baseline":
                params["retrieve"] = {"top_k": 5, "metric": "cosine"}
            led.append(RunInput(experiment="hs-audit", params=params, variant=variant, evalset=EVALSET,
                                records=evalset_run(seed, flip), positive_label="wrong",
                                prompts={"rerank": "Choose the code that fits the description best."}))
        led.append(RunInput(experiment="hs-audit", status="failed", error="x", params={"other": 1}))
    snap = tmp_path / "trips.db"
    snapshot(team_db, snap)
    with Ledger(snap) as led:
        sql = metadata(led, "ledger")["databases"]["ledger"]["queries"]["tripped_triggers"]["sql"]
        trips = tripped_triggers(led)
    assert [(r["decision"], r["tripped_by_run"], r["later_hits"]) for r in rows(snap, sql)] == [
        (t.decision_id, t.run_id, t.later_hits) for t in trips]
    assert len(trips) >= 3 and any(len(t.confirmed_by) == 2 for t in trips)


NAMES = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "block_rate",
         "cost_per_record", "time_per_record", "sample_size", "toxicity", "judge.score")


def random_condition(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.35:
        op = rng.choice([" and ", " or "])
        return "(" + op.join(random_condition(rng, depth + 1) for _ in range(rng.randint(2, 3))) + ")"
    if depth < 3 and roll < 0.45:
        return "not " + random_condition(rng, depth + 1)
    terms = [rng.choice(NAMES) for _ in range(rng.randint(1, 2))] + [f"{rng.uniform(-0.2, 1.2):.3f}"]
    rng.shuffle(terms)
    ops = [rng.choice(["<", "<=", ">", ">=", "==", "!="]) for _ in terms[1:]]
    return terms[0] + "".join(f" {o} {t}" for o, t in zip(ops, terms[1:], strict=True))


def test_compiled_conditions_mean_what_the_evaluator_means(team_db: Path, tmp_path: Path) -> None:
    """400 random conditions (and/or/not, chains, missing values): the runs SQL selects are the
    runs :func:`ledger.expr.evaluate` says True for (a missing value means not tripped)."""
    with Ledger(team_db) as led:  # some runs report metrics by name, one lacks a value
        led.append(RunInput(experiment="hs-audit", reported_metrics={"toxicity": 0.2, "judge.score": 0.7},
                            dataset={"sample_size": 10}))
        led.append(RunInput(experiment="hs-audit", reported_metrics={"toxicity": 0.9}))
    snap = tmp_path / "s.db"
    snapshot(team_db, snap)
    with Ledger(snap) as led:
        runs = led.runs()
    rng = random.Random(11)
    nontrivial = 0
    for _ in range(400):
        text = random_condition(rng)
        node = expr.parse(text)
        expected = []
        for run in runs:
            try:
                hit = expr.evaluate(node, run_variables(run))
            except expr.MissingVariable:
                hit = False
            if hit:
                expected.append(run.id)
        sql = f"SELECT r.id FROM runs r WHERE r.kind = 'run' AND COALESCE({Q.compile_condition(node)}, 0) <> 0 ORDER BY r.id"
        assert [r["id"] for r in rows(snap, sql)] == expected, text
        nontrivial += 0 < len(expected) < len(runs)
    assert nontrivial > 50  # the conditions split the runs, not only all-or-none
