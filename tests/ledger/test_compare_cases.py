"""The cases of issue 10 ("what is wrong"), with hand-built runs, each against an independent oracle
(scipy, statsmodels, a hand-derived count)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import scipy.stats as ss
from statsmodels.stats.contingency_tables import StratifiedTable

from ledger import Ledger, Records, RunInput
from ledger.compare import CompareOptions, compare_runs

from .test_compare import add, audit_records


def run(ledger: Ledger, ids: list[str], labels: list[str], preds: list[str], **kw: object) -> int:
    return ledger.append(RunInput(experiment="x", positive_label="wrong",
                                  records=Records.from_columns(ids, labels, preds, **kw))).id  # type: ignore[arg-type]


# ---- 1. tiny samples do not decide ---------------------------------------------------------------


@pytest.mark.parametrize("swap", [False, True])
def test_one_record_decides_nothing(ledger: Ledger, swap: bool) -> None:
    right, wrong = run(ledger, ["r0"], ["wrong"], ["wrong"]), run(ledger, ["r0"], ["wrong"], ["ok"])
    a, b = (wrong, right) if swap else (right, wrong)
    c = compare_runs(ledger, [a], [b])
    assert c.verdict.decision == "NO_DECISION" and not c.fails
    assert c.verdict.test is not None and c.verdict.test.p_value == 1.0  # one swap: both arrangements as extreme
    assert "too little information" in c.verdict.rule
    assert all(m.ci is None for name, m in c.metrics.items() if name not in ("cost_per_record_usd", "time_per_record_s"))


@pytest.mark.parametrize(("discordant", "decision"), [(3, "NO_DECISION"), (4, "NO_DECISION"), (5, "NO_DECISION"),
                                                       (6, "PROMOTE")])
def test_discordant_records_all_one_way_decide_exactly_when_the_exact_test_does(
        ledger: Ledger, discordant: int, decision: str) -> None:
    """c positives caught by B only, nothing else differs: the exact test's p is the exact
    binomial (McNemar) p, 2 / 2^c, and the verdict follows it (c >= 6 at alpha 0.05)."""
    n = 2 * discordant + 4
    ids = [f"r{i}" for i in range(n)]
    labels = ["wrong"] * (discordant + 2) + ["ok"] * (discordant + 2)
    pa = ["wrong"] * 2 + ["ok"] * discordant + ["ok"] * (discordant + 2)
    pb = ["wrong"] * (discordant + 2) + ["ok"] * (discordant + 2)
    c = compare_runs(ledger, [run(ledger, ids, labels, pa)], [run(ledger, ids, labels, pb)])
    expected = ss.binomtest(discordant, discordant, 0.5).pvalue
    assert c.verdict.test is not None and c.verdict.test.p_value == pytest.approx(expected, rel=1e-12)
    assert c.verdict.decision == decision
    assert (c.verdict.test.p_value < 0.05) == (decision == "PROMOTE")  # the verdict is the test printed beside it


def test_eight_records_three_discordant_is_no_decision(ledger: Ledger) -> None:
    ids = [f"r{i}" for i in range(8)]
    labels = ["wrong"] * 4 + ["ok"] * 4
    a = run(ledger, ids, labels, ["ok", "ok", "ok", "wrong"] + ["ok"] * 4)
    b = run(ledger, ids, labels, ["wrong"] * 4 + ["ok"] * 4)
    c = compare_runs(ledger, [a], [b])
    assert c.verdict.decision == "NO_DECISION"
    assert c.verdict.test is not None and c.verdict.test.p_value == pytest.approx(0.25)  # = exact McNemar, 3 vs 0
    mc = next(t for t in c.tests if t.name == "mcnemar_exact")
    assert mc.p_value == pytest.approx(ss.binomtest(0, 3).pvalue)
    assert c.metrics["f1"].ci is None and c.metrics["f1"].ci_withheld


# ---- 3. the majority baseline gates nothing -------------------------------------------------------


def test_crossing_the_majority_baseline_by_two_records_is_information_only(ledger: Ledger) -> None:
    n = 100
    ids = [f"r{i}" for i in range(n)]
    labels = ["wrong"] * 5 + ["ok"] * 95
    pa = ["wrong"] * 5 + ["wrong"] * 4 + ["ok"] * 91  # accuracy 0.96 > 0.95
    pb = ["wrong"] * 5 + ["wrong"] * 6 + ["ok"] * 89  # accuracy 0.94 <= 0.95: two records differ
    c = compare_runs(ledger, [run(ledger, ids, labels, pa)], [run(ledger, ids, labels, pb)])
    flag = next(f for f in c.flags if f.kind == "below_majority_baseline")
    assert flag.severity == "warning" and "information only" in flag.message
    assert flag.baseline == pytest.approx(0.95)
    mc = next(t for t in c.tests if t.name == "mcnemar_exact")
    assert mc.p_value == pytest.approx(ss.binomtest(0, 2).pvalue)  # 0.5
    assert c.verdict.decision == "NO_DECISION" and not c.fails


# ---- 4. Simpson's paradox: stratified tests and the mix ---------------------------------------------


def _side(prefix: str, spec: dict[str, tuple[int, int]], negatives: int) -> tuple[list[str], ...]:
    ids, labels, preds, strata = [], [], [], []
    for stratum, (positives, caught) in spec.items():
        for k in range(positives + negatives):
            ids.append(f"{prefix}{len(ids)}")
            positive = k < positives
            labels.append("wrong" if positive else "ok")
            preds.append("wrong" if (positive and k < caught) or (not positive and k - positives < negatives // 50) else "ok")
            strata.append(stratum)
    return ids, labels, preds, strata


def test_simpsons_paradox_is_not_promoted(ledger: Ledger) -> None:
    """Recall falls in both strata (easy 0.95 -> 0.85, hard 0.55 -> 0.40) but rises in aggregate
    (0.63 -> 0.76) because B's sample holds more easy records: independent samples."""
    ia = _side("a", {"easy": (100, 95), "hard": (400, 220)}, 600)
    ib = _side("b", {"easy": (400, 340), "hard": (100, 40)}, 600)
    a = run(ledger, *ia[:3], strata=ia[3])
    b = run(ledger, *ib[:3], strata=ib[3])
    c = compare_runs(ledger, [a], [b])
    assert c.metrics["recall"].b > c.metrics["recall"].a  # the aggregate rose
    assert c.verdict.decision != "PROMOTE" and c.verdict.decision == "REVIEW"
    cmh = next(t for t in c.stratified if t.name == "cmh" and t.metric == "recall")
    # statsmodels on the same 2 x 2 x 2 tables (rows A, B; columns caught, missed)
    tables = np.array([[[95, 5], [340, 60]], [[220, 180], [40, 60]]], dtype=float).transpose(1, 2, 0)
    ref = StratifiedTable(tables).test_null_odds(correction=False)
    assert cmh.statistic == pytest.approx(ref.statistic, rel=1e-9)
    # exact conditional p: the convolution of the strata's hypergeometric laws (scipy's pmf)
    easy = ss.hypergeom.pmf(np.arange(0, 401), 500, 435, 400)
    hard = ss.hypergeom.pmf(np.arange(0, 101), 500, 260, 100)
    dist = np.convolve(easy, hard)
    exact = dist[dist <= dist[340 + 40] * (1 + 1e-7)].sum()
    assert cmh.extra["cmh_method"] == "exact" and cmh.p_value == pytest.approx(exact, rel=1e-6)
    assert cmh.p_value < 0.01 and ref.pvalue < 0.01
    assert cmh.estimate is not None and cmh.estimate < 0  # B worse within strata (Mantel-Haenszel)
    flag = next(f for f in c.flags if f.kind == "stratified_regression" and f.metric == "recall")
    assert flag.is_regression and "within strata" in flag.message
    assert any(f.kind == "mix_shift" and f.metric == "stratum_mix" for f in c.flags)
    mix = next(t for t in c.stratified if t.metric == "stratum_mix")
    counts = np.array([[700, 1000], [1000, 700]])  # records per stratum: A, B
    assert mix.p_value == pytest.approx(ss.chi2_contingency(counts, correction=False).pvalue, rel=1e-9)


def test_exact_cmh_at_small_counts_matches_enumeration(ledger: Ledger) -> None:
    ia = _side("a", {"easy": (6, 6), "hard": (12, 7)}, 50)
    ib = _side("b", {"easy": (12, 10), "hard": (6, 2)}, 50)
    c = compare_runs(ledger, [run(ledger, *ia[:3], strata=ia[3])], [run(ledger, *ib[:3], strata=ib[3])])
    cmh = next(t for t in c.stratified if t.name == "cmh" and t.metric == "recall")
    assert cmh.extra["cmh_method"] == "exact"
    # enumerate every pair of per-stratum counts of B's caught records given the margins
    strata = [(6, 6, 10, 12), (7, 12, 2, 6)]  # caught A, n A, caught B, n B
    dist: dict[int, float] = {}
    for xe in range(0, 13):
        for xh in range(0, 7):
            pe = ss.hypergeom.pmf(xe, 18, 16, 12)
            ph = ss.hypergeom.pmf(xh, 18, 9, 6)
            dist[xe + xh] = dist.get(xe + xh, 0.0) + pe * ph
    observed = sum(s[2] for s in strata)
    expected = sum(p for p in dist.values() if p <= dist[observed] * (1 + 1e-7))
    assert cmh.p_value == pytest.approx(expected, rel=1e-9)


# ---- 5. repeats are clusters, never more records ---------------------------------------------------


def test_identical_copies_add_no_evidence(ledger: Ledger) -> None:
    recs_a = audit_records(n=100, positives=20, caught=14, false_pos=5)
    recs_b = audit_records(n=100, positives=20, caught=9, false_pos=4)
    a = [add(ledger, recs_a) for _ in range(3)]
    b = [add(ledger, recs_b) for _ in range(3)]
    one = compare_runs(ledger, a[:1], b[:1])
    three = compare_runs(ledger, a, b)
    assert one.verdict.decision == three.verdict.decision == "NO_DECISION"
    assert not three.fails
    d1, d3 = one.to_dict(), three.to_dict()
    for key in ("metrics", "per_class", "flags"):
        assert d1[key] == d3[key]
    assert d1["verdict"]["test"]["p_value"] == d3["verdict"]["test"]["p_value"]
    assert three.pairing.shared_records == 100  # 100 records, not 300
    run_level = next(t for t in three.tests if t.name == "welch" and t.metric == "f1")
    assert run_level.p_value is None and run_level.statistic is None  # zero variance: said, not NaN
    assert "no run-to-run variation" in run_level.extra["note"]
    assert any("one run's evidence" in n for n in three.notes)


def test_repeats_average_per_record_never_multiply_the_sample(ledger: Ledger) -> None:
    """Three noisy repeats a side over the same 400 records: each record's outcome is the mean of
    its repeats; the point estimate is F1 over those means (hand-computed here)."""
    rng = random.Random(2)
    n = 400
    ids = [f"r{i}" for i in range(n)]
    labels = ["wrong" if i < 60 else "ok" for i in range(n)]

    def noisy(catch: float) -> list[str]:
        return [("wrong" if rng.random() < catch else "ok") if lab == "wrong" else
                ("wrong" if rng.random() < 0.03 else "ok") for lab in labels]

    runs_a = [noisy(0.6) for _ in range(3)]
    runs_b = [noisy(0.8) for _ in range(3)]
    a = [run(ledger, ids, labels, p) for p in runs_a]
    b = [run(ledger, ids, labels, p) for p in runs_b]
    c = compare_runs(ledger, a, b)
    assert c.pairing.paired and c.pairing.shared_records == n and c.pairing.runs_a == "repeats"

    def f1_of_means(preds: list[list[str]]) -> float:
        tp = sum(sum(p[i] == "wrong" for p in preds) / 3 for i in range(n) if labels[i] == "wrong")
        predicted = sum(sum(p[i] == "wrong" for p in preds) / 3 for i in range(n))
        return 2 * tp / (predicted + 60)

    assert c.metrics["f1"].a == pytest.approx(f1_of_means(runs_a), abs=1e-12)
    assert c.metrics["f1"].b == pytest.approx(f1_of_means(runs_b), abs=1e-12)
    assert c.verdict.test is not None and c.verdict.test.extra["exact"] is False
    assert c.verdict.decision == "PROMOTE"


# ---- 6. paired data gets paired tests; small counts get exact ones ----------------------------------


def test_paired_latency_shift_is_found_by_the_paired_tests(ledger: Ledger) -> None:
    rng = np.random.default_rng(0)
    lat = rng.gamma(3.0, 100.0, 500)
    recs = audit_records(n=500, positives=25, caught=20, false_pos=10)
    a = add(ledger, Records.from_columns(recs.ids, recs.labels, recs.predictions, numeric={"latency_ms": lat.tolist()}))
    b = add(ledger, Records.from_columns(recs.ids, recs.labels, recs.predictions,
                                         numeric={"latency_ms": (lat + 1.0).tolist()}))
    c = compare_runs(ledger, [a], [b])
    pt = next(t for t in c.tests if t.name == "paired_t" and t.metric == "latency_ms")
    ref = ss.ttest_rel(lat + 1.0, lat)
    assert pt.p_value == pytest.approx(float(ref.pvalue), abs=1e-300) and pt.p_value < 1e-300
    w = next(t for t in c.tests if t.name == "wilcoxon" and t.metric == "latency_ms")
    assert w.p_value == pytest.approx(float(ss.wilcoxon(lat + 1.0 - lat).pvalue), rel=1e-9)
    assert ss.ttest_ind(lat + 1.0, lat, equal_var=False).pvalue > 0.8  # what an unpaired test would have said


def test_small_counts_get_fishers_exact_test(ledger: Ledger) -> None:
    """Precision 80/100 in A, 0/2 in B (independent samples): z-test p = .0065, Fisher p = .045."""
    na, nb = 400, 400
    la = ["wrong"] * 80 + ["ok"] * (na - 80)
    pa = ["wrong"] * 100 + ["ok"] * (na - 100)  # 80 right + 20 wrong predictions of 'wrong'
    lb = ["ok"] * nb
    pb = ["wrong"] * 2 + ["ok"] * (nb - 2)  # 0 right of 2
    c = compare_runs(ledger, [run(ledger, [f"a{i}" for i in range(na)], la, pa)],
                     [run(ledger, [f"b{i}" for i in range(nb)], lb, pb)], CompareOptions(min_support=1))
    row = next(r for r in c.per_class if r.name == "wrong")
    test = row.tests["precision"]
    assert test.name == "fisher_exact"
    assert test.p_value == pytest.approx(ss.fisher_exact([[80, 20], [0, 2]]).pvalue, rel=1e-9)
    assert round(test.p_value, 3) == 0.045


def test_min_support_applies_to_both_sides(ledger: Ledger) -> None:
    """B predicts 'wrong' twice (0 right): precision 0.80 -> 0 is no flag at --min-support 10,
    because B's side has 2 predictions; A's 100 do not make it testable."""
    na = 400
    la = ["wrong"] * 80 + ["ok"] * (na - 80)
    pa = ["wrong"] * 100 + ["ok"] * (na - 100)
    lb = ["wrong"] * 80 + ["ok"] * (na - 80)
    pb = ["ok"] * 80 + ["wrong"] * 2 + ["ok"] * (na - 82)
    c = compare_runs(ledger, [run(ledger, [f"a{i}" for i in range(na)], la, pa)],
                     [run(ledger, [f"b{i}" for i in range(na)], lb, pb)])
    row = next(r for r in c.per_class if r.name == "wrong")
    assert row.tests["precision"].family is None  # shown, but not in the flag family
    assert not any(f.class_name == "wrong" and f.metric == "precision" for f in c.flags)
    assert row.tests["recall"].family == "flags"  # 80 records of the class on both sides: testable
    assert any(f.class_name == "wrong" and f.metric == "recall" and f.is_regression for f in c.flags)


def test_paired_runs_whose_labels_differ_still_count_every_stratum(ledger: Ledger) -> None:
    """Same record ids, some relabelled between the runs: the tables come from cells that keep
    strata apart, and each stratum's counts are the hand counts of its records."""
    rng = random.Random(3)
    n = 240
    ids = [f"r{i}" for i in range(n)]
    strata = [f"s{i % 3}" for i in range(n)]
    la = [rng.choice(["wrong", "ok", "ok", "ok"]) for _ in range(n)]
    lb = [("ok" if x == "wrong" else "wrong") if i % 20 == 0 else x for i, x in enumerate(la)]  # 12 relabelled
    pa = [x if rng.random() < 0.85 else rng.choice(["wrong", "ok"]) for x in la]
    pb = [x if rng.random() < 0.8 else rng.choice(["wrong", "ok"]) for x in lb]
    a, b = run(ledger, ids, la, pa, strata=strata), run(ledger, ids, lb, pb, strata=strata)
    c = compare_runs(ledger, [a], [b])
    assert c.pairing.paired and c.pairing.label_mismatch == 12
    assert [r.name for r in c.per_stratum] == ["s0", "s1", "s2"]
    for row in c.per_stratum:
        mine = [i for i in range(n) if strata[i] == row.name]
        for side, labels, preds in ((row.a, la, pa), (row.b, lb, pb)):
            assert side.n == len(mine)
            assert side.accuracy == pytest.approx(sum(labels[i] == preds[i] for i in mine) / len(mine))
            assert side.positive is not None
            assert side.positive.support == sum(labels[i] == "wrong" for i in mine)
            assert side.positive.tp == sum(labels[i] == preds[i] == "wrong" for i in mine)
        assert "accuracy" in row.tests


def test_paired_precision_uses_the_exact_paired_test(ledger: Ledger) -> None:
    """Brute force: every assignment of the records predicted 'wrong' by one run only."""
    import itertools

    ids = [f"r{i}" for i in range(30)]
    labels = ["wrong"] * 8 + ["ok"] * 22
    pa = ["wrong"] * 6 + ["ok"] * 2 + ["wrong"] * 2 + ["ok"] * 20
    pb = ["wrong"] * 3 + ["ok"] * 5 + ["wrong"] * 7 + ["ok"] * 15
    c = compare_runs(ledger, [run(ledger, ids, labels, pa)], [run(ledger, ids, labels, pb)], CompareOptions(min_support=1))
    test = next(r for r in c.per_class if r.name == "wrong").tests["precision"]
    only = [i for i in range(30) if (pa[i] == "wrong") != (pb[i] == "wrong")]

    def precision(preds: list[str]) -> float:
        flagged = [i for i in range(30) if preds[i] == "wrong"]
        return sum(labels[i] == "wrong" for i in flagged) / len(flagged) if flagged else 0.0

    observed = precision(pb) - precision(pa)
    extreme = 0
    for swap in itertools.product([False, True], repeat=len(only)):
        xa, xb = list(pa), list(pb)
        for i, s in zip(only, swap, strict=True):
            if s:
                xa[i], xb[i] = xb[i], xa[i]
        extreme += abs(precision(xb) - precision(xa)) >= abs(observed) - 1e-12
    assert test.name == "permutation" and test.estimate == pytest.approx(observed)
    assert test.p_value == pytest.approx(extreme / 2 ** len(only), rel=1e-12)


# ---- 7. "run more records" with a number ----------------------------------------------------------


def test_no_decision_says_how_many_records_and_what_they_cost(ledger: Ledger) -> None:
    a = add(ledger, audit_records(n=400, positives=40, caught=30, false_pos=20, cost=0.0006))
    b = add(ledger, audit_records(n=400, positives=40, caught=33, false_pos=18, cost=0.0006, seed=1))
    c = compare_runs(ledger, [a], [b], CompareOptions(min_effect=0.05))
    assert c.verdict.decision == "NO_DECISION"
    advice = c.verdict.advice
    assert advice is not None and advice.se is not None and advice.se_null is not None and advice.mde is not None
    za, zb = ss.norm.ppf(0.975), ss.norm.ppf(0.80)
    spread = za * advice.se_null + zb * advice.se
    assert advice.mde == pytest.approx(spread, rel=1e-9)
    for need in advice.needed:
        assert need.records_per_run == math.ceil(400 * (spread / need.effect) ** 2)
        assert need.additional_per_run == need.records_per_run - 400
        cost = c.metrics["cost_per_record_usd"]
        assert need.cost_usd == pytest.approx(need.records_per_run * (cost.a + cost.b))
    assert {n.basis for n in advice.needed} == {"observed change", "--min-effect"}
    text = c.render_text()
    assert "to decide:" in text and "records per run" in text and "to run both sides" in text


# ---- the acceptance case of issue 10, with its own numbers ------------------------------------------


def test_hidden_rare_class_regression_94_to_97_is_flagged(ledger: Ledger) -> None:
    """Accuracy .94 -> .97 while the rare class's recall falls .80 -> .50, 1,000 paired records."""
    a = add(ledger, audit_records(n=1000, positives=50, caught=40, false_pos=50))
    b = add(ledger, audit_records(n=1000, positives=50, caught=25, false_pos=5))
    c = compare_runs(ledger, [a], [b], CompareOptions(volume=1_000_000))
    assert (c.metrics["accuracy"].a, c.metrics["accuracy"].b) == (pytest.approx(0.94), pytest.approx(0.97))
    flag = next(f for f in c.flags if f.class_name == "wrong" and f.metric == "recall")
    assert flag.kind == "hidden_regression" and flag.is_regression
    assert flag.test is not None and flag.test.p_value == pytest.approx(ss.binomtest(0, 15).pvalue)
    assert flag.projected is not None and flag.projected["missed"] == pytest.approx(15_000)
    assert c.verdict.decision in ("REVIEW", "ROLLBACK") and c.fails
