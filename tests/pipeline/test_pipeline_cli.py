"""`ledger run` as users call it: CliRunner, a real process with the network cut, and Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app

from .fake_llm_server import FakeLLM

ROOT = Path(__file__).resolve().parents[2]
LEDGER = str(Path(sys.executable).with_name("ledger"))


def test_run_command_appends_and_prints(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    result = CliRunner().invoke(app, [
        "run", str(ROOT / "configs/03_hybrid.toml"), "--hypothesis", "hybrid", "--sample", "80",
        "--seed", "4", "--repeat", "2", "--db", str(db), "--json",
    ])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["ok", "ok"] and rows[0]["sample_size"] == 80
    with Ledger(db) as led:
        runs = led.runs()
        assert [r.hypothesis for r in runs] == ["hybrid", "hybrid"]
        # repeats run the same sample (seed 4, one evaluation set) with the pipeline reseeded
        assert [r.dataset["seed"] for r in runs] == [4, 4]  # type: ignore[index]
        assert [r.replicate for r in runs] == [{"index": 0, "of": 2, "seed": 4}, {"index": 1, "of": 2, "seed": 5}]
        assert runs[0].evalset_id == runs[1].evalset_id is not None
        assert led.records(runs[0].id).ids == led.records(runs[1].id).ids


def test_run_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(tmp_path / "none.toml"), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_missing_key_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(app, [
        "run", str(ROOT / "configs/04_reranker.toml"), "--provider", "openai", "--sample", "5",
        "--db", str(tmp_path / "x.db"),
    ])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY is not set" in result.stderr and "offline" in result.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare not available")
def test_baseline_with_the_network_cut(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unprivileged network namespaces are not allowed here")
    db = tmp_path / "offline.db"
    proc = subprocess.run(
        ["unshare", "-rn", LEDGER, "run", str(ROOT / "configs/02_embeddings.toml"),
         "--hypothesis", "no network", "--sample", "500", "--db", str(db)],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("run 1 [ok]")
    with Ledger(db) as led:
        run = led.get(1)
        assert run.status == "ok" and run.record_count == 500 and led.verify().ok


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_records_a_cancelled_run(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """Ctrl-C and SIGTERM stop a run the same way: a cancelled run with the finished chunks.

    Deterministic: the run calls a fake API that answers the first 40 calls and holds every later
    one, so the run cannot finish; the signal is sent once the server holds a call (two chunks of
    20 done, the third in flight), and the held calls are released only once the command has
    said that it is cancelling."""
    db = tmp_path / "c.db"
    cfg = tmp_path / "held.toml"
    with FakeLLM() as server:
        server.hold_after = 40
        cfg.write_text(
            "[run]\nchunk = 20\n[provider]\nname = \"anthropic\"\n"
            f"base_url = \"{server.url}\"\ncache = false\nconcurrency = 4\n"
            "[retrieve]\nhybrid_weight = 0.0\n[rerank]\nenabled = true\n"
        )
        env = _env() | {"ANTHROPIC_API_KEY": "sk-test"}
        proc = subprocess.Popen(
            [LEDGER, "run", str(cfg), "--hypothesis", "interrupted", "--sample", "200",
             "--db", str(db)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
        )
        deadline = time.monotonic() + 120
        while len(server.completions()) <= 40 and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never reached the held call"
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.stderr is not None
        err = b""
        while b"cancelling" not in err:
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, err.decode()
            err += chunk
        server.release.set()
        _, rest = proc.communicate(timeout=120)
        err += rest
    assert proc.returncode == code, err.decode()[-500:]
    assert b"cancelled" in err and b"Traceback" not in err
    with Ledger(db) as led:
        [run] = led.runs()
        assert run.status == "cancelled" and run.record_count == 40
        assert "after 40 of 200 records" in (run.error or "")


def test_a_run_process_ends_fast_and_loses_nothing(tmp_path: Path) -> None:
    """`ledger run` skips the interpreter's teardown: what the teardown would have done still
    happens. With an empty user cache the rerank config writes the candidate lines' token table
    from a non-daemon thread (the process waits for it: the file is whole and checks out), the
    JSON on stdout is complete and the user cache's count tables are written."""
    from pipeline import tokens
    from pipeline.cache import load_counts
    from pipeline.stages.rerank import listing_counts
    from pipeline.taxonomy import hs_taxonomy

    cache = tmp_path / "cache"
    env = _env() | {"LEDGER_CACHE_DIR": str(cache)}
    proc = subprocess.run([LEDGER, "run", str(ROOT / "configs/04_reranker.toml"), "-H", "x",
                           "--sample", "40", "--db", str(tmp_path / "l.db"), "--json"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [run] = json.loads(proc.stdout)
    assert run["id"] == 1 and run["sample_size"] == 40
    (table,) = cache.glob("listing-tokens-*.marshal")
    os.environ["LEDGER_CACHE_DIR"] = str(cache)
    try:  # read back through the cache's own checks (size, SHA-256, key): whole, not rebuilt
        counts = listing_counts(hs_taxonomy(), context=True)
        assert len(counts) == 2 * len(hs_taxonomy())
        assert load_counts("token-counts", tokens._table_fields())  # the run's lines
    finally:
        os.environ.pop("LEDGER_CACHE_DIR")
    assert table.stat().st_mtime_ns == next(cache.glob("listing-tokens-*.marshal")).stat().st_mtime_ns


def test_same_seed_same_predictions_across_processes(tmp_path: Path) -> None:
    """Each process builds its own HNSW graph (each with an empty cache): the build must not
    depend on thread timing (a parallel HNSW build gave 79 vs 81 flagged records for the same
    seed and config)."""
    cfg = tmp_path / "hnsw.toml"
    cfg.write_text((ROOT / "configs/04_reranker.toml").read_text()
                   .replace("[retrieve]\n", "[retrieve]\nsearch = \"hnsw\"\n", 1))
    predictions = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.db"
        env = _env() | {"LEDGER_CACHE_DIR": str(tmp_path / f"cache-{name}")}
        proc = subprocess.run([LEDGER, "run", str(cfg), "-H", "same", "--sample", "1500",
                               "--seed", "3", "--db", str(db), "-q"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        with Ledger(db) as led:
            run = led.get(1)
            assert run.timing["stages"]["retrieve"]["index_hnsw_cache"] == "built"
            recs = led.records(1)
            predictions.append((recs.ids, recs.predictions, list(recs.numeric["scores.flag"])))
    assert predictions[0] == predictions[1]


@pytest.mark.parametrize(("args", "message"), [
    (["/bin/ls"], "not a TOML config"),
    (["POP0"], "dataset.population is 0"),
    ([str(ROOT / "configs/04_reranker.toml"), "--batch"], "--provider anthropic"),
])
def test_bad_runs_are_one_line_and_record_nothing(tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    pop0 = tmp_path / "pop0.toml"
    pop0.write_text("[dataset]\npopulation = 0\n")
    args = [str(pop0) if a == "POP0" else a for a in args]
    db = tmp_path / "x.db"
    result = CliRunner().invoke(app, ["run", *args, "--sample", "5", "--db", str(db)])
    assert result.exit_code != 0 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    with Ledger(db, create=True) as led:
        assert led.runs() == []
