"""Exports for people who do not run ``ledger``: ``export(ledger, fmt, path, ...)``.

Formats (each module writes one):

* ``html``: one self-contained report (no script, nothing fetched): where the project stands (best
  run by quality, cost and time; the Pareto frontier), charts across runs, each run compared with
  its parent (flags and verdict), decisions and their reversal triggers, the run table, and the
  verified chain head.
* ``xlsx``: sheets ``runs`` (typed numbers, frozen header, number formats), ``per_class``,
  ``decisions`` and ``about`` (chain head).
* ``csv``: one row per run (RFC 4180 quoting; text that a spreadsheet would run as a formula is
  prefixed with ``'``).
* ``md``: the run table and the flags, for a pull request or a wiki page.
* ``json``: the run documents that ``ledger log`` reads back: exporting a ledger and logging the file
  into an empty ledger gives the same runs, records and metrics.
* ``parquet``: the run table at PATH and the per-record outcomes of every exported run at PATH with
  the suffix ``.records.parquet`` (``report.parquet`` -> ``report.records.parquet``).

Every format redacts credentials (by key name and by the values of credential-like environment
variables) and is written to a temporary file in the target folder, then moved into place: a
reader never sees half a file, and a failed export leaves nothing behind. An existing file is
replaced only with ``force=True``.

pandas, pyarrow and openpyxl are imported inside the writers that need them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from glob import escape as glob_escape
from pathlib import Path

from ..errors import LedgerError, RunNotFound, UsageError
from ..model import Run
from ..store import Ledger

FORMATS: tuple[str, ...] = ("html", "xlsx", "csv", "md", "json", "parquet")
SUFFIXES: dict[str, str] = {
    "html": ".html", "xlsx": ".xlsx", "csv": ".csv", "md": ".md", "json": ".json", "parquet": ".parquet",
}


def records_path(path: Path) -> Path:
    """Where the parquet export puts the per-record outcomes for a runs file at ``path``."""
    return path.with_suffix(".records.parquet")


def output_paths(fmt: str, path: Path) -> list[Path]:
    """Every file an export to ``path`` writes."""
    return [path, records_path(path)] if fmt == "parquet" else [path]


def select_runs(ledger: Ledger, runs: list[int] | None = None, experiment: str | None = None) -> list[Run]:
    """The pipeline runs to export, in id order.

    ``runs`` may name decision or analysis rows (a range such as 12-17 often spans some): those are
    skipped here and appear with the runs they concern. An id that names no row at all is an error.
    """
    if runs is not None:
        wanted = sorted(set(runs))
        if not wanted:
            raise UsageError("--runs names no run; write e.g. 12,15,17 or 12-17")
        last = ledger.head()[0] or 0
        missing = [i for i in wanted if i > last or not ledger.exists(i)]
        if missing:
            names = _span(missing)
            have = f"rows are numbered 1 to {last}" if last else "the ledger is empty"
            raise RunNotFound(f"no run {names} in {ledger.path} ({have}); `ledger ls` lists them")
        selected = ledger.runs(ids=wanted, experiment=experiment, kind="run")
    else:
        selected = ledger.runs(experiment=experiment, kind="run")
    if not selected:
        what = []
        if runs is not None:
            what.append("the runs given")
        if experiment is not None:
            known = ", ".join(ledger.experiments()[:10]) or "none"
            what.append(f"experiment {experiment!r} (experiments: {known})")
        detail = " among " + " in ".join(what) if what else " in the ledger"
        raise UsageError(f"no pipeline runs to export{detail}; `ledger ls` lists them")
    return selected


def _span(ids: list[int]) -> str:
    """``[3, 11, 12, 13]`` -> ``3, 11-13``."""
    parts: list[str] = []
    start = prev = ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def check_target(fmt: str, path: Path, force: bool) -> None:
    """Refuse to write into a folder that does not exist, or over a file without ``force``."""
    for target in output_paths(fmt, path):
        parent = target.parent
        if not parent.is_dir():
            raise LedgerError(
                f"cannot write {target}: folder {parent} does not exist; create it first (mkdir -p {parent})"
            )
        if target.is_dir():
            raise LedgerError(f"cannot write {target}: it is a folder; give a file name such as {target / ('report' + SUFFIXES[fmt])}")
        if target.exists() and not force:
            raise LedgerError(f"{target} already exists; pass --force to replace it")


class AtomicFiles:
    """Temporary files next to their targets, moved into place together on :meth:`commit`."""

    def __init__(self, targets: list[Path]) -> None:
        self.targets = targets
        self.temps: list[Path] = []
        for target in targets:
            _sweep(target)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
            os.close(fd)
            self.temps.append(Path(name))

    def commit(self) -> None:
        for temp, target in zip(self.temps, self.targets, strict=True):
            # mkstemp makes the file private (0600); an export is a normal file.
            umask = os.umask(0)
            os.umask(umask)
            with contextlib.suppress(OSError):
                os.chmod(temp, 0o666 & ~umask)
            os.replace(temp, target)
        self.temps = []

    def discard(self) -> None:
        for temp in self.temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self.temps = []


def _sweep(target: Path) -> None:
    """Remove what an export to ``target`` killed earlier left behind (its temporary file names
    the process that wrote it; a process that no longer exists will not finish it)."""
    for stale in target.parent.glob(f".{glob_escape(target.name)}.*.tmp"):
        pid_text = stale.name[len(target.name) + 2:].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _writer(fmt: str) -> Callable[..., None]:
    if fmt == "html":
        from .html import write
    elif fmt == "xlsx":
        from .xlsx import write
    elif fmt == "csv":
        from .csv_ import write
    elif fmt == "md":
        from .md import write
    elif fmt == "json":
        from .json_ import write
    else:
        from .parquet import write
    return write


def export(
    ledger: Ledger,
    fmt: str,
    path: Path | str,
    *,
    runs: list[int] | None = None,
    experiment: str | None = None,
    force: bool = False,
) -> Path:
    """Export the runs of ``ledger`` (all, those in ``runs``, and/or one ``experiment``) to
    ``path`` in format ``fmt``. Returns the path written (for parquet, the runs file; the records
    file is :func:`records_path` of it)."""
    from .safe import Redactor

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    target = Path(path)
    check_target(fmt, target, force)
    for out in output_paths(fmt, target):
        _not_the_ledger(ledger, out)
    write = _writer(fmt)
    try:
        # The rows, the chain head and the verification are read in one snapshot: an export taken
        # while others append names the head of exactly the rows it holds.
        with ledger.snapshot():
            selected = select_runs(ledger, runs, experiment)
            report = ledger.verify()
            files = AtomicFiles(output_paths(fmt, target))
            try:
                try:
                    write(ledger, selected, files.temps, Redactor(), experiment=experiment,
                          whole_ledger=runs is None and experiment is None, verify=report)
                except Exception as exc:
                    # openpyxl streams through lxml, whose write failures (a full disk) are not OSErrors
                    if type(exc).__name__ != "SerialisationError":
                        raise
                    raise OSError(f"{exc}: the disk may be full") from None
                files.commit()
            finally:
                files.discard()
    except OSError as exc:  # the temporary file's name would only confuse: name the target
        reason = exc.strerror or str(exc)
        raise LedgerError(f"cannot write {target.absolute()}: {reason}; choose a folder you can write "
                          "to (and check the free space)") from exc
    return target


def _not_the_ledger(ledger: Ledger, out: Path) -> None:
    """Refuse to write an export over the ledger or its companion files (by path and by inode)."""
    base = ledger.path
    for companion in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-head"), Path(f"{base}-journal")):
        same = out.resolve() == companion.resolve()
        if not same and out.exists() and companion.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, companion)
        if same:
            raise UsageError(f"{out} is the ledger's own file ({companion.name}); write the export elsewhere")


__all__ = ["FORMATS", "export", "output_paths", "records_path", "select_runs"]
