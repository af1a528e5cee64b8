"""Optional extras: MLflow (``ledger[mlflow]``) and Datasette (``ledger[serve]``).

The core never imports them at start-up; a command that needs one imports it through
:func:`require`, which turns its absence into one line that names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import LedgerError

EXTRAS = {
    "mlflow": ("mlflow", "MLflow's client"),
    "datasette": ("serve", "Datasette"),
}


class MissingExtra(LedgerError):
    """An optional package a command needs is not installed."""


def require(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"mlflow.tracking"``), or raise :class:`MissingExtra`."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the package is there but broken: show the real problem
        extra, what = EXTRAS.get(top, (top, top))
        raise MissingExtra(f"this needs {what}, which is not installed: pip install 'ledger[{extra}]'") from None
