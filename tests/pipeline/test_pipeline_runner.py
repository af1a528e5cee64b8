"""End-to-end runs of the shipped configs on the generated default, offline."""

from __future__ import annotations

import math
import socket
import threading
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.errors import LedgerError
from pipeline.runner import run_experiment

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
BASELINE = ROOT / "configs" / "02_embeddings.toml"
TUNED = ROOT / "configs" / "05_tuned_filter.toml"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket connection fails the test (and no API key is set)."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type,misc]
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_shipped_configs_are_the_journey() -> None:
    assert [p.name for p in CONFIGS] == [
        "01_naive.toml", "02_embeddings.toml", "03_hybrid.toml", "04_reranker.toml",
        "05_tuned_filter.toml",
    ]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_config_appends_a_complete_run_offline(ledger: Ledger, config: Path,
                                                     no_network: None) -> None:
    [run] = run_experiment(ledger, config, hypothesis="smoke", sample=120, seed=3)
    assert run.status == "ok" and run.sample_size == 120 and run.record_count == 120
    assert run.positive_label == "wrong"
    assert run.precision is not None or run.metrics  # metrics computed by the ledger
    stages = run.timing["stage_order"]
    assert stages[-1] == "decide" and set(run.timing["stages"]) == set(stages)
    assert run.cost["billing"] == "estimated" and "prices" in run.cost
    assert run.dataset is not None and run.dataset["seed"] == 3
    assert run.dataset["name"] == "hs2022-synthetic-v2" and len(run.dataset["digest"]) == 64
    assert "retrieve.top_k" in run.params and "run.sample" not in run.params  # the set's, not a change
    assert run.evalset_id is not None and ledger.evalset(run.evalset_id).record_count == 120
    recs = ledger.records(run.id)
    assert recs.strata is not None and all(s is not None and len(s) == 2 for s in recs.strata)
    for stage in stages:
        for field in ("passed", "ok", "latency_ms", "input_tokens", "output_tokens", "cost_usd"):
            assert f"stages.{stage}.{field}" in recs.numeric, (stage, field)
    for name in ("cost_usd", "input_tokens", "output_tokens", "latency_ms", "scores.flag"):
        col = recs.numeric[name]
        assert all(not math.isnan(v) for v in col), name
    # Each record's total cost is the sum of its stages' costs.
    for i in range(0, 120, 17):
        parts = [recs.numeric[f"stages.{s}.cost_usd"][i] for s in stages]
        assert recs.numeric["cost_usd"][i] == pytest.approx(math.fsum(p for p in parts if p == p))
    # Predictions follow the flag score and the threshold.
    threshold = run.params["decide.threshold"]
    for pred, flag in zip(recs.predictions, recs.numeric["scores.flag"], strict=True):
        assert (pred == "wrong") == (flag > 0 and flag >= threshold)
    llm = [s for s in stages if s in ("filter", "enrich", "rerank")]
    if llm:
        assert run.cost_total_usd and run.cost_total_usd > 0
        assert set(run.prompts) == set(llm)
    else:
        assert run.cost_total_usd == 0


def test_same_seed_same_outcome_other_seed_differs(tmp_path: Path) -> None:
    outs = []
    for i, seed in enumerate((7, 7, 8)):
        with Ledger(tmp_path / f"l{i}.db", create=True) as led:
            [run] = run_experiment(led, TUNED, hypothesis="det", sample=150, seed=seed)
            recs = led.records(run.id)
            outs.append((recs.ids, recs.predictions, recs.numeric["scores.flag"].tolist(),
                         run.metrics, run.cost_total_usd, run.reported_metrics))
    assert outs[0] == outs[1]
    assert outs[0][0] != outs[2][0]


def test_repeats_run_the_same_records_reseeded_and_share_their_parent(ledger: Ledger) -> None:
    runs = run_experiment(ledger, BASELINE, hypothesis="rep", sample=60, seed=10, repeat=3)
    assert [r.replicate["seed"] for r in runs] == [10, 11, 12]  # type: ignore[index]
    assert [r.dataset["seed"] for r in runs] == [10, 10, 10]  # type: ignore[index]
    assert len({r.evalset_id for r in runs}) == 1
    assert len({tuple(ledger.records(r.id).ids) for r in runs}) == 1  # the same 60 records
    # repeats are one variant: they share their parent, never chain to each other
    assert runs[0].parent_id == runs[1].parent_id == runs[2].parent_id
    assert len({r.variant for r in runs}) == 1


def test_configs_on_one_sample_are_paired_and_a_new_seed_is_a_new_set(ledger: Ledger) -> None:
    [a] = run_experiment(ledger, BASELINE, hypothesis="a", sample=50)
    [b] = run_experiment(ledger, ROOT / "configs" / "03_hybrid.toml", hypothesis="b", sample=50)
    [c] = run_experiment(ledger, BASELINE, hypothesis="c", sample=50, seed=99)
    assert a.evalset_id == b.evalset_id != c.evalset_id
    assert b.parent_id == a.id and b.variant != a.variant and c.variant == a.variant
    outputs = ledger.records(b.id).outputs
    assert set(outputs) == {"code", "candidates", "rationale"}
    assert all(len(c) <= 5 for c in outputs["candidates"])
    # the set holds each declaration's input once; the runs store none of their own
    assert not ledger.records(a.id).inputs and "text" in ledger.evalset_records(a.evalset_id).inputs  # type: ignore[arg-type]


def test_a_sample_drawn_before_is_read_back_from_the_ledger_not_drawn_again(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    [a] = run_experiment(ledger, BASELINE, hypothesis="a", sample=60)
    import pipeline.data

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored sample was generated again")

    monkeypatch.setattr(pipeline.data, "generate_record", refuse)
    [b] = run_experiment(ledger, BASELINE, hypothesis="b", sample=60)
    assert b.evalset_id == a.evalset_id and b.status == "ok"
    ra, rb = ledger.records(a.id), ledger.records(b.id)
    assert rb.ids == ra.ids and rb.predictions == ra.predictions and rb.labels == ra.labels
    with pytest.raises(AssertionError, match="generated again"):  # another sample is drawn
        run_experiment(ledger, BASELINE, hypothesis="c", sample=61)


def test_a_stored_sample_edited_around_the_triggers_is_refused_not_run_on(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "l.db"
    with Ledger(db, create=True) as led:
        [a] = run_experiment(led, BASELINE, hypothesis="a", sample=40)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER evalset_columns_no_update")
    conn.execute("UPDATE evalset_columns SET data = replace(data, 'a', 'e') WHERE name = 'input.text'")
    conn.commit()
    conn.close()
    with Ledger(db) as led, pytest.raises(LedgerError, match="do not match its digest"):
        run_experiment(led, BASELINE, hypothesis="b", sample=40)
    with Ledger(db) as led:
        assert [r.status for r in led.runs()] == ["ok", "failed"] and a.id == 1


def test_a_stored_evaluation_set_can_be_named(ledger: Ledger) -> None:
    [a] = run_experiment(ledger, BASELINE, hypothesis="a", sample=40, seed=3)
    name = ledger.evalset(a.evalset_id).name  # type: ignore[arg-type]
    [b] = run_experiment(ledger, ROOT / "configs" / "03_hybrid.toml", hypothesis="b", evalset=name)
    assert b.evalset_id == a.evalset_id and ledger.records(b.id).ids == ledger.records(a.id).ids
    with pytest.raises(LedgerError, match="leave out --sample"):
        run_experiment(ledger, BASELINE, hypothesis="x", evalset=name, sample=10)


def test_explicit_parent_and_diff(ledger: Ledger) -> None:
    [a] = run_experiment(ledger, BASELINE, hypothesis="a", sample=50)
    [b] = run_experiment(ledger, ROOT / "configs" / "03_hybrid.toml", hypothesis="b", sample=50,
                         parent=a.id)
    assert b.parent_id == a.id
    assert b.params_diff["retrieve.hybrid_weight"]["to"] == 0.5


def test_progress_is_reported(ledger: Ledger) -> None:
    seen: list[tuple[int, int, str]] = []
    run_experiment(ledger, BASELINE, hypothesis="p", sample=80,
                   progress=lambda d, t, m: seen.append((d, t, m)))
    assert seen and seen[-1][0] == seen[-1][1] == 80
    assert all(0 <= d <= t for d, t, _ in seen)


def test_cancel_appends_a_cancelled_run(ledger: Ledger, tmp_path: Path) -> None:
    cfg = tmp_path / "chunked.toml"
    cfg.write_text(TUNED.read_text().replace("[run]\n", "[run]\nchunk = 20\n", 1))
    cancel = threading.Event()

    def progress(done: int, total: int, message: str) -> None:
        if done >= 40:
            cancel.set()

    runs = run_experiment(ledger, cfg, hypothesis="c", sample=200, progress=progress,
                          cancel=cancel)
    [run] = runs
    assert run.status == "cancelled" and "cancelled" in (run.error or "")
    assert 0 < run.record_count < 200
    assert ledger.verify().ok


def test_failure_appends_a_failed_run_and_raises(ledger: Ledger, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[rerank]\nenabled = true\nmodel = "no-such-model"\n')
    with pytest.raises(LedgerError, match="no price for model 'no-such-model'"):
        run_experiment(ledger, cfg, hypothesis="f", sample=20)
    [run] = ledger.runs()
    assert run.status == "failed" and "no-such-model" in (run.error or "")


def test_missing_key_is_recorded_and_clear(ledger: Ledger, no_network: None) -> None:
    with pytest.raises(LedgerError, match="ANTHROPIC_API_KEY is not set") as info:
        run_experiment(ledger, BASELINE, hypothesis="k", sample=10, provider="anthropic")
    assert "offline" in str(info.value)
    [run] = ledger.runs()
    assert run.status == "failed"


def test_config_errors_name_the_key(ledger: Ledger, tmp_path: Path) -> None:
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[retrieve]\ntopk = 5\n")
    with pytest.raises(LedgerError, match=r"typo.toml: unknown key retrieve.topk"):
        run_experiment(ledger, cfg, hypothesis="t")
    cfg.write_text('[retrieve]\ntop_k = "five"\n')
    with pytest.raises(LedgerError, match=r"retrieve.top_k must be int"):
        run_experiment(ledger, cfg, hypothesis="t")
    with pytest.raises(LedgerError, match="does not exist"):
        run_experiment(ledger, tmp_path / "nope.toml", hypothesis="t")
    assert ledger.runs() == []


def test_filtered_records_are_not_flagged(ledger: Ledger, tmp_path: Path) -> None:
    cfg = tmp_path / "strict.toml"
    cfg.write_text(TUNED.read_text().replace("threshold = 0.3", "threshold = 0.6", 1))
    [run] = run_experiment(ledger, cfg, hypothesis="strict filter", sample=200)
    recs = ledger.records(run.id)
    passed = recs.numeric["stages.filter.passed"]
    dropped = [i for i, p in enumerate(passed) if p == 0]
    assert dropped, "a strict filter drops some weak inputs"
    for i in dropped:
        assert recs.predictions[i] == "ok" and recs.numeric["scores.flag"][i] == 0
        assert math.isnan(recs.numeric["stages.retrieve.ok"][i])
        assert recs.numeric["scores.filter"][i] < 0.6


def test_the_run_records_its_embedder_and_the_index_time(ledger: Ledger, tmp_path: Path) -> None:
    [run] = run_experiment(ledger, BASELINE, hypothesis="semantic", sample=40, seed=2)
    assert run.params["retrieve.embedder"] == "wordllama" and run.params["retrieve.dims"] == 256
    assert run.params["resolved_embedder.dims"] == 256
    assert run.params["resolved_embedder.model"].startswith("wordllama-")
    retrieve = run.timing["stages"]["retrieve"]
    assert retrieve["index_build_s"] >= 0 and "index_reused" in retrieve
    hashed = tmp_path / "hashed.toml"
    hashed.write_text(BASELINE.read_text().replace('embedder = "wordllama"', 'embedder = "hashed"')
                      .replace("dims = 256", "dims = 1024"))
    [base] = run_experiment(ledger, hashed, hypothesis="lexical baseline", sample=40, seed=2)
    assert base.params["resolved_embedder.name"] == "hashed"
    assert base.params["resolved_embedder.dims"] == 1024
    assert base.params_diff["retrieve.embedder"] == {"from": "wordllama", "to": "hashed"}


@pytest.mark.parametrize("config", [BASELINE, TUNED], ids=lambda p: p.stem)
def test_outputs_name_each_records_code_candidates_and_reason(ledger: Ledger,
                                                              config: Path) -> None:
    seen: dict[int, list[object]] = {}
    [run] = run_experiment(ledger, config, hypothesis="outputs", sample=60, seed=4,
                           outputs=lambda r, rows: seen.setdefault(r.id, rows))
    rows = seen[run.id]
    recs = ledger.records(run.id)
    assert [o.id for o in rows] == recs.ids  # type: ignore[attr-defined]
    for o, pred, flag in zip(rows, recs.predictions, recs.numeric["scores.flag"], strict=True):
        assert o.flagged == (pred == "wrong") and o.flag == flag  # type: ignore[attr-defined]
        assert o.rationale  # type: ignore[attr-defined]
        if o.candidates:  # type: ignore[attr-defined]
            assert len(o.candidates) == len(o.scores) <= 10  # type: ignore[attr-defined]
            assert list(o.scores) == sorted(o.scores, reverse=True)  # type: ignore[attr-defined]
    if config == BASELINE:
        assert all(o.code == o.candidates[0] for o in rows)  # type: ignore[attr-defined]
    else:
        assert any(o.rationale.startswith("filtered out") for o in rows)  # type: ignore[attr-defined]


def test_the_run_records_the_code_version_git_reports(ledger: Ledger) -> None:
    """Found on a thread while the run works; the same commit git itself names (None outside a
    checkout), and the environment's package versions."""
    import subprocess

    [run] = run_experiment(ledger, BASELINE, hypothesis="code", sample=30)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    stored = ledger.get(run.id)
    if head.returncode == 0:
        assert stored.code is not None and stored.code["commit"] == head.stdout.strip()
    else:
        assert stored.code is None
    assert stored.environment is not None and "numpy" in stored.environment["packages"]


@pytest.mark.parametrize("config", ["02_embeddings", "03_hybrid"])
def test_the_chunk_size_changes_nothing_a_run_stores(tmp_path: Path, config: str) -> None:
    """``run.chunk`` is an execution knob (not a new variant): chunks of 37 and of the default give
    the same predictions, outputs and scores to the last bit (before, BLAS's float32 rounding,
    which depends on the block's shape, changed the 7th digit of 1-3% of the scores)."""
    source = ROOT / "configs" / f"{config}.toml"
    chunked = tmp_path / f"{config}.toml"
    chunked.write_text(source.read_text().replace("[run]\n", "[run]\nchunk = 37\n", 1))
    got = []
    for path, db in ((source, tmp_path / "a.db"), (chunked, tmp_path / "b.db")):
        with Ledger(db, create=True) as led:
            [run] = run_experiment(led, path, hypothesis="chunk", sample=400, seed=3)
            got.append((run.variant, led.records(run.id)))
    (va, a), (vb, b) = got
    assert va == vb and a.ids == b.ids and a.predictions == b.predictions and a.outputs == b.outputs
    for key in ("scores.flag", "scores.retrieval_sim"):
        assert a.numeric[key] == b.numeric[key]
