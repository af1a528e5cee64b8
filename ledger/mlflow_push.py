"""``ledger push``: mirror ledger runs into an MLflow tracking server, idempotently.

Every MLflow run made by a push carries the ledger run's uid (tag ``ledger.uid``, set when the
MLflow run is created) and, once everything about it has been logged, ``ledger.push_complete``.
A push first lists the runs already on the server: a complete one is left alone (unless a decision
or analysis about it was appended since), an incomplete one (a push killed half-way) is logged
again into the same MLflow run (params, metrics and artifacts are written idempotently), and a
missing one is created. So a push run twice, or killed and re-run, ends with each run once.

What was pushed where is appended to the ledger: one ``push`` row per experiment, whose refs are
the runs pushed and whose body names the target, the MLflow experiment and each MLflow run id.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import mlflow_map as M
from .errors import LedgerError
from .model import Run, RunInput

if TYPE_CHECKING:
    from .store import Ledger

# MLflow's log_batch limits per request.
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
ATTACHED_KINDS = ("decision", "analysis", "correction")


@dataclass(frozen=True)
class Pushed:
    """One ledger run and the MLflow run that mirrors it."""

    run_id: int
    experiment: str
    mlflow_run_id: str
    action: str  # "created", "completed" (an interrupted push finished), "updated" (new rows), "present"


@dataclass(frozen=True)
class PushReport:
    target: str
    chain_head: str
    runs: tuple[Pushed, ...]
    push_rows: tuple[int, ...] = field(default_factory=tuple)

    @property
    def sent(self) -> list[Pushed]:
        return [p for p in self.runs if p.action != "present"]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "chain_head": self.chain_head, "push_rows": list(self.push_rows),
                "runs": [p.__dict__ for p in self.runs]}


@dataclass(frozen=True)
class _Existing:
    mlflow_run_id: str
    complete: bool
    rows: str


def safe_uri(uri: str) -> str:
    """The tracking URI without any user:password part (it is stored and printed)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(uri: str) -> Any:
    """An ``MlflowClient`` for ``uri``; an unreachable HTTP server is one clear error, not minutes
    of retries."""
    from .extras import require

    if not isinstance(uri, str) or not uri.strip():
        raise LedgerError("--to is empty; give a tracking URI such as http://127.0.0.1:5000")
    if uri.startswith(("http://", "https://")):
        _check_reachable(uri)
    tracking = require("mlflow.tracking")
    return tracking.MlflowClient(tracking_uri=uri)


def _check_reachable(uri: str) -> None:
    import urllib.error
    import urllib.request

    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError:
        return  # it answers: an MLflow behind a proxy may not expose /health
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LedgerError(f"cannot reach an MLflow server at {safe_uri(uri)} ({reason}); start one "
                          "(`mlflow server`) or check the URI") from None


_CLIENT_MODULES = frozenset(("mlflow", "requests", "urllib3"))


@contextmanager
def mlflow_errors(uri: str) -> Iterator[None]:
    """MLflow's own exceptions (and the HTTP library's) as one line naming the server."""
    try:
        yield
    except LedgerError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in _CLIENT_MODULES and not isinstance(exc, OSError):
            raise  # not MLflow's: a bug, shown as one
        message = M.clip(" ".join(str(exc).split()), 300)
        raise LedgerError(f"MLflow at {safe_uri(uri)} failed: {type(exc).__name__}: {message}") from None


def experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return str(client.create_experiment(name, tags={"ledger.experiment": name}))
    if found.lifecycle_stage != "active":
        raise LedgerError(f"MLflow experiment {name!r} is deleted on the server; restore it "
                          f"(`mlflow experiments restore --experiment-id {found.experiment_id}`) and push again")
    return str(found.experiment_id)


def existing_runs(client: Any, experiment_ids: list[str]) -> dict[str, _Existing]:
    """uid -> the MLflow run that carries it (active runs of these experiments)."""
    from mlflow.entities import ViewType

    out: dict[str, _Existing] = {}
    token = None
    while experiment_ids:
        page = client.search_runs(experiment_ids, filter_string=f"tags.`{M.TAG_UID}` LIKE '%'",
                                  run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        for r in page:
            tags = r.data.tags
            found = _Existing(r.info.run_id, tags.get(M.TAG_COMPLETE) == "1", tags.get(M.TAG_ROWS, ""))
            known = out.get(tags[M.TAG_UID])
            if known is None or (found.complete and not known.complete):
                out[tags[M.TAG_UID]] = found
        token = page.token
        if not token:
            break
    return out


class _Mapper:
    """Builds the payload of each run, reading the ledger once for what every run shares."""

    def __init__(self, ledger: Ledger) -> None:
        head_id, head_hash = ledger.head()
        first = ledger.conn.execute("SELECT hash FROM runs WHERE id = 1").fetchone()
        self.ledger = ledger
        self.chain_head = f"{head_id}:{head_hash}"
        self.origin = first[0] if first else ""
        self.variant_keys = {v.fingerprint: v.key for v in ledger.variants()}
        self.evalsets = {s.id: s.name for s in ledger.evalsets()}
        self.uids = dict(ledger.conn.execute("SELECT id, uid FROM runs"))
        self.rows: dict[int, list[Run]] = {}
        for kind in ATTACHED_KINDS:
            for row in ledger.runs(kind=kind):
                for ref in row.refs:
                    self.rows.setdefault(ref, []).append(row)

    def rows_tag(self, run: Run) -> str:
        """The decisions and analyses about ``run`` as its ``ledger.rows`` tag says them."""
        return ",".join(str(r.id) for r in sorted(self.rows.get(run.id, []), key=lambda r: r.id))

    def payload(self, run: Run) -> M.Payload:
        rows = sorted(self.rows.get(run.id, []), key=lambda r: r.id)
        ctx = M.Context(
            chain_head=self.chain_head, origin=self.origin,
            variant_key=self.variant_keys.get(run.variant or ""),
            evalset_name=self.evalsets.get(run.evalset_id) if run.evalset_id is not None else None,
            parent_uid=self.uids.get(run.parent_id) if run.parent_id is not None else None,
        )
        artifacts = self._artifacts(run, rows)
        wall = run.timing.get("wall_s")
        end = M.millis(run.created_at)
        start = end - int(wall * 1000) if isinstance(wall, (int, float)) else end
        return M.Payload(
            uid=run.uid, experiment=run.experiment, run_name=M.run_name(run, ctx), start_ms=start,
            end_ms=end, status=M.STATUS_TO_MLFLOW.get(run.status, "FINISHED"),
            params=M.params_of(run), metrics=M.metrics_of(run), tags=M.tags_of(run, ctx, rows),
            artifacts=artifacts,
        )

    def _artifacts(self, run: Run, rows: list[Run]) -> dict[str, str]:
        from .document import run_to_document

        ledger = self.ledger
        prompts = {name: ledger.prompt_text(sha) or "" for name, sha in run.prompts.items()}
        doc = run_to_document(run, None, prompts, uid_of=self.uids.get)
        out = {M.DOCUMENT_PATH: json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)}
        if run.record_count:
            out[M.TABLE_PATH] = M.table_json(M.records_table(ledger.records(run.id)))
        for row in rows:
            out[f"ledger/rows/{row.kind}-{row.id}.json"] = json.dumps(M.row_document(row), ensure_ascii=False, indent=1)
        return out


def send(client: Any, experiment_id: str, payload: M.Payload, existing: _Existing | None) -> str:
    """Log one payload into MLflow (creating its run unless ``existing``); returns the run id."""
    from mlflow.entities import Metric, Param, RunTag

    final = {M.TAG_COMPLETE: "1", M.TAG_ROWS: payload.rows_tag}
    if M.TABLE_PATH in payload.artifacts:
        final[M.TAG_LOGGED_ARTIFACTS] = json.dumps([{"path": M.TABLE_PATH, "type": "table"}])
    first = {k: v for k, v in payload.tags.items() if k not in final}
    if existing is None:
        created = client.create_run(experiment_id, start_time=payload.start_ms, tags=first,
                                    run_name=payload.run_name)
        run_id = str(created.info.run_id)
        tags: list[Any] = []
    else:
        run_id = existing.mlflow_run_id
        tags = [RunTag(k, v) for k, v in first.items()]
    metrics = [Metric(k, v, payload.end_ms, 0) for k, v in payload.metrics.items()]
    params = [Param(k, v) for k, v in payload.params.items()]
    while metrics or params or tags:
        client.log_batch(run_id, metrics=metrics[:_BATCH_METRICS], params=params[:_BATCH_PARAMS],
                         tags=tags[:_BATCH_TAGS])
        metrics, params, tags = metrics[_BATCH_METRICS:], params[_BATCH_PARAMS:], tags[_BATCH_TAGS:]
    with tempfile.TemporaryDirectory(prefix="ledger-push-") as tmp:
        root = Path(tmp)
        for path, text in payload.artifacts.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        client.log_artifacts(run_id, str(root))
    client.set_terminated(run_id, status=payload.status, end_time=payload.end_ms)
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in final.items()])
    return run_id


_QUIET = {
    # MLflow 3 prints a "View run" link on stdout (after one more request) when a run ends, and
    # a progress bar per artifact download: neither belongs in our output, which may be JSON.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    import os

    before = {name: os.environ.get(name) for name in _QUIET}
    os.environ.update(_QUIET)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def push(
    ledger: Ledger,
    uri: str,
    run_ids: Iterable[int],
    *,
    on_progress: Callable[[int, int, Pushed], None] | None = None,
    jobs: int = 1,
) -> PushReport:
    """Push the runs ``run_ids`` to the MLflow tracking server at ``uri`` (see the module doc),
    ``jobs`` runs at a time (the ledger is read by this thread only; the requests overlap)."""
    if jobs < 1:
        raise LedgerError(f"--jobs {jobs} must be at least 1")
    runs = [r for r in ledger.runs(ids=sorted(set(run_ids))) if r.kind == "run"]
    client = connect(uri)
    mapper = _Mapper(ledger)
    target = safe_uri(uri)
    experiments: dict[str, str] = {}
    done: list[Pushed] = []
    try:
        with quiet_mlflow(), mlflow_errors(uri):
            for name in sorted({r.experiment for r in runs}):
                experiments[name] = experiment_id(client, name)
            existing = existing_runs(client, list(experiments.values()))

            def work(run: Run) -> Callable[[], Pushed]:
                found = existing.get(run.uid)
                if found is not None and found.complete and found.rows == mapper.rows_tag(run):
                    return lambda: Pushed(run.id, run.experiment, found.mlflow_run_id, "present")
                payload = mapper.payload(run)  # the ledger is read here, in the caller's thread
                return lambda: _send_one(client, experiments[run.experiment], payload, run, found)

            for pushed in _overlapped((work(run) for run in runs), jobs):
                done.append(pushed)
                if on_progress is not None:
                    on_progress(len(done), len(runs), pushed)
    finally:
        # Whatever reached the server is recorded, even when the push stops half-way.
        rows = record(ledger, target, mapper.chain_head, done, experiments)
    return PushReport(target, mapper.chain_head, tuple(sorted(done, key=lambda p: p.run_id)), tuple(rows))


def _overlapped(tasks: Iterator[Callable[[], Pushed]], jobs: int) -> Iterator[Pushed]:
    """Results of ``tasks`` as they finish, at most ``jobs`` running (and ``jobs`` more prepared)
    at once; the first failure stops the rest and is raised after the running ones finish."""
    if jobs == 1:
        yield from (task() for task in tasks)
        return
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(jobs) as pool:
        running: set[Future[Pushed]] = set()
        for task in tasks:
            running.add(pool.submit(task))
            if len(running) >= 2 * jobs:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in finished)
        for future in list(running):
            yield future.result()


def _send_one(client: Any, experiment: str, payload: M.Payload, run: Run, found: _Existing | None) -> Pushed:
    mlflow_id = send(client, experiment, payload, found)
    action = "created" if found is None else ("updated" if found.complete else "completed")
    return Pushed(run.id, run.experiment, mlflow_id, action)


def recorded(ledger: Ledger, target: str) -> set[int]:
    """Ids of the runs earlier push rows say were pushed to ``target``."""
    out: set[int] = set()
    for row in ledger.runs(kind="push"):
        if row.body.get("target") == target:
            out.update(int(k) for k in (row.body.get("runs") or {}))
    return out


def record(ledger: Ledger, target: str, chain_head: str, done: list[Pushed],
           experiments: dict[str, str]) -> list[int]:
    """Append one push row per experiment for the runs sent now, and for the runs found on the
    server that no push row records yet (an interrupted push sent them)."""
    known = recorded(ledger, target)
    by_experiment: dict[str, list[Pushed]] = {}
    for p in sorted(done, key=lambda p: p.run_id):
        if p.action != "present" or p.run_id not in known:
            by_experiment.setdefault(p.experiment, []).append(p)
    rows: list[int] = []
    for experiment, items in sorted(by_experiment.items()):
        found = [p.run_id for p in items if p.action == "present"]
        body: dict[str, Any] = {
            "target": target, "mlflow_experiment": experiment,
            "mlflow_experiment_id": experiments.get(experiment),
            "runs": {str(p.run_id): p.mlflow_run_id for p in items}, "chain_head": chain_head,
        }
        if found:
            body["found_on_server"] = found
        row = ledger.append(RunInput(
            kind="push", experiment=experiment, refs=[p.run_id for p in items], body=body,
            hypothesis=f"pushed {len(items)} run(s) to {target}",
        ))
        rows.append(row.id)
    return rows
