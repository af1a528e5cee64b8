"""``ledger demo``: the main job on the embedded default, end to end, with no key and no network.

It retells seed 000's journey: each config in ``configs/`` runs the HS-code audit pipeline on the
same generated sample, each run is appended to the ledger, and the ledger then lists them, compares
the first (the baseline) with the best by F1 (flags first), and verifies its own hash chain.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import LedgerError
from ..store import Ledger
from .common import db_path, handle_errors

DEFAULT_DEMO_DB = Path("demo.db")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def configs_dir() -> Path:
    """The repository's ``configs/`` folder (next to the installed ``pipeline`` package)."""
    import pipeline.runner

    # (pipeline.__file__ can be None under an editable install: use a module's file instead)
    folder = Path(pipeline.runner.__file__).resolve().parent.parent / "configs"
    if not folder.is_dir():
        raise LedgerError(
            f"no configs/ folder at {folder}; run the demo from a checkout installed with `pip install -e .`"
        )
    return folder


@handle_errors
def demo(
    db: Annotated[Path | None, typer.Option("--db", help="Ledger to append the demo runs to.")] = None,
    sample: Annotated[int, typer.Option("--sample", "-n", help="Records per run.", min=50)] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed (the same sample for every config).")] = 7,
    volume: Annotated[int, typer.Option("--volume", help="Monthly production volume to project flags to.")] = 5_000_000,
) -> None:
    """Run every config in configs/ on the generated default data, then ls, compare and verify."""
    from pipeline.runner import run_experiment

    from ..compare import CompareOptions, compare_runs
    from .core import ls, verify
    from .run import _Bar

    path = db if db is not None else (db_path(None) if os.environ.get("LEDGER_DB") else DEFAULT_DEMO_DB)
    configs = sorted(configs_dir().glob("*.toml"))
    if not configs:
        raise LedgerError(f"no configs in {configs_dir()}")
    print(f"ledger demo: {len(configs)} pipeline configs x {sample} generated records -> {path}", file=sys.stderr)
    ids: list[int] = []
    with Ledger(path, create=True) as ledger:
        for config in configs:
            hypothesis = _hypothesis(config)
            print(f"\n== {config.name}: {hypothesis}", file=sys.stderr)
            bar = _Bar(enabled=sys.stderr.isatty())
            try:
                runs = run_experiment(ledger, config, hypothesis=hypothesis, sample=sample, seed=seed, progress=bar)
            finally:
                bar.close()
            for run in runs:
                ids.append(run.id)
                print(f"   appended run {run.id}: F1 {run.f1:.3f}, recall {run.recall:.3f}, "
                      f"{run.cost_per_record_usd or 0:.5f} USD/record", file=sys.stderr)
        print("\n== the ledger", file=sys.stderr)
        sys.stdout.flush()
    ls(db=path, experiment=None, status=None, last=len(ids), all_kinds=False, as_json=False)
    with Ledger(path) as ledger:
        best = _best(ledger, ids)
        comparison = compare_runs(ledger, [ids[0]], [best], CompareOptions(volume=volume))
        print(f"\n== ledger compare {ids[0]} {best} --volume {volume}   (the baseline against the best F1)")
        print(comparison.render_text())
        note = _why_both(comparison.to_dict())
        if note:
            print(note)
    print("\n== ledger verify")
    sys.stdout.flush()
    verify(db=path, as_json=False, expect_head=None)
    print(f"\nNext: `ledger tui --db {path}`, `ledger sweep {best} --score flag --db {path}`, "
          f"or explore the bundled ledger.db.example.", file=sys.stderr)


def _best(ledger: Ledger, ids: list[int]) -> int:
    """The run with the highest F1 after the baseline (the last run when none has one)."""
    runs = [r for r in ledger.runs(ids=ids[1:]) if r.f1 is not None]
    return max(runs, key=lambda r: (r.f1, r.id)).id if runs else ids[-1]


def _why_both(comparison: dict[str, Any]) -> str | None:
    """A verdict to promote next to a warning that B's accuracy does not beat the majority class:
    say why both hold, or a reader takes one of them for a mistake."""
    below = [f for f in comparison["flags"] if f["kind"] == "below_majority_baseline"]
    if comparison["verdict"]["decision"] != "PROMOTE" or not below:
        return None
    label = comparison.get("positive_label") or "the rare class"
    return (f"\nwhy both: accuracy counts every record, and most records are not {label!r}, so always "
            f"answering the majority class is highly accurate while it catches no {label!r} record at all. "
            f"The verdict rests on the F1 of {label!r}, the quality an audit is for; the warning says that "
            "accuracy is the wrong yardstick here, not that B is worse.")


def _hypothesis(config: Path) -> str:
    """The config's own one-line description (its [run] name), else its file name."""
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LedgerError(f"{config}: cannot read config ({exc})") from None
    run = data.get("run", {})
    return str(run.get("hypothesis") or run.get("name") or config.stem)
