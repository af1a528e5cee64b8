"""What every screen shares: the one place where a worker's error becomes a visible message.

Workers run with ``exit_on_error=False``: an error in one (a domain error, a file that cannot be
written, a bug) never closes the app. :meth:`LedgerScreen.on_worker_state_changed` turns it into a
:class:`~tui.messages.WorkFailed` message that the screen shows where the user is looking, plus a
notification; the screen stays usable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ledger.errors import LedgerError, os_error_message

from ..messages import WorkFailed

if TYPE_CHECKING:
    from ..app import LedgerApp

ResultType = TypeVar("ResultType")


def describe_error(error: BaseException) -> str:
    """One line for a worker's error: the domain's message, the system's reason for an OSError,
    and for anything else its type (a bug in ledger: the traceback is in the Textual log)."""
    if isinstance(error, LedgerError):
        return str(error)
    if isinstance(error, OSError):
        return os_error_message(error)
    return f"{type(error).__name__}: {error} (unexpected: please report it)"


class LedgerScreen(Screen[ResultType], Generic[ResultType]):
    """A screen whose workers' errors are shown, never fatal."""

    @property
    def ledger_app(self) -> LedgerApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.log.error(f"worker {worker.name!r} failed", worker.error)
            self.post_message(WorkFailed(worker.name or "working", describe_error(worker.error)))

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=8)
        self.show_error(message)

    def show_error(self, message: WorkFailed) -> None:
        """Put the error where this screen's user is looking (the notification is already up)."""
