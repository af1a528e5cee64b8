"""Analysis commands: compare, plan, sweep, pareto, decide, triggers.

numpy is imported inside the commands (through the core modules), never at start-up; scipy and
pandas are never imported on these paths.
"""

from __future__ import annotations

import itertools
import sys
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..render import fmt_delta, fmt_ratio, fmt_seconds, fmt_usd, safe, table, truncate
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, handle_errors, print_json


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
    app.command("plan")(plan)
    app.command("sweep")(sweep)
    app.command("pareto")(pareto)
    app.command("decide")(decide)
    app.command("triggers")(triggers)


@handle_errors
def compare(
    a: Annotated[str, typer.Argument(help="Baseline: a run id, a group (12,13,14 or 12-14), a variant (v3) or its name.", show_default=False)],
    b: Annotated[str, typer.Argument(help="Candidate: the same forms.", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    alpha: Annotated[float, typer.Option(help="Significance level (CIs are at 1 - alpha).")] = 0.05,
    min_effect: Annotated[float, typer.Option(help="Smallest headline F1 change that counts.")] = 0.02,
    max_cost_delta: Annotated[float, typer.Option(help="Per-record USD increase accepted for better quality.")] = 0.001,
    min_cost_saving: Annotated[float, typer.Option(help="Per-record USD saving that counts as cheaper.")] = 0.0005,
    min_time_saving: Annotated[float, typer.Option(help="Relative time-per-record saving that counts as faster.")] = 0.10,
    material_drop: Annotated[float, typer.Option(help="Class/stratum precision or recall drop that is flagged.")] = 0.05,
    min_support: Annotated[int, typer.Option(help="Classes/strata with fewer records (or predictions, for precision) on either side are not flagged.")] = 10,
    volume: Annotated[int | None, typer.Option(help="Project flags to absolute counts at this many records (e.g. a month's volume).")] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap and permutation seed (results are reproducible).")] = 0,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples (and Monte Carlo permutations).")] = 1000,
    power: Annotated[float, typer.Option(help="Power the 'records needed' advice is computed for.")] = 0.80,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression", help="Exit 1 when a regression flag or ROLLBACK stands (for CI).")] = False,
    record: Annotated[bool, typer.Option("--record", help="Store the verdict, flags and metrics as an analysis row.")] = False,
    evalset: Annotated[str | None, typer.Option("--evalset", help="With variants: compare their runs on this evaluation set.")] = None,
) -> None:
    """Compare run(s) A with run(s) B: metrics with CIs, exact tests, imbalance flags, verdict.

    Naming variants (v2 v5, or their names) compares their repeats, on an evaluation set both
    were run on."""
    from ..compare import CompareOptions, compare_runs, record_comparison

    opts = CompareOptions(alpha=alpha, min_effect=min_effect, max_cost_delta=max_cost_delta,
                          min_cost_saving=min_cost_saving, min_time_saving=min_time_saving,
                          material_drop=material_drop, min_support=min_support, volume=volume, seed=seed,
                          n_boot=n_boot, power=power)
    from ..specs import resolve_pair

    with Ledger(db_path(db)) as ledger:
        sa, sb = resolve_pair(ledger, a, b, evalset=evalset)
        result = compare_runs(ledger, list(sa.run_ids), list(sb.run_ids), opts)
        stored = record_comparison(ledger, result) if record else None
    notes = list(dict.fromkeys((*sa.notes, *sb.notes)))
    if as_json:
        out = result.to_dict()
        out["selection"] = {key: {"spec": s.spec, "variant": None if s.variant is None else s.variant.to_dict(),
                                  "runs": list(s.run_ids), "evalset_id": s.evalset_id}
                            for key, s in (("a", sa), ("b", sb))}
        out["selection_notes"] = notes
        if stored is not None:
            out["recorded_as"] = stored.id
        print_json(out)
    else:
        if sa.variant is not None or sb.variant is not None:
            print(f"A = {safe(sa.label)} (runs {', '.join(map(str, sa.run_ids))})   "
                  f"B = {safe(sb.label)} (runs {', '.join(map(str, sb.run_ids))})")
        for note in notes:
            print(safe(f"note: {note}"))
        print(safe(result.render_text()))
        if stored is not None:
            print(f"recorded as analysis row {stored.id}")
    if fail_on_regression and result.fails:
        what = f"{len(result.regressions)} regression flag(s)" if result.regressions else "verdict ROLLBACK"
        print(f"ledger: failing: {what} (--fail-on-regression)", file=sys.stderr)
        raise typer.Exit(1)


@handle_errors
def plan(
    prevalence: Annotated[float, typer.Option(help="Share of records in the class that matters (e.g. 0.05).", show_default=False)],
    effect: Annotated[float, typer.Option(help="Change of the metric to detect (e.g. 0.05 for five points).", show_default=False)],
    metric: Annotated[str, typer.Option(help="f1, recall, precision or accuracy.")] = "f1",
    paired: Annotated[bool, typer.Option("--paired/--independent", help="Both runs on the same records (the default for an evaluation set) or on different samples.")] = False,
    recall: Annotated[float, typer.Option(help="A's recall on the class (operating point).")] = 0.80,
    precision: Annotated[float, typer.Option(help="A's precision on the class (operating point).")] = 0.80,
    accuracy: Annotated[float, typer.Option(help="A's accuracy (for --metric accuracy).")] = 0.90,
    discordance: Annotated[float | None, typer.Option(help="Paired: share of the counted records on which the runs disagree (default: independent errors).")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power (chance of detecting the effect when it is real).")] = 0.80,
    cost_per_record: Annotated[float | None, typer.Option(help="USD per record and run, to price the plan.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Records (and dollars) a comparison needs to detect a change, before any run is launched."""
    from ..plan import plan as make_plan

    p = make_plan(metric, prevalence, effect, paired=paired, alpha=alpha, power=power, recall=recall,
                  precision=precision, accuracy=accuracy, discordance=discordance, cost_per_record=cost_per_record)
    if as_json:
        print_json(p.to_dict())
        return
    design = "paired (both runs on the same records)" if p.paired else "independent samples"
    print(f"{p.records_per_run:,} records per run ({p.counted_per_run:,} {p.counted}) to detect a change of "
          f"{p.effect:+g} in {p.metric} from {p.baseline:.3f}, with {100 * p.power:.0f}% power at alpha {p.alpha:g}; "
          f"{design}, prevalence {p.prevalence:g}")
    if p.cost_usd is not None:
        print(f"cost: {p.total_records:,} records over both runs x {fmt_usd(cost_per_record)} = {fmt_usd(p.cost_usd)}")
    print(f"method: {p.method} ({p.reference})")
    for assumption in p.assumptions:
        print(f"assumes: {assumption}")


@handle_errors
def sweep(
    runs: Annotated[list[str], typer.Argument(help="Run id (two ids compare their sweeps).", show_default=False)],
    score: Annotated[str, typer.Option("--score", "-s", help="Recorded score name (records' scores.<name>).", show_default=False)],
    db: DbOption = None,
    as_json: JsonOption = False,
    fp_cost: Annotated[float, typer.Option(help="Cost of one false positive (a wrongly flagged record).")] = 1.0,
    fn_cost: Annotated[float, typer.Option(help="Cost of one false negative (a missed record).")] = 1.0,
    max_block_rate: Annotated[float | None, typer.Option(help="Only thresholds flagging at most this share of records.")] = None,
    min_recall: Annotated[float | None, typer.Option(help="Only thresholds reaching at least this recall.")] = None,
    direction: Annotated[str, typer.Option(help="higher_flags (score >= threshold is flagged) or lower_flags.")] = "higher_flags",
    record: Annotated[bool, typer.Option("--record", help="Store the sweep as an analysis row pointing at the run.")] = False,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Draw the precision-recall curve.")] = True,
    rows: Annotated[int, typer.Option(help="Threshold table rows to show.", min=2)] = 15,
    folds: Annotated[int, typer.Option(help="Cross-validation folds for the choice of threshold (0: none).")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the cross-validation folds and its interval.")] = 0,
) -> None:
    """Sweep a decision threshold over a recorded score: PR curve, threshold table, expected cost."""
    from ..sweep import pr_curve_text, record_sweep, sweep_run

    if len(runs) > 2:
        raise UsageError(f"sweep takes one run id, or two to compare; got {len(runs)}")
    from ..specs import single_run

    with Ledger(db_path(db)) as ledger:
        ids = [single_run(ledger, r) for r in runs]
        if len(ids) == 2 and ids[0] == ids[1]:
            raise UsageError("the two runs to compare are the same run")
        sweeps = [sweep_run(ledger, rid, score, fp_cost=fp_cost, fn_cost=fn_cost, max_block_rate=max_block_rate,
                            min_recall=min_recall, direction=direction, folds=folds, seed=seed) for rid in ids]
        stored = [record_sweep(ledger, s) for s in sweeps] if record else []
    if as_json:
        if len(sweeps) == 1:
            out = sweeps[0].to_dict()
            if stored:
                out["recorded_as"] = stored[0].id
            print_json(out)
        else:
            sa, sb = sweeps
            cross = None
            if sb.recommended is not None:
                cross = sa.point_at(sb.recommended.threshold).to_dict()
            print_json({
                "runs": [s.to_dict() for s in sweeps],
                "delta_average_precision": sb.average_precision - sa.average_precision,
                "a_at_b_recommended": cross,
                "recorded_as": [r.id for r in stored],
            })
        return
    for i, s in enumerate(sweeps):
        if i:
            print()
        print(f"run {s.run_id}: score {s.score!r} ({s.direction}), {s.n_scored:,} of {s.n_records:,} records scored, "
              f"{s.positives:,} {s.positive_label!r}; average precision {s.average_precision:.3f}")
        if s.n_unscored:
            print(f"{s.n_unscored:,} record(s) have no {s.score!r} score: counted as not flagged at every threshold "
                  f"({s.unscored_positives:,} of them {s.positive_label!r}: misses in every expected cost)")
        if plot:
            print(pr_curve_text(s.points, mark=s.recommended))
        pts = s.points
        if len(pts) > rows:
            step = (len(pts) - 1) / (rows - 1)
            pts = [pts[round(j * step)] for j in range(rows)]
        if s.recommended is not None and all(p.threshold != s.recommended.threshold for p in pts):
            pts = sorted([*pts, s.recommended], key=lambda p: p.threshold)
        body = [
            [("* " if s.recommended is not None and p.threshold == s.recommended.threshold else "  ") + f"{p.threshold:.4g}",
             fmt_ratio(p.precision), fmt_ratio(p.recall), fmt_ratio(p.f1), fmt_ratio(p.block_rate),
             f"{p.tp:,}", f"{p.fp:,}", f"{p.fn:,}", f"{p.expected_cost:,.4g}"]
            for p in pts
        ]
        print(table(["threshold", "precision", "recall", "F1", "block rate", "TP", "FP", "FN", "expected cost"],
                    body, "rrrrrrrrr"))
        if s.recommended is not None:
            r = s.recommended
            print(f"recommended threshold {r.threshold:.4g} ({s.rule}): precision {r.precision:.3f}, recall "
                  f"{r.recall:.3f}, block rate {r.block_rate:.3f}, expected cost {r.expected_cost:,.4g}")
        else:
            print(f"recommended threshold: none — {s.rule}")
        _print_cross_validation(s)
        for tier, p in s.tiers.items():
            if p.tp + p.fp == 0:
                print(f"  {tier:<5} nothing: no threshold flagging at most {s.max_block_rate:g} of records costs less than flagging none")
                continue
            print(f"  {tier:<5} at score {'>=' if s.direction == 'higher_flags' else '<='} {p.threshold:.4g}: "
                  f"recall {p.recall:.3f}, precision {p.precision:.3f}, rate {p.block_rate:.3f}")
        if stored:
            print(f"recorded as analysis row {stored[i].id}")
    if len(sweeps) == 2:
        sa, sb = sweeps
        print()
        print(f"average precision: run {sa.run_id} {sa.average_precision:.3f} -> run {sb.run_id} "
              f"{sb.average_precision:.3f} ({fmt_delta(sb.average_precision - sa.average_precision)})")
        if sb.recommended is not None:
            pa = sa.point_at(sb.recommended.threshold)
            pb = sb.recommended
            print(f"at run {sb.run_id}'s recommended threshold {pb.threshold:.4g}: recall {pa.recall:.3f} -> "
                  f"{pb.recall:.3f}, precision {pa.precision:.3f} -> {pb.precision:.3f}, expected cost "
                  f"{pa.expected_cost:,.4g} -> {pb.expected_cost:,.4g}")


def _print_cross_validation(s: object) -> None:
    from ..sweep import Sweep

    assert isinstance(s, Sweep)
    cv = s.cross_validated
    if cv is None:
        if s.cv_note:
            print(s.cv_note)
        return
    ci = f" (95% CI {cv.ci[0]:,.4g} to {cv.ci[1]:,.4g})" if cv.ci else ""
    in_sample = f"; the in-sample {cv.in_sample_expected_cost:,.4g} above is optimistic" if cv.in_sample_expected_cost is not None else ""
    chosen = sorted(t for t in cv.thresholds if t is not None)
    spread = f", thresholds chosen {chosen[0]:.4g} to {chosen[-1]:.4g}" if chosen else ", flag nothing in every fold"
    print(f"cross-validated ({cv.folds} folds, seed {cv.seed}{spread}): expected cost {cv.expected_cost:,.4g}{ci}{in_sample}; "
          f"recall {cv.recall:.3f}, precision {cv.precision:.3f}, block rate {cv.block_rate:.3f} on held-out records")


@handle_errors
def pareto(
    db: DbOption = None,
    as_json: JsonOption = False,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also list the dominated variants (runs).")] = False,
    by_run: Annotated[bool, typer.Option("--runs", help="One point per run instead of per variant.")] = False,
) -> None:
    """The Pareto frontier over quality (F1), cost per record and time per record, with compound metrics.

    Each variant is one point (the means over its successful repeats), so repeats of one
    configuration are never listed as competitors; --runs gives one point per run."""
    from ..pareto import compound_metrics, dominates, pareto_front, summary_compound_metrics

    points: list[Any]
    with Ledger(db_path(db)) as ledger:
        if by_run:
            points = [r for r in ledger.runs(experiment=experiment, kind="run") if r.status == "ok"]
        else:
            points = [s for s in ledger.variant_summaries(experiment) if s.runs_ok]
    if not points:
        raise UsageError("no successful runs" + (f" in experiment {experiment!r}" if experiment else "") + "; `ledger ls` lists them")
    front = pareto_front(points)
    front_ids = {p.id for p in front}
    listed = points if show_all else front

    def entry(p: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"id": p.id, "f1": p.f1, "cost_per_record_usd": p.cost_per_record_usd,
                                "time_per_record_s": p.time_per_record_s, "on_front": p.id in front_ids,
                                "dominated_by": [] if p.id in front_ids else [o.id for o in front if dominates(o, p)][:5]}
        if by_run:
            base.update(experiment=p.experiment, hypothesis=p.hypothesis, variant=p.variant_name, **compound_metrics(p))
        else:
            base.update(experiment=p.variant.experiment, name=p.variant.name, runs=list(p.runs_ok),
                        f1_ci=None if p.f1_ci is None else list(p.f1_ci), **summary_compound_metrics(p))
        return base

    rows = [entry(p) for p in sorted(listed, key=lambda p: (p.id not in front_ids, -(p.f1 or -1)))]
    if as_json:
        print_json({"unit": "run" if by_run else "variant", "front": [p.id for p in front], "points": rows,
                    "runs" if by_run else "variants": rows})
        return

    def label(r: dict[str, Any]) -> str:
        if by_run:
            return truncate(str(r["hypothesis"] or r["variant"] or ""), 30)
        return truncate(f"{r['name'] or ''} ({len(r['runs'])} run{'s' if len(r['runs']) != 1 else ''})", 30)

    body = [
        [r["id"], "*" if r["on_front"] else "", label(r), fmt_ratio(r["f1"]),
         fmt_usd(r["cost_per_record_usd"]), fmt_seconds(r["time_per_record_s"]),
         "-" if r["quality_adjusted_latency"] is None else f"{r['quality_adjusted_latency']:.1f}",
         fmt_usd(r["cost_per_satisfactory_response"]),
         "-" if r["token_efficiency"] is None else f"{r['token_efficiency']:.3f}"]
        for r in rows
    ]
    unit = "run" if by_run else "variant"
    print(table([unit, "front", "hypothesis" if by_run else "name", "F1", "$/rec", "t/rec", "QAL",
                 "$/satisfactory", "F1/1k tok"], body, "rllrrrrrr", flex=2))
    print(f"{len(front)} {unit}(s) on the frontier of {len(points)} (F1 up, cost and time per record down"
          + ("" if by_run else "; means over each variant's successful repeats") + "). QAL = 100 x F1 - 10 x p99 seconds.")
    if len(front) >= 2:
        from ..pareto import cost_per_marginal_quality_point

        by_cost = sorted(front, key=lambda r: (r.cost_per_record_usd or 0.0))
        for lo, hi in itertools.pairwise(by_cost):
            cma = cost_per_marginal_quality_point(lo, hi)
            if cma is not None:
                print(f"{unit} {lo.id} -> {hi.id}: {fmt_usd(cma)} per record per F1 point gained")


@handle_errors
def decide(
    target: Annotated[str, typer.Argument(help="What was decided: a run id, a variant (v3) or its name.", show_default=False)],
    why: Annotated[str, typer.Option("--why", help="Why this was chosen.", show_default=False)],
    revisit_when: Annotated[str | None, typer.Option("--revisit-when", help='Reversal trigger, e.g. "recall < 0.80 or block_rate > 0.05".')] = None,
    scope: Annotated[str, typer.Option("--scope", help="Which later runs the trigger watches: variant (the decided variant's) or experiment (every variant's).")] = "variant",
    confirm: Annotated[int, typer.Option("--confirm", help="Trip only when this many consecutive watched runs meet the condition (2 = a repeat must confirm a noisy metric).")] = 1,
    include_failed: Annotated[bool, typer.Option("--include-failed", help="Also watch failed and cancelled runs.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a decision about a variant (or a run of it), with the condition under which to revisit it.

    The trigger watches only runs appended after the decision: by default the decided variant's
    successful runs. It trips when the condition holds on --confirm consecutive watched runs;
    `ledger triggers` names the run that tripped it, when, and by how much."""
    from ..decisions import decide as do_decide

    with Ledger(db_path(db)) as ledger:
        row = do_decide(ledger, target, why, revisit_when, scope=scope, confirm=confirm,
                        include_failed=include_failed)
    about = row.body.get("variant_key") or f"run {row.refs[-1]}"
    if row.body.get("variant_name"):
        about += f" {row.body['variant_name']}"
    if as_json:
        print_json({"id": row.id, "runs": row.refs, "variant": row.body.get("variant_key"), "why": why,
                    "revisit_when": revisit_when, "scope": scope, "confirm": confirm, "hash": row.hash})
    else:
        trigger = ""
        if revisit_when:
            watched = "its later runs" if scope == "variant" else "later runs of the experiment"
            trigger = f"; revisit when {revisit_when} (watching {watched}" + (
                f", {confirm} in a row" if confirm > 1 else "") + ")"
        print(safe(f"decision {row.id} about {about} (runs {', '.join(map(str, row.refs))}) recorded{trigger}"))


@handle_errors
def triggers(
    db: DbOption = None,
    as_json: JsonOption = False,
    fail_on_trip: Annotated[bool, typer.Option("--fail-on-trip", help="Exit 1 when any trigger has tripped.")] = False,
) -> None:
    """Reversal triggers that have tripped, with the later run that tripped each."""
    from ..decisions import decisions, tripped_triggers

    with Ledger(db_path(db)) as ledger:
        trips = tripped_triggers(ledger)
        rows = decisions(ledger)
    if as_json:
        print_json({
            "decisions": [{"id": d.id, "run": d.refs[0] if d.refs else None, "why": d.body.get("why"),
                           "revisit_when": d.body.get("revisit_when"),
                           "tripped_by": [t.run_id for t in trips if t.decision_id == d.id]} for d in rows],
            "tripped": [t.to_dict() for t in trips],
        })
    else:
        with_trigger = [d for d in rows if d.body.get("revisit_when")]
        if not trips:
            print(f"no trigger has tripped ({len(with_trigger)} decision(s) with a reversal trigger checked)")
        else:
            body = [[t.decision_id, t.variant or f"run {t.decided_run_id}", t.run_id, t.created_at[:16].replace("T", " "),
                     t.condition, t.by_how_much or ", ".join(f"{k}={v:.4g}" for k, v in t.values.items()),
                     truncate(t.why, 30)] for t in trips]
            print(table(["decision", "about", "tripped by run", "at (UTC)", "condition", "by how much", "why"],
                        body, "rlrllll"))
    if fail_on_trip and trips:
        raise typer.Exit(1)
