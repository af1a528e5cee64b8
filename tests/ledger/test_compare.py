"""ledger.compare: imbalance flags, verdicts, paired tests, groups, funnels, the JSON schema.

The cases of issue 10 ("what is wrong") are in test_compare_cases.py; the statistics themselves in
test_stats*.py."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

from ledger import Ledger, Records, RunInput
from ledger.compare import DECISIONS, CompareOptions, Comparison, compare_runs
from ledger.errors import RunNotFound, UsageError


def audit_records(n: int = 1000, positives: int = 50, caught: int = 40, false_pos: int = 100, *,
                  cost: float = 0.001, latency: float = 50.0, seed: int = 0, strata: bool = False,
                  stages: bool = False, shuffle: bool = False) -> Records:
    """Binary audit records over fixed ids r0..r{n-1}: the first ``positives`` are 'wrong'; the
    first ``caught`` of them are flagged; ``false_pos`` 'ok' records (from the end) are flagged."""
    rng = random.Random(seed)
    ids = [f"r{i}" for i in range(n)]
    labels = ["wrong" if i < positives else "ok" for i in range(n)]
    preds = ["wrong" if (i < caught or i >= n - false_pos) else "ok" for i in range(n)]
    numeric: dict[str, list[float]] = {
        "cost_usd": [max(0.0, rng.gauss(cost, cost / 5)) for _ in range(n)],
        "latency_ms": [max(0.0, rng.gauss(latency, latency / 5)) for _ in range(n)],
        "scores.flag": [rng.random() * 0.5 + (0.5 if p == "wrong" else 0.0) for p in preds],
    }
    st = [["84", "85", "61", "39"][i % 4] for i in range(n)] if strata else None
    if stages:
        # filter drops the last 10% of records (the true answer stays reachable only if kept);
        # rerank is where the final prediction is made.
        keep = [1.0 if i < n - n // 10 else 0.0 for i in range(n)]
        numeric["stages.filter.passed"] = keep
        numeric["stages.filter.ok"] = keep
        numeric["stages.filter.cost_usd"] = [0.0001] * n
        numeric["stages.rerank.passed"] = [1.0] * n
        numeric["stages.rerank.ok"] = [k * (1.0 if (i < caught or labels[i] == "ok") else 0.0) for i, k in enumerate(keep)]
        numeric["stages.rerank.cost_usd"] = [cost] * n
    order = list(range(n))
    if shuffle:
        rng.shuffle(order)
    return Records.from_columns(
        [ids[i] for i in order], [labels[i] for i in order], [preds[i] for i in order],
        strata=None if st is None else [st[i] for i in order],
        numeric={k: [v[i] for i in order] for k, v in numeric.items()},
    )


def add(ledger: Ledger, records: Records, experiment: str = "audit", **fields: object) -> int:
    timing = {"stage_order": ["filter", "rerank"]} if "stages.filter.passed" in records.numeric else None
    run = ledger.append(RunInput(experiment=experiment, records=records, positive_label="wrong",
                                 timing=timing, **fields))  # type: ignore[arg-type]
    return run.id




# ---- the acceptance case -------------------------------------------------------------------------


def test_rare_class_recall_drop_hidden_by_accuracy_is_flagged(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, false_pos=100))  # recall 0.80, accuracy 0.890
    b = add(ledger, audit_records(caught=25, false_pos=10))   # recall 0.50, accuracy 0.965
    c = compare_runs(ledger, [a], [b], CompareOptions(volume=100_000))
    m = c.metrics
    assert m["accuracy"].a == pytest.approx(0.890) and m["accuracy"].b == pytest.approx(0.965)
    assert m["recall"].a == pytest.approx(0.80) and m["recall"].b == pytest.approx(0.50)
    assert m["accuracy"].delta > 0 and m["weighted_f1"].delta > 0
    flag = next(f for f in c.flags if f.class_name == "wrong" and f.metric == "recall")
    assert flag.kind == "hidden_regression" and flag.is_regression
    assert flag.a == pytest.approx(0.80) and flag.b == pytest.approx(0.50)
    # the test the flag rests on: exact McNemar on the 50 'wrong' records, 15 right in A only, none in B only
    assert flag.test is not None and flag.test.name == "mcnemar_exact"
    assert flag.test.p_value == pytest.approx(ss.binomtest(0, 15, 0.5).pvalue, rel=1e-12)
    assert flag.test.p_holm is not None and flag.test.p_value <= flag.test.p_holm < 0.05
    assert flag.projected is not None and flag.projected["missed"] == pytest.approx(1500)  # (25 - 10) / 1000 * 100,000
    assert "+1,500 missed 'wrong' records" in flag.message
    assert c.verdict.decision == "REVIEW" and c.fails
    text = c.render_text()
    assert text.startswith("FLAGS: ")
    assert text.index("recall fell 0.800 -> 0.500") < text.index("VERDICT")


def test_no_regression_pair_has_no_regression_flags(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, false_pos=100))
    b = add(ledger, audit_records(caught=40, false_pos=20))  # same recall, far fewer false alarms
    c = compare_runs(ledger, [a], [b])
    assert c.regressions == [] and not c.fails
    assert c.verdict.decision == "PROMOTE"
    assert "better quality" in c.verdict.rule
    assert c.verdict.test is not None and c.verdict.test.p_value < 0.05  # the test printed beside it


def test_paired_tests_use_the_shared_records(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, false_pos=100))
    b = add(ledger, audit_records(caught=25, false_pos=10, shuffle=True))  # same ids, other order
    c = compare_runs(ledger, [a], [b])
    assert c.pairing.paired and c.pairing.shared_records == 1000 and c.pairing.design == "same records"
    mc = next(t for t in c.tests if t.name == "mcnemar_exact")
    # right in A only: 15 positives A caught and B missed; right in B only: 90 false alarms removed
    assert (mc.extra["b"], mc.extra["c"]) == (15, 90)
    assert mc.p_value == pytest.approx(ss.binomtest(15, 105, 0.5).pvalue, abs=1e-12)
    cls = next(r for r in c.per_class if r.name == "wrong")
    assert (cls.tests["recall"].extra["b"], cls.tests["recall"].extra["c"]) == (15, 0)
    assert cls.tests["recall"].p_holm >= cls.tests["recall"].p_value
    assert cls.tests["precision"].name == "permutation"  # paired precision: the exact paired test, not a z-test
    assert c.metrics["f1"].ci_method is not None and "paired" in c.metrics["f1"].ci_method


def test_point_estimates_match_scikit_learn(ledger: Ledger) -> None:
    recs = audit_records(caught=33, false_pos=61, seed=4)
    other = audit_records(caught=21, false_pos=17, seed=5)
    a, b = add(ledger, recs), add(ledger, other)
    c = compare_runs(ledger, [a], [b])
    for side, r in (("a", recs), ("b", other)):
        y, p = list(r.labels), list(r.predictions)
        got = {k: getattr(c.metrics[k], side) for k in ("precision", "recall", "f1", "macro_f1", "weighted_f1")}
        assert got["precision"] == pytest.approx(precision_score(y, p, pos_label="wrong"), abs=1e-12)
        assert got["recall"] == pytest.approx(recall_score(y, p, pos_label="wrong"), abs=1e-12)
        assert got["f1"] == pytest.approx(f1_score(y, p, pos_label="wrong"), abs=1e-12)
        assert got["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)
        assert got["weighted_f1"] == pytest.approx(f1_score(y, p, average="weighted"), abs=1e-12)


def test_results_do_not_depend_on_record_order(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, false_pos=100, strata=True))
    b1 = add(ledger, audit_records(caught=30, false_pos=40, strata=True))
    b2 = add(ledger, audit_records(caught=30, false_pos=40, strata=True, shuffle=True))
    c1 = compare_runs(ledger, [a], [b1]).to_dict()
    c2 = compare_runs(ledger, [a], [b2]).to_dict()
    for key in ("per_class", "per_stratum", "verdict", "flags"):
        assert c1[key] == c2[key]
    for name, entry in c1["metrics"].items():
        if name in ("cost_per_record_usd", "time_per_record_s"):  # float sums: order-dependent rounding
            assert entry["ci"] == pytest.approx(c2["metrics"][name]["ci"], rel=1e-9)
        else:
            assert entry == c2["metrics"][name]


def test_unpaired_runs_get_unpaired_statistics(ledger: Ledger) -> None:
    ra = audit_records(caught=40, false_pos=100)
    a = add(ledger, ra)
    rb = audit_records(caught=25, false_pos=10)
    b = add(ledger, Records.from_columns([f"x{i}" for i in range(len(rb))], rb.labels, rb.predictions, numeric=rb.numeric))
    c = compare_runs(ledger, [a], [b])
    assert not c.pairing.paired and "share no record ids" in c.pairing.reason
    assert not any(t.name in ("mcnemar_exact", "paired_t", "wilcoxon") for t in c.tests)
    assert "Newcombe" in (c.metrics["recall"].ci_method or "")
    assert "BCa bootstrap, independent samples" in (c.metrics["f1"].ci_method or "")
    cls = next(r for r in c.per_class if r.name == "wrong")
    assert cls.tests["recall"].name == "fisher_exact"
    assert cls.tests["recall"].p_value == pytest.approx(ss.fisher_exact([[40, 10], [25, 25]]).pvalue, rel=1e-9)


def test_partly_shared_samples_are_compared_as_independent_samples(ledger: Ledger) -> None:
    """Repeats drawn with different seeds share only a few record ids (both ways): independent."""
    ra = audit_records(caught=40, false_pos=100)
    a = add(ledger, ra)
    rb = audit_records(caught=25, false_pos=10, seed=3)
    ids = [f"r{i}" if i % 50 == 0 else f"x{i}" for i in range(len(rb))]  # 20 ids shared
    b = add(ledger, Records.from_columns(ids, rb.labels, rb.predictions, numeric=rb.numeric))
    c = compare_runs(ledger, [a], [b])
    assert not c.pairing.paired and c.pairing.shared_records == 20 and c.pairing.design == "independent"
    assert "independent samples" in c.pairing.reason
    assert not any(t.name == "mcnemar_exact" for t in c.tests)
    for name in ("precision", "recall", "f1", "accuracy"):
        entry = c.metrics[name]
        assert entry.ci is not None and entry.ci[0] <= entry.delta <= entry.ci[1], name


def test_per_record_numbers_paired_and_unpaired_match_scipy(ledger: Ledger) -> None:
    ra, rb = audit_records(cost=0.001, seed=1), audit_records(cost=0.0012, seed=2)
    a, b = add(ledger, ra), add(ledger, rb)
    c = compare_runs(ledger, [a], [b])
    xa, xb = np.array(ra.numeric["cost_usd"]), np.array(rb.numeric["cost_usd"])
    t = next(t for t in c.tests if t.name == "paired_t" and t.metric == "cost_usd")
    ref = ss.ttest_rel(xb, xa)
    assert t.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    assert t.p_value == pytest.approx(float(ref.pvalue), abs=1e-9)
    w = next(t for t in c.tests if t.name == "wilcoxon" and t.metric == "cost_usd")
    assert w.p_value == pytest.approx(float(ss.wilcoxon(xb - xa).pvalue), abs=1e-9)
    ci = c.metrics["cost_per_record_usd"].ci
    assert ci is not None and ci == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-9)
    assert any(t.metric == "scores.flag" for t in c.tests)
    # the same records under other ids: independent samples, Welch
    b2 = add(ledger, Records.from_columns([f"x{i}" for i in range(len(rb))], rb.labels, rb.predictions, numeric=rb.numeric))
    c2 = compare_runs(ledger, [a], [b2])
    wt = next(t for t in c2.tests if t.name == "welch" and t.metric == "cost_usd")
    ref2 = ss.ttest_ind(xb, xa, equal_var=False)
    assert wt.statistic == pytest.approx(float(ref2.statistic), rel=1e-9)
    assert wt.df == pytest.approx(float(ref2.df), rel=1e-9)
    assert wt.extra["effect_size"] > 0 and wt.extra["effect_size_name"] == "hedges_g"


def test_groups_use_welch_over_run_level_metrics_for_information(ledger: Ledger) -> None:
    a_ids = [add(ledger, audit_records(caught=c, false_pos=100, seed=i)) for i, c in enumerate((38, 40, 42))]
    b_ids = [add(ledger, audit_records(caught=c, false_pos=30, seed=9 + i)) for i, c in enumerate((39, 41, 40))]
    c = compare_runs(ledger, a_ids, b_ids)
    d = c.to_dict()
    assert d["grouped"] is True and d["runs"] == {"a": a_ids, "b": b_ids}
    assert [r["id"] for r in d["per_run"]["b"]] == b_ids
    assert "runs B: " in c.render_text()
    t = next(t for t in c.tests if t.name == "welch" and t.metric == "f1")
    fa = [ledger.get(i).f1 for i in a_ids]
    fb = [ledger.get(i).f1 for i in b_ids]
    ref = ss.ttest_ind(fb, fa, equal_var=False)
    assert t.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    assert t.p_value == pytest.approx(float(ref.pvalue), abs=1e-9)
    assert "information" in t.extra["over"]
    # the same 1,000 records under every run: one cluster per record, never 3,000 records
    assert c.pairing.paired and c.pairing.shared_records == 1000
    assert c.pairing.runs_a == "repeats" and c.pairing.runs_b == "repeats"
    assert c.verdict.test is not None and "clusters" in c.verdict.test.method


def test_cost_cut_with_quality_regression_is_not_a_win(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=45, false_pos=20, cost=0.002, latency=80))
    b = add(ledger, audit_records(caught=20, false_pos=60, cost=0.0005, latency=20))
    c = compare_runs(ledger, [a], [b])
    kinds = {f.kind for f in c.regressions}
    assert "cheaper_but_worse" in kinds and "faster_but_worse" in kinds
    assert c.verdict.decision == "ROLLBACK"
    assert "cost cut with a quality regression is not a win" in c.verdict.rule


def test_cheaper_with_quality_within_bounds_is_promoted(ledger: Ledger) -> None:
    a = add(ledger, audit_records(n=4000, positives=400, caught=300, false_pos=50, cost=0.003, seed=1))
    b = add(ledger, audit_records(n=4000, positives=400, caught=300, false_pos=50, cost=0.001, seed=2))
    c = compare_runs(ledger, [a], [b])
    assert c.verdict.decision == "PROMOTE"
    assert "lower cost" in c.verdict.rule and "Holm" in c.verdict.rule  # the cost saving is tested
    # the two runs predict alike on every record: no interval, but a bound on how far F1 can move
    assert c.metrics["f1"].ci is None and "differ on 0 of 4,000 records" in c.verdict.rule
    share = 1 - 0.025 ** (1 / 4000)  # Clopper-Pearson upper bound for 0 of 4,000 (closed form)
    assert f"{100 * share:.2g}%" in c.verdict.rule


def test_cheaper_with_a_noninferior_interval_is_promoted(ledger: Ledger) -> None:
    a = add(ledger, audit_records(n=4000, positives=400, caught=300, false_pos=50, cost=0.003, seed=1))
    rb = audit_records(n=4000, positives=400, caught=300, false_pos=50, cost=0.001, seed=2)
    preds = list(rb.predictions)
    for i in range(300, 315):  # 15 positives B misses, 15 A missed that B catches: same F1
        preds[i], preds[i - 300] = "wrong", "ok"
    b = add(ledger, Records.from_columns(rb.ids, rb.labels, preds, numeric=rb.numeric))
    c = compare_runs(ledger, [a], [b])
    assert c.metrics["f1"].ci is not None and c.metrics["f1"].ci[0] > -0.02
    assert c.verdict.decision == "PROMOTE" and "interval's lower bound" in c.verdict.rule


def test_costlier_better_run_goes_to_review(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=30, false_pos=100, cost=0.001))
    b = add(ledger, audit_records(caught=40, false_pos=20, cost=0.01))
    c = compare_runs(ledger, [a], [b], CompareOptions(max_cost_delta=0.001))
    assert c.verdict.decision == "REVIEW"
    assert "higher cost" in c.verdict.rule


def test_stratum_regression_is_flagged(ledger: Ledger) -> None:
    a = add(ledger, audit_records(n=2000, positives=200, caught=180, false_pos=50, strata=True))
    rb = audit_records(n=2000, positives=200, caught=180, false_pos=50, strata=True)
    preds = list(rb.predictions)
    for i in range(200):  # stratum '84' (i % 4 == 0) loses every caught positive
        if i % 4 == 0 and preds[i] == "wrong":
            preds[i] = "ok"
    b = add(ledger, Records.from_columns(rb.ids, rb.labels, preds, strata=rb.strata, numeric=rb.numeric))
    c = compare_runs(ledger, [a], [b], CompareOptions(volume=10_000))
    flag = next(f for f in c.flags if f.stratum == "84" and f.metric == "recall")
    assert flag.is_regression and flag.b == 0.0
    assert flag.test is not None and flag.test.p_value == pytest.approx(ss.binomtest(0, 45).pvalue, rel=1e-12)
    assert flag.projected is not None and flag.projected["missed"] == pytest.approx(45 / 2000 * 10_000)
    row = next(r for r in c.per_stratum if r.name == "84")
    assert row.a.value("recall") == pytest.approx(45 / 50) and row.b.value("recall") == 0.0


def test_funnel_side_by_side(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, stages=True))
    b = add(ledger, audit_records(caught=25, stages=True))
    c = compare_runs(ledger, [a], [b])
    assert c.funnel is not None and c.funnel.stages == ("filter", "rerank")
    fa, fb = c.funnel.a, c.funnel.b
    assert fa["filter"].entered == 1000 and fa["filter"].passed == 900
    assert fa["filter"].positives_lost == 0  # the filter drops only 'ok' records here
    assert fa["rerank"].positives_lost == 10 and fb["rerank"].positives_lost == 25
    assert fa["filter"].cost_usd == pytest.approx(0.1)
    text = c.render_text()
    funnel = text[text.index("funnel (A/B):"):].split("\n\n")[0]
    assert "time/rec" in funnel and not re.search(r"\de[-+]\d", funnel)  # times as people write them, never 7.73e-02
    assert c.to_dict()["funnel"]["a"]["filter"]["entered"] == 1000


def test_json_schema_is_complete_and_strict(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40, strata=True, stages=True))
    b = add(ledger, audit_records(caught=25, false_pos=10, strata=True, stages=True))
    d = compare_runs(ledger, [a], [b], CompareOptions(volume=1000)).to_dict()
    json.dumps(d, allow_nan=False)  # no NaN anywhere
    for key in ("runs", "metrics", "tests", "flags", "verdict", "per_class", "per_stratum", "funnel", "cost", "time",
                "diff", "paired", "options", "notes", "per_run", "power", "stratified", "grouped"):
        assert key in d
    assert d["runs"] == {"a": [a], "b": [b]}
    assert d["verdict"]["decision"] in DECISIONS and d["verdict"]["rule"]
    assert d["verdict"]["test"]["name"] == "permutation" and d["verdict"]["test"]["reference"]
    for name in ("precision", "recall", "f1", "accuracy"):
        entry = d["metrics"][name]
        assert {"a", "b", "delta", "ci", "ci_method", "a_paired", "b_paired", "delta_paired"} <= set(entry)
        assert entry["ci"][0] <= entry["ci"][1]
    for t in d["tests"]:
        assert {"name", "metric", "statistic", "df", "p_value", "method", "reference"} <= set(t)
    for f in d["flags"]:
        assert {"kind", "severity", "message", "metric"} <= set(f)
        assert ("class" in f) or ("stratum" in f) or f["kind"] in ("quality_regression", "below_majority_baseline",
                                                                       "cheaper_but_worse", "faster_but_worse",
                                                                       "stratified_regression", "mix_shift")
    for row in d["per_class"]:
        assert {"class", "a", "b", "delta", "tests"} <= set(row)
        assert {"precision", "recall", "f1", "support", "predicted", "tp", "fp", "fn"} <= set(row["a"])
    assert {"paired", "shared_records", "reason"} <= set(d["paired"])


def test_bootstrap_is_reproducible_and_seeded(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40))
    b = add(ledger, audit_records(caught=30, false_pos=50))
    one = compare_runs(ledger, [a], [b], CompareOptions(seed=5)).metrics["f1"].ci
    two = compare_runs(ledger, [a], [b], CompareOptions(seed=5)).metrics["f1"].ci
    other = compare_runs(ledger, [a], [b], CompareOptions(seed=6)).metrics["f1"].ci
    assert one == two and one != other


def test_diff_shows_what_changed(ledger: Ledger) -> None:
    a = add(ledger, audit_records(), params={"retrieve": {"top_k": 5}}, prompts={"rerank": "v1"}, hypothesis="base")
    b = add(ledger, audit_records(), params={"retrieve": {"top_k": 10}}, prompts={"rerank": "v2"}, hypothesis="more candidates")
    c = compare_runs(ledger, [a], [b])
    assert c.diff["params"]["retrieve.top_k"] == {"from": 5, "to": 10}
    assert "rerank" in c.diff["prompts"]
    assert c.hypothesis == ("base", "more candidates")
    assert "retrieve.top_k: 5 -> 10" in c.render_text()


def test_bad_arguments(ledger: Ledger) -> None:
    a = add(ledger, audit_records())
    with pytest.raises(RunNotFound):
        compare_runs(ledger, [a], [99])
    with pytest.raises(UsageError, match="empty"):
        compare_runs(ledger, [a], [])
    with pytest.raises(UsageError, match="both groups"):
        compare_runs(ledger, [a], [a])
    d = ledger.append(RunInput(kind="decision", refs=[a], body={"why": "x"}))
    with pytest.raises(UsageError, match="not a run"):
        compare_runs(ledger, [a], [d.id])
    with pytest.raises(UsageError, match="alpha"):
        compare_runs(ledger, [a], [a + 0], CompareOptions(alpha=2))
    with pytest.raises(UsageError, match="n-boot"):
        compare_runs(ledger, [a], [d.id], CompareOptions(n_boot=50))


def test_runs_without_records_compare_on_stored_metrics(ledger: Ledger) -> None:
    a = ledger.append(RunInput(experiment="x", dataset={"sample_size": 100}, cost={"total_usd": 1.0})).id
    b = ledger.append(RunInput(experiment="x", dataset={"sample_size": 100}, cost={"total_usd": 0.5})).id
    c = compare_runs(ledger, [a], [b])
    assert c.verdict.decision == "NO_DECISION"
    assert c.metrics["cost_per_record_usd"].delta == pytest.approx(-0.005)
    assert c.per_class == () and c.funnel is None
    assert c.render_text().startswith("FLAGS")


def test_small_classes_are_not_flagged_unless_asked(ledger: Ledger) -> None:
    a = add(ledger, audit_records(positives=6, caught=6, false_pos=0))
    b = add(ledger, audit_records(positives=6, caught=2, false_pos=0))  # recall 1.0 -> 0.33 on 6 records
    assert not [f for f in compare_runs(ledger, [a], [b]).flags if f.class_name == "wrong"]
    flagged = compare_runs(ledger, [a], [b], CompareOptions(min_support=1)).flags
    assert any(f.class_name == "wrong" and f.metric == "recall" for f in flagged)


def test_positive_label_mismatch_is_noted(ledger: Ledger) -> None:
    recs = audit_records()
    a = ledger.append(RunInput(experiment="x", records=recs, positive_label="wrong")).id
    b = ledger.append(RunInput(experiment="x", records=recs, positive_label="ok")).id
    c = compare_runs(ledger, [a], [b])
    assert c.positive_label == "wrong"
    assert any("different positive labels" in n for n in c.notes)


def test_multiclass_without_positive_label_uses_macro_averages(ledger: Ledger) -> None:
    rng = random.Random(3)
    classes = [f"c{k}" for k in range(12)]
    ids = [f"r{i}" for i in range(3000)]
    labels = [rng.choice(classes) for _ in ids]
    pa = [lab if rng.random() < 0.7 else rng.choice(classes) for lab in labels]
    pb = [lab if rng.random() < 0.8 else rng.choice(classes) for lab in labels]
    a = ledger.append(RunInput(experiment="m", records=Records.from_columns(ids, labels, pa))).id
    b = ledger.append(RunInput(experiment="m", records=Records.from_columns(ids, labels, pb))).id
    c = compare_runs(ledger, [a], [b])
    assert c.positive_label is None
    assert c.metrics["f1"].a == pytest.approx(f1_score(labels, pa, average="macro"), abs=1e-12)
    assert c.metrics["f1"].ci is not None and c.metrics["f1"].ci[0] > 0  # +0.1 accuracy on 3,000 paired records
    assert len(c.per_class) == 12
    assert c.verdict.decision == "PROMOTE" and "macro F1" in c.verdict.rule
    assert c.verdict.test is not None and c.verdict.test.extra["exact"] is False  # Monte Carlo for macro F1


def test_funnel_stage_orders_are_merged(ledger: Ledger) -> None:
    ra = audit_records(stages=True)
    numeric = {k: v for k, v in ra.numeric.items() if not k.startswith("stages.rerank")}
    a = ledger.append(RunInput(experiment="f", positive_label="wrong", timing={"stage_order": ["filter"]},
                               records=Records.from_columns(ra.ids, ra.labels, ra.predictions, numeric=numeric))).id
    rb = audit_records(stages=True)
    numeric_b = {**rb.numeric, "stages.enrich.passed": [1.0] * len(rb)}
    b = ledger.append(RunInput(experiment="f", positive_label="wrong", timing={"stage_order": ["filter", "enrich", "rerank"]},
                               records=Records.from_columns(rb.ids, rb.labels, rb.predictions, numeric=numeric_b))).id
    c = compare_runs(ledger, [a], [b])
    assert c.funnel is not None and c.funnel.stages == ("filter", "enrich", "rerank")


def test_a_comparison_is_typed_and_plain_only_at_the_edge(ledger: Ledger) -> None:
    a = add(ledger, audit_records(caught=40))
    b = add(ledger, audit_records(caught=25, false_pos=10))
    c = compare_runs(ledger, [a], [b])
    assert isinstance(c, Comparison)
    with pytest.raises(AttributeError):
        c.verdict.decision = "PROMOTE"  # type: ignore[misc]
    flag = c.flags[0]
    assert flag.kind and flag.message and flag.severity in ("regression", "warning")
    assert flag.test is not None and flag.test.method and flag.test.reference


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 1000),
    classes=st.sampled_from([["ok"], ["ok", "wrong"], ["a", "b", "c"]]),
    share_ids=st.booleans(),
    with_strata=st.booleans(),
    repeats=st.sampled_from([1, 2]),
)
def test_any_pair_of_runs_compares_cleanly(tmp_path_factory: pytest.TempPathFactory, n: int, seed: int,
                                           classes: list[str], share_ids: bool, with_strata: bool, repeats: int) -> None:
    """Edge cases (one record, one class, no positives, disjoint ids, repeats) never crash, the JSON
    is strict, every CI is ordered and contains its estimate, and every p-value is a probability."""
    rng = random.Random(seed)

    def recs(prefix: str) -> Records:
        labels = [rng.choice(classes) for _ in range(n)]
        return Records.from_columns(
            [f"{prefix}{i}" for i in range(n)], labels, [rng.choice(classes) for _ in range(n)],
            strata=[rng.choice("xy") for _ in range(n)] if with_strata else None,
            numeric={"cost_usd": [rng.random() / 100 for _ in range(n)], "scores.flag": [rng.random() for _ in range(n)]},
        )

    with Ledger(tmp_path_factory.mktemp("c") / "l.db", create=True) as ledger:
        positive = "wrong" if "wrong" in classes else None
        base = recs("r")
        a = [ledger.append(RunInput(experiment="h", records=base if k == 0 else recs("r"), positive_label=positive)).id
             for k in range(repeats)]
        b = [ledger.append(RunInput(experiment="h", records=recs("r" if share_ids else "s"), positive_label=positive)).id
             for _ in range(repeats)]
        c = compare_runs(ledger, a, b, CompareOptions(n_boot=200, volume=1000))
    d = c.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["verdict"]["decision"] in DECISIONS
    assert c.pairing.paired is share_ids
    for name, entry in c.metrics.items():
        if entry.ci is not None:
            assert entry.ci[0] <= entry.ci[1]
            if name not in ("cost_per_record_usd", "time_per_record_s"):
                assert entry.ci[0] - 1e-9 <= entry.delta <= entry.ci[1] + 1e-9 or "BCa" in (entry.ci_method or "")
    for t in d["tests"]:
        assert t["p_value"] is None or 0.0 <= t["p_value"] <= 1.0
    for row in d["per_class"] + d["per_stratum"]:
        for t in row["tests"].values():
            assert 0.0 <= t["p_value"] <= 1.0
            if "p_holm" in t:
                assert t["p_value"] <= t["p_holm"] <= 1.0
    assert c.verdict.decision != "PROMOTE" or (c.verdict.test is not None and c.verdict.test.p_value < 0.05)
    assert c.render_text().startswith("FLAGS")


def test_independent_runs_with_records_outside_every_stratum_test_each_stratum_on_its_own_records(ledger: Ledger) -> None:
    """Two runs sharing only part of their records (independent samples), some records without a
    stratum: each stratum's accuracy test is Fisher's on that stratum's records alone (hand counts)."""
    def run(ids: list[str], right: set[str], strata: dict[str, str | None]) -> int:
        preds = ["ok" if x in right else "wrong" for x in ids]
        return add(ledger, Records.from_columns(ids, ["ok"] * len(ids), preds, strata=[strata[x] for x in ids]))

    ids_a = [f"a{i}" for i in range(40)] + [f"s{i}" for i in range(20)]
    ids_b = [f"s{i}" for i in range(20)] + [f"b{i}" for i in range(50)]
    stratum = {x: (None if i % 5 == 0 else ("84" if i % 2 else "85")) for i, x in enumerate(dict.fromkeys(ids_a + ids_b))}
    right_a = {x for i, x in enumerate(ids_a) if i % 3}
    right_b = {x for i, x in enumerate(ids_b) if i % 4}
    c = compare_runs(ledger, [run(ids_a, right_a, stratum)], [run(ids_b, right_b, stratum)])
    assert not c.pairing.paired
    for name in ("84", "85"):
        row = next(r for r in c.per_stratum if r.name == name)
        in_a = [x for x in ids_a if stratum[x] == name]
        in_b = [x for x in ids_b if stratum[x] == name]
        ra, rb = sum(x in right_a for x in in_a), sum(x in right_b for x in in_b)
        expected = ss.fisher_exact([[ra, len(in_a) - ra], [rb, len(in_b) - rb]]).pvalue
        assert row.tests["accuracy"].p_value == pytest.approx(expected, rel=1e-9)
        assert row.tests["accuracy"].estimate == pytest.approx(rb / len(in_b) - ra / len(in_a))
