"""Dependency direction and start-up weight, checked in fresh processes.

- Importing every module of the core (``ledger`` outside ``ledger.cli``) loads no UI, pipeline or
  provider SDK: textual, anthropic, openai, usearch, tui, pipeline.
- ``ledger ls`` (and the other everyday read commands) as a process never imports pandas, scipy,
  numpy, textual or sqlite_utils: measured on the installed console script with ``-X importtime``.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ledger

FORBIDDEN_IN_CORE = ("textual", "anthropic", "openai", "usearch", "tui", "pipeline")
HEAVY = ("pandas", "scipy", "numpy", "textual", "sqlite_utils", "anthropic", "openai", "usearch", "tui", "pipeline",
         "mlflow", "datasette")
LEDGER_SCRIPT = str(Path(sys.executable).with_name("ledger"))


def core_modules() -> list[str]:
    names = ["ledger"]
    for info in pkgutil.walk_packages(ledger.__path__, "ledger."):
        if info.name == "ledger.cli" or info.name.startswith("ledger.cli.") or info.name == "ledger.__main__":
            continue
        names.append(info.name)
    return sorted(names)


def test_core_modules_are_found() -> None:
    names = core_modules()
    assert {"ledger.store", "ledger.db", "ledger.records", "ledger.document"} <= set(names)


def test_core_imports_no_ui_pipeline_or_sdk() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    bad = sorted({m for m in loaded if m.split(".")[0] in FORBIDDEN_IN_CORE})
    assert bad == [], f"the core imported {bad[:5]}"


def _imported_by(argv: list[str]) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", LEDGER_SCRIPT, *argv], capture_output=True, text=True, check=False,
    )
    modules: set[str] = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    return modules, proc


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ledger import Ledger

    from .harness import _small_run

    db = tmp_path_factory.mktemp("arch") / "a.db"
    with Ledger(db, create=True) as led:
        led.append(_small_run("e", "u-0", 20, 0))
        led.append(_small_run("e", "u-1", 20, 1))
    return db


@pytest.mark.parametrize(
    "argv",
    [["ls"], ["ls", "--json"], ["show", "1"], ["verify"], ["records", "2"]],
    ids=lambda a: " ".join(a),
)
def test_everyday_commands_stay_light(small_db: Path, argv: list[str]) -> None:
    modules, proc = _imported_by([*argv, "--db", str(small_db)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ledger.store" in modules, "importtime output was not captured"
    heavy = sorted({m for m in modules if m.split(".")[0] in HEAVY})
    assert heavy == [], f"`ledger {' '.join(argv)}` imported {heavy[:6]}"


def test_the_checker_sees_a_heavy_import(small_db: Path) -> None:
    """Guard against a vacuous pass: a command that needs sqlite_utils (init) shows it."""
    modules, proc = _imported_by(["init", "--db", str(small_db.with_name("fresh.db"))])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(m.split(".")[0] == "sqlite_utils" for m in modules)


def test_a_new_ledgers_first_command_does_not_import_pandas(tmp_path: Path) -> None:
    """`ledger init` applies the migrations through sqlite-utils, whose module imports pandas (and
    pyarrow) when it can: about 0.4 s on a new ledger's first command, for nothing."""
    modules, proc = _imported_by(["init", "--db", str(tmp_path / "new.db")])
    assert proc.returncode == 0, proc.stderr[-500:]
    assert any(m.split(".")[0] == "sqlite_utils" for m in modules)  # the migrations did run through it
    assert not {m for m in modules if m.split(".")[0] in ("pandas", "pyarrow")}


def test_pandas_still_works_after_a_ledger_was_created_in_the_same_process(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ledger import Ledger\n"
        f"Ledger({str(tmp_path / 'n.db')!r}, create=True).close()\n"
        "assert 'pandas' not in sys.modules\n"
        "import pandas\n"
        "print(pandas.DataFrame({'a': [1, 2]}).a.sum())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"
