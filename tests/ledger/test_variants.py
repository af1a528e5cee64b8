"""Variants: repeats group under what was changed, are numbered by first appearance, and share
their parent; old ledgers upgrade and keep verifying."""

from __future__ import annotations

import shutil
from pathlib import Path

from ledger import Ledger
from tests.conftest import make_run

DATA = Path(__file__).resolve().parents[1] / "data"


def test_repeats_with_seeds_are_one_variant_and_share_the_parent(ledger: Ledger) -> None:
    base = ledger.append(make_run(params={"top_k": 5}, variant="base"))
    reps = [ledger.append(make_run(seed=s, params={"top_k": 10, "run": {"seed": s, "repeat_index": s}},
                                   variant="k10", replicate={"index": s, "of": 3}))
            for s in range(3)]
    assert len({r.variant for r in reps}) == 1 and reps[0].variant != base.variant
    assert [r.parent_id for r in reps] == [base.id] * 3  # never the previous repeat
    variants = ledger.variants()
    assert [(v.key, v.name, v.run_ids) for v in variants] == [
        ("v1", "base", (base.id,)), ("v2", "k10", tuple(r.id for r in reps))]
    assert variants[1].parent == 1
    assert reps[2].replicate == {"index": 2, "of": 3}


def test_excluded_params_and_code_opt_in(ledger: Ledger) -> None:
    a = ledger.append(make_run(params={"k": 1, "temperature_jitter": 0.1}, variant_exclude=["temperature_jitter"]))
    b = ledger.append(make_run(params={"k": 1, "temperature_jitter": 0.7}, variant_exclude=["temperature_jitter"]))
    c = ledger.append(make_run(params={"k": 1, "temperature_jitter": 0.7}))
    assert a.variant == b.variant != c.variant
    d = ledger.append(make_run(params={"k": 2}, code={"commit": "abc", "dirty": False}, variant_code=True))
    e = ledger.append(make_run(params={"k": 2}, code={"commit": "def", "dirty": False}, variant_code=True))
    f = ledger.append(make_run(params={"k": 2}, code={"commit": "def", "dirty": False}))
    assert d.variant != e.variant and f.variant not in (d.variant, e.variant)


def test_variants_are_per_experiment(ledger: Ledger) -> None:
    a = ledger.append(make_run("one", params={"k": 1}))
    b = ledger.append(make_run("two", params={"k": 1}))
    assert a.variant != b.variant


def test_a_format1_ledger_upgrades_verifies_and_groups_its_repeats(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(DATA / "ledger_format1.db", path)
    with Ledger(path) as ledger:
        report = ledger.verify()
        assert report.ok, report.problems
        assert report.runs_checked == 16
        variants = ledger.variants()
        # the example's 14 runs are 5 configs; the first has 2 repeats, the others 3 each
        assert [len(v.run_ids) for v in variants] == [2, 3, 3, 3, 3]
        assert [v.name for v in variants] == ["01_naive", "02_embeddings", "03_hybrid",
                                              "04_reranker", "05_tuned_filter"]
        new = ledger.append(make_run("hs-audit", params={"x": 1}))
        assert new.id == 17 and ledger.verify().ok
