"""``ledger run``: run a pipeline config on a sample and append the run(s) to the ledger."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import LedgerError
from ..render import fmt_seconds, fmt_usd
from ..store import Ledger
from .common import DbOption, JsonOption, db_path, fail, handle_errors, print_json


def register(app: typer.Typer) -> None:
    app.command("run")(run)


class _Bar:
    """A one-line text progress bar on stderr (redrawn at most ten times a second)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last = 0.0
        self._width = 0

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(frac * 30)
        line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {message}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        sys.stderr.write(line + " " * pad)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            sys.stderr.write("\n")
            sys.stderr.flush()


@handle_errors
def run(
    config: Annotated[Path, typer.Argument(help="Pipeline config (TOML), e.g. configs/04_reranker.toml.")],
    hypothesis: Annotated[str, typer.Option("--hypothesis", "-H", help="What you expect this change to do.")] = "",
    sample: Annotated[int | None, typer.Option("--sample", "-n", help="Records to draw (default: the config's); the sample is stored as an evaluation set that every config run on it is paired on.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Which sample to draw (default: the config's; another seed is a fresh sample, a new evaluation set). Repeats reseed the pipeline with seed, seed+1, ...")] = None,
    repeat: Annotated[int, typer.Option("--repeat", "-r", help="Run the same records this many times (the pipeline's randomness reseeded): repeats measure run-to-run variance.")] = 1,
    evalset: Annotated[str | None, typer.Option("--evalset", help="Run on this stored evaluation set (`ledger evalset ls`) instead of drawing a sample.")] = None,
    parent: Annotated[int | None, typer.Option("--parent", help="Run to diff against (default: the experiment's last run).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="offline (default, no key), anthropic or openai.")] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Your records (CSV, JSONL or Parquet) instead of the generated default.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="API key (default: ANTHROPIC_API_KEY / OPENAI_API_KEY); never stored.")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Submit the LLM stages through the provider's batch API (about half price; results can take hours).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the pipeline on a sample and append a complete run (Ctrl-C or SIGTERM records a
    cancelled run)."""
    import os
    import signal

    # One BLAS thread: the pipeline's matrix products are small, and OpenBLAS's second thread
    # spins on the core the tokenizer and Python need (measured: `ledger run` 1.2-2x faster).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from pipeline.runner import run_experiment

    show = sys.stderr.isatty() or os.environ.get("LEDGER_PROGRESS") == "1"
    bar = _Bar(enabled=show and not quiet and not as_json)
    cancel = threading.Event()
    result: dict[str, Any] = {}
    finished = threading.Event()

    with Ledger(db_path(db), create=True) as ledger:
        def work() -> None:
            try:
                result["runs"] = run_experiment(
                    ledger, config, hypothesis=hypothesis, sample=sample, seed=seed,
                    repeat=repeat, parent=parent, provider=provider, dataset=dataset, key=key,
                    batch=batch, evalset=evalset, progress=bar, cancel=cancel,
                )
            except BaseException as exc:
                result["error"] = exc
            finally:
                finished.set()

        # The ledger's connection may be used from another thread (check_same_thread=False):
        # the run works in a worker so that Ctrl-C here only sets the cancel event.
        worker = threading.Thread(target=work, name="ledger-run", daemon=True)
        # SIGTERM (a CI job's timeout, `kill`) stops a run the way Ctrl-C does: recorded.
        terminated: list[int] = []

        def terminate(signum: int, frame: Any) -> None:
            terminated.append(signum)
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, terminate)
        worker.start()
        # Wait on an Event, not Thread.join: on Python 3.11 a join interrupted by Ctrl-C can
        # leave the thread looking finished while it still runs.
        try:
            while not finished.wait(0.1):
                pass
        except KeyboardInterrupt:
            cancel.set()
            sys.stderr.write("\ncancelling (the run is recorded as cancelled)...\n")
            sys.stderr.flush()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not lose the run
            while not finished.wait(0.1):
                pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, LedgerError):
            raise exc
        if isinstance(exc, KeyboardInterrupt):
            raise fail("interrupted", 130)
        raise exc
    runs = result["runs"]
    if as_json:
        print_json([r.summary() | {"status": r.status, "error": r.error} for r in runs])
    else:
        for r in runs:
            print(_line(r))
    if any(r.status == "cancelled" for r in runs):
        # a cancel the user asked for is not an error: say what was kept; exit 130 (Ctrl-C) or
        # 128 + the signal that stopped us (SIGTERM: 143), as shells expect
        last = runs[-1]
        print(f"ledger: cancelled: run {last.id} recorded as cancelled after {last.record_count:,} of "
              f"{last.sample_size:,} records", file=sys.stderr)
        raise typer.Exit(128 + terminated[0] if terminated else 130)


def _line(r: Any) -> str:
    """One line per run; a run that did not finish shows how far it got, not zero metrics."""
    if r.status != "ok":
        got = f"{r.record_count:,} of {r.sample_size:,} records" if r.sample_size else "no records"
        return f"run {r.id} [{r.status}] {r.experiment}: {got}" + (f"; {r.error}" if r.error else "")

    def f(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    return (
        f"run {r.id} [{r.status}] {r.experiment}: n={r.sample_size} "
        f"P={f(r.precision, '.3f')} R={f(r.recall, '.3f')} F1={f(r.f1, '.3f')} "
        f"cost/rec={fmt_usd(r.cost_per_record_usd)} time/rec={fmt_seconds(r.time_per_record_s)}"
    )
