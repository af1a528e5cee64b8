"""The run document: the JSON form of a run that ``ledger log`` reads and ``ledger export
--format json`` writes, so that a ledger round-trips.

A file holds one run object, a list of them, ``{"runs": [...]}``, or (``.jsonl``) one run object
per line. A run object::

    {
      "experiment": "hs-audit",                 # required
      "hypothesis": "hybrid retrieval lifts recall",
      "notes": "...", "caveats": "...",
      "params": {"retrieve": {"top_k": 10}},    # nested or dotted; stored flattened
      "prompts": {"rerank": "You are ..."},     # stored by content hash
      "positive_label": "wrong",                # headline P/R/F1 are this class's
      "parent": 12,                             # or "parent_uid": "...": the run this one changes
      "status": "ok",                           # ok | failed | cancelled
      "error": null,
      "dataset": {"name": "...", "digest": "...", "sample_size": 500, "seed": 7},
      "evalset": "hs-500",                      # the evaluation set the records come from
      "variant": "hybrid-top10",                # or {"name": ..., "exclude": ["run.seed"],
                                                #     "include_code": false}: what was changed
      "replicate": {"index": 0, "of": 3, "seed": 7},  # this repeat of the variant
      "code": {"commit": "...", "dirty": false, "patch_sha256": null},
      "cost": {"model": "...", "prices": {...}, "billing": "estimated", "total_usd": 0.1},
      "timing": {"wall_s": 12.5, "stages": {"retrieve": {"wall_s": 3.1}}},
      "records": [
        {"id": "r1", "label": "ok", "prediction": "wrong",
         "scores": {"flag": 0.91}, "cost_usd": 0.0002, "input_tokens": 310,
         "output_tokens": 12, "latency_ms": 41.0, "stratum": "84",
         "stages": {"filter": {"passed": true}},
         "input": {"text": "mobile phone 128gb"},          # or a string: the input's text
         "output": {"code": "8517.13", "candidates": ["8517.13", "8517.14"],
                    "rationale": "..."}}
      ],
      "metrics": {...},          # optional; with records it must agree with what they give
      "uid": "...",              # optional client id: appending the same uid twice is a no-op
      "corrects": 12             # optional: this row corrects run 12 (kind "correction")
    }

The fields an export adds for readers (``id``, ``hash``, ``prev_hash``, ``params_diff``, ...) are
accepted and ignored: the ledger recomputes them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidRun, LedgerError
from .model import RunInput
from .records import Records

ACCEPTED = frozenset({
    "experiment", "hypothesis", "notes", "caveats", "params", "prompts", "positive_label",
    "parent", "parent_uid", "status", "error", "dataset", "code", "cost", "timing",
    "environment", "records", "metrics", "reported_metrics", "uid", "corrects", "kind", "refs",
    "refs_uids", "body", "created_at", "ledger_format", "evalset", "variant", "replicate",
})
DERIVED = frozenset({
    "id", "hash", "prev_hash", "params_diff", "prompts_diff", "sample_size", "record_count",
    "records_digest", "precision", "recall", "f1", "accuracy", "cost_total_usd",
    "cost_per_record_usd", "time_per_record_s", "parent_id", "prompt_hashes", "variant_number",
    "evalset_digest",
})
HEADLINE = ("accuracy", "precision", "recall", "f1")
_TOO_DEEP = "JSON nested too deeply to read (over ~1,000 levels); a run document is a few levels deep"


_NOT_DOCUMENTS = frozenset((".csv", ".tsv", ".xlsx", ".xls", ".parquet"))


def read_documents(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, run object) for each run in the file; ``where`` names file and line/index."""
    if not path.exists():
        raise LedgerError(f"{path}: no such file")
    if path.suffix.lower() in _NOT_DOCUMENTS:
        raise InvalidRun(f"{path}: `ledger log` reads run documents (JSON or JSONL, as `ledger export -f json` "
                         f"writes them), not {path.suffix.lower()[1:].upper()}; records to evaluate on become an "
                         "evaluation set with `ledger evalset create FILE`")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRun(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); a run document is JSON") from None
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read ({exc.strerror})") from None
    if path.suffix.lower() == ".jsonl" or (not text.lstrip().startswith(("[", "{")) and text.strip()):
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRun(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            except RecursionError:
                raise InvalidRun(f"{path}:{lineno}: {_TOO_DEEP}") from None
            if not isinstance(obj, dict):
                raise InvalidRun(f"{path}:{lineno}: expected a run object, got {type(obj).__name__}")
            yield f"{path}:{lineno}", obj
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRun(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InvalidRun(f"{path}: {_TOO_DEEP}") from None
    if isinstance(data, dict) and "runs" in data and "experiment" not in data:
        data = data["runs"]
    if isinstance(data, dict):
        yield str(path), data
    elif isinstance(data, list):
        if not data:
            raise InvalidRun(f"{path}: the list of runs is empty")
        for index, obj in enumerate(data):
            if not isinstance(obj, dict):
                raise InvalidRun(f"{path}: runs[{index}]: expected a run object, got {type(obj).__name__}")
            yield f"{path}: runs[{index}]", obj
    else:
        raise InvalidRun(f"{path}: expected a run object or a list of them, got {type(data).__name__}")


def read_evalsets(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The evaluation sets a JSON export carries (``{"evalsets": [...], "runs": [...]}``): ``ledger
    log`` stores them before the runs that name them. Other files carry none."""
    if path.suffix.lower() == ".jsonl":
        return []
    try:
        with path.open("rb") as fh:
            if fh.read(1).lstrip() not in (b"{", b""):
                return []
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []  # read_documents reports what is wrong with the file
    sets = data.get("evalsets") if isinstance(data, dict) else None
    if not isinstance(sets, list):
        return []
    out = []
    for index, item in enumerate(sets):
        where = f"{path}: evalsets[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("records"), list):
            raise InvalidRun(f"{where}: an evaluation set needs a name and a list of records")
        out.append((where, item))
    return out


def _str(doc: Mapping[str, Any], key: str, where: str, default: str | None = "") -> Any:
    value = doc.get(key, default)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRun(f"{where}: field '{key}' must be a string, got {type(value).__name__}")


def _obj(doc: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = doc.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise InvalidRun(f"{where}: field '{key}' must be an object, got {type(value).__name__}")


def _int(value: Any, where: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRun(f"{where}: field '{key}' must be a run id (an integer), got {value!r}")
    return value


def to_run_input(doc: Mapping[str, Any], where: str) -> RunInput:
    """Validate one run object and turn it into a :class:`RunInput`.

    ``parent_uid`` / ``refs_uids`` (exports carry them, so that a partial export can be logged into
    another ledger) are resolved to ids when the run is appended, so they may name a run appended
    earlier in the same file.
    """
    unknown = set(doc) - ACCEPTED - DERIVED
    if unknown:
        raise InvalidRun(
            f"{where}: unknown field '{sorted(unknown)[0]}'; see `ledger log --help` for the run document fields"
        )
    experiment = _str(doc, "experiment", where, None)
    if not experiment:
        raise InvalidRun(f"{where}: missing required field 'experiment' (a non-empty string)")
    records = _records(doc.get("records"), where)
    positive = doc.get("positive_label")
    if positive is not None and not isinstance(positive, str):
        if isinstance(positive, int) and not isinstance(positive, bool):
            positive = str(positive)
        else:
            raise InvalidRun(f"{where}: field 'positive_label' must be a string")
    parent = _int(doc.get("parent"), where, "parent")
    parent_uid = _str(doc, "parent_uid", where, None)
    refs_uids = doc.get("refs_uids")
    if refs_uids is not None and (
        not isinstance(refs_uids, list) or not all(isinstance(u, str) for u in refs_uids)
    ):
        raise InvalidRun(f"{where}: field 'refs_uids' must be a list of run uids (strings)")
    kind = _str(doc, "kind", where, "run") or "run"
    refs_raw = doc.get("refs") or []
    if not isinstance(refs_raw, list):
        raise InvalidRun(f"{where}: field 'refs' must be a list of run ids")
    refs = [_int(r, where, "refs") for r in refs_raw]
    corrects = _int(doc.get("corrects"), where, "corrects")
    if corrects is not None:
        kind = "correction"
        refs = [*refs, corrects]
    params = _obj(doc, "params", where) or {}
    prompts = _obj(doc, "prompts", where) or {}
    for name, value in prompts.items():
        if not isinstance(value, str):
            raise InvalidRun(f"{where}: field 'prompts.{name}' must be the prompt's text")
    reported = dict(_obj(doc, "reported_metrics", where) or {})
    metrics = _obj(doc, "metrics", where)
    if metrics is not None:
        if records is not None:
            _check_metrics(metrics, records, positive, where)
        else:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    reported.setdefault(key, value)
    for key, value in reported.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidRun(f"{where}: metric '{key}' must be a finite number, got {value!r}")
    status = _str(doc, "status", where, "ok") or "ok"
    variant, exclude, include_code = _variant(doc.get("variant"), where)
    replicate = _obj(doc, "replicate", where)
    return RunInput(
        experiment=experiment,
        hypothesis=_str(doc, "hypothesis", where) or "",
        notes=_str(doc, "notes", where) or "",
        caveats=_str(doc, "caveats", where) or "",
        params=params,
        prompts=prompts,
        code=_obj(doc, "code", where),
        dataset=_obj(doc, "dataset", where),
        records=records,
        positive_label=positive,
        parent=parent,
        status=status,
        error=_str(doc, "error", where, None),
        cost=_obj(doc, "cost", where),
        timing=_obj(doc, "timing", where),
        environment=_obj(doc, "environment", where),
        reported_metrics=reported,
        kind=kind,
        refs=[r for r in refs if r is not None],
        body=_obj(doc, "body", where) or {},
        uid=_str(doc, "uid", where, None),
        created_at=_str(doc, "created_at", where, None),
        variant=variant,
        variant_exclude=exclude,
        variant_code=include_code,
        evalset=_str(doc, "evalset", where, None),
        replicate=replicate,
        parent_uid=parent_uid,
        refs_uids=list(refs_uids or []),
    )


def _records(raw: Any, where: str) -> Records | None:
    """A document's records: a list of record objects, or the columnar form."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        from .columnar import from_columnar

        return from_columnar(raw, f"{where}: records")
    if not isinstance(raw, list):
        raise InvalidRun(f"{where}: field 'records' must be a list of record objects, or an object of columns")
    return Records.from_rows(raw, where=f"{where}: records") if raw else None


def _variant(value: Any, where: str) -> tuple[str | None, list[str], bool]:
    """``"name"`` or ``{"name": ..., "exclude": [...], "include_code": bool}``."""
    if value is None or isinstance(value, str):
        return value, [], False
    if not isinstance(value, dict):
        raise InvalidRun(f"{where}: field 'variant' must be a name or an object with name, exclude, include_code")
    unknown = set(value) - {"name", "exclude", "include_code", "id", "number", "fingerprint"}
    if unknown:
        raise InvalidRun(f"{where}: variant: unknown field '{sorted(unknown)[0]}' (name, exclude, include_code)")
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidRun(f"{where}: variant.name must be a string")
    exclude = value.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(k, str) for k in exclude):
        raise InvalidRun(f"{where}: variant.exclude must be a list of parameter names")
    include_code = value.get("include_code", False)
    if not isinstance(include_code, bool):
        raise InvalidRun(f"{where}: variant.include_code must be true or false")
    return name, exclude, include_code


def _check_metrics(given: Mapping[str, Any], records: Records, positive: str | None, where: str) -> None:
    from .metrics import classification_metrics

    computed = classification_metrics(records.labels, records.predictions, positive)
    for key in HEADLINE:
        if key in given and given[key] is not None:
            value = given[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidRun(f"{where}: metrics.{key} must be a finite number, got {value!r}")
            if abs(float(value) - computed[key]) > 1e-9:
                raise InvalidRun(
                    f"{where}: metrics.{key} is {value} but the records give {computed[key]:.6g}; "
                    "the ledger computes metrics from records: drop 'metrics' or fix the records"
                )


def run_to_document(run: Any, records: Records | None, prompt_texts: Mapping[str, str], uid_of: Any = None) -> dict[str, Any]:
    """The run document of a stored run (what ``export --format json`` writes)."""
    doc: dict[str, Any] = {
        "ledger_format": 1,
        "id": run.id,
        "uid": run.uid,
        "kind": run.kind,
        "created_at": run.created_at,
        "experiment": run.experiment,
        "hypothesis": run.hypothesis,
        "notes": run.notes,
        "caveats": run.caveats,
        "status": run.status,
        "error": run.error,
        "parent": run.parent_id,
        "refs": run.refs,
        "positive_label": run.positive_label,
        "params": run.params,
        "params_diff": run.params_diff,
        "prompts": dict(prompt_texts),
        "code": run.code,
        "dataset": run.dataset,
        "cost": run.cost,
        "timing": {k: v for k, v in run.timing.items() if k in ("wall_s", "stages", "stage_order")},
        "environment": run.environment,
        "body": run.body,
        "variant": {"name": run.variant_name, "fingerprint": run.variant} if run.kind == "run" else None,
        "replicate": run.replicate,
        "metrics": run.metrics,
        "reported_metrics": run.reported_metrics,
        "sample_size": run.sample_size,
        "hash": run.hash,
        "prev_hash": run.prev_hash,
    }
    if uid_of is not None:
        if run.parent_id is not None:
            doc["parent_uid"] = uid_of(run.parent_id)
        if run.refs:
            doc["refs_uids"] = [uid_of(r) for r in run.refs]
    if records is not None and len(records):
        doc["records"] = records.rows()
    return doc
