"""Run a config on a sample and append the finished run to the ledger.

:func:`run_experiment` is the one entry point (``ledger run`` and the TUI both call it): it loads
the config and data, pushes the sample through the enabled stages in chunks, and appends one run
per repeat with per-record outcomes, per-stage timing, tokens and cost. A cancelled run is
appended as ``cancelled`` (with the records finished so far), an error as ``failed`` (and then
raised as a :class:`~ledger.errors.LedgerError`).
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.errors import LedgerError
from ledger.model import Run, RunInput
from ledger.records import Records
from ledger.store import Ledger

from . import config as config_mod
from .config import Config
from .data import Dataset, Record
from .providers import Cancelled
from .stages import Batch, Context, RecordOutput
from .taxonomy import Taxonomy

if TYPE_CHECKING:
    from ledger.evalsets import EvalSet

Progress = Callable[[int, int, str], None]
Outputs = Callable[[Run, list[RecordOutput]], None]
POSITIVE = "wrong"
CASE_CANDIDATES = 5  # the top candidates kept with each record's output (what `ledger cases` shows)
STAGES = ("filter", "enrich", "retrieve", "rerank", "decide")
MODEL_STAGES = ("filter", "enrich", "rerank")  # the stages that call a model

# A config names models as the offline provider prices them; a real provider of another family
# uses its counterpart of the same tier.
COUNTERPART = {
    "openai": {"claude-haiku-4-5": "gpt-4o-mini", "claude-3-5-haiku-latest": "gpt-4o-mini",
               "claude-sonnet-4-5": "gpt-4o", "claude-opus-4-1": "gpt-4.1"},
    "anthropic": {"gpt-4o-mini": "claude-haiku-4-5", "gpt-4.1-mini": "claude-haiku-4-5",
                  "gpt-4o": "claude-sonnet-4-5", "gpt-4.1": "claude-sonnet-4-5"},
}


def resolve_model(provider: str, model: str) -> str:
    return COUNTERPART.get(provider, {}).get(model, model)


def _calls_a_model(cfg: Config) -> bool:
    return any(getattr(cfg, s).enabled for s in MODEL_STAGES)


def enabled_stages(cfg: Config) -> list[str]:
    return [s for s in STAGES if s == "decide" or getattr(cfg, s).enabled]


def load_inputs(cfg: Config, dataset: Path | None = None) -> tuple[Taxonomy, Dataset]:
    """The taxonomy and the data set a config names (``dataset`` overrides the config's path).
    The generated default makes records only when a run takes them."""
    from .data import generate
    from .taxonomy import hs_taxonomy

    if cfg.dataset.taxonomy:
        from .io import read_taxonomy

        tax = read_taxonomy(Path(cfg.dataset.taxonomy))
    else:
        tax = hs_taxonomy()
    path = dataset or (Path(cfg.dataset.path) if cfg.dataset.path else None)
    if path is not None:
        from .io import read_records

        return tax, read_records(path, tax)
    return tax, generate(tax, cfg.dataset.population, cfg.dataset.data_seed)


def run_experiment(
    ledger: Ledger,
    config_path: Path,
    *,
    hypothesis: str,
    sample: int | None = None,
    seed: int | None = None,
    repeat: int = 1,
    parent: int | None = None,
    provider: str | None = None,
    dataset: Path | None = None,
    key: str | None = None,
    batch: bool = False,
    evalset: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    outputs: Outputs | None = None,
) -> list[Run]:
    """Run ``config_path`` on an evaluation set, ``repeat`` times; one run each.

    The set is ``evalset`` (stored in the ledger), else the sample of ``sample`` records drawn with
    ``seed`` from the config's data, stored as a set on first use (so every config run on the same
    sample is paired with every other). Repeats run the same records again with the pipeline's own
    randomness reseeded (``seed``, ``seed + 1``, ...): they measure run-to-run variance.
    ``batch`` submits the LLM stages through the provider's batch API; ``outputs(run, rows)`` is
    called after each run is appended, with what the pipeline said about each of its records.
    """
    cfg = config_mod.load(Path(config_path))
    if provider:
        from .providers import PROVIDERS

        if provider not in PROVIDERS:
            raise LedgerError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        cfg.provider.name = provider
    if batch:
        cfg.provider.batch = True
    if cfg.provider.batch and cfg.provider.name == "offline":
        raise LedgerError("--batch submits through a provider's batch API: add --provider "
                          "anthropic or --provider openai (the offline provider has none)")
    if repeat < 1:
        raise LedgerError(f"--repeat must be at least 1, got {repeat}")
    if sample is not None and sample < 1:
        raise LedgerError(f"--sample must be at least 1, got {sample}")
    if parent is not None and not ledger.exists(parent):
        raise LedgerError(f"parent run {parent} is not in the ledger; `ledger ls` lists the runs")
    if evalset is not None and (sample is not None or dataset is not None):
        raise LedgerError("--evalset names the records to run on: leave out --sample and --dataset "
                          "(or leave out --evalset to draw a sample)")
    n = sample if sample is not None else cfg.run.sample
    base_seed = seed if seed is not None else cfg.run.seed
    runs: list[Run] = []
    _preload(cfg)
    code = _CodeVersion()
    try:
        tax, data = load_inputs(cfg, dataset)
        _preload_counts(cfg, tax)
        chosen = _evaluation_set(ledger, data, evalset, n, base_seed)
    except LedgerError as exc:
        runs.append(_append_failed(ledger, cfg, Path(config_path), hypothesis, parent, exc, n, base_seed))
        raise
    total = len(chosen.records) * repeat
    done_before = 0
    try:
        for r in range(repeat):
            run = _one_run(
                ledger, cfg, Path(config_path), tax, data, chosen, hypothesis=hypothesis,
                seed=base_seed + r, repeat_index=r, repeat=repeat, parent=parent, key=key,
                progress=progress, cancel=cancel, done_before=done_before, total=total,
                outputs=outputs, code=code,
            )
            runs.append(run)
            done_before += run.record_count
            if run.status != "ok":
                break
    finally:
        from .tokens import keep_counted

        keep_counted()  # the pieces counted, for the next run (user cache)
    return runs


def _preload(cfg: Config) -> None:
    """Start loading the models the run will need on a thread, while this one reads the
    taxonomy and draws the sample: the token counts of pieces counted in earlier runs, the
    WordLlama tokenizer (numpy's and tokenizers' imports read files; parsing the tokenizer holds
    the GIL for about 0.09 s) and, when nothing was counted before, the tiktoken encoding of the
    offline provider (building it holds the GIL for 0.1-0.15 s; a run whose pieces were counted
    before needs none, and a new piece is counted by the merge written out). The stages ask for
    the same once-per-process objects and wait for them; a failure here is ignored (the stage
    loads again and reports it)."""
    embedder = cfg.retrieve.enabled and cfg.retrieve.embedder == "wordllama"
    counting = cfg.provider.name == "offline" and _calls_a_model(cfg)
    if not (embedder or counting):
        return

    def work() -> None:
        try:
            recalled = 0
            if counting:
                from .tokens import recall_counted

                recalled = recall_counted()
            if embedder:
                from .embed import wordllama

                wordllama(cfg.retrieve.dims)
            if counting and not recalled:
                from .tokens import encoding

                encoding()
        except Exception:
            pass

    threading.Thread(target=work, name="ledger-preload", daemon=True).start()


def _preload_counts(cfg: Config, tax: Taxonomy) -> None:
    """On a thread, the token counts of the taxonomy's candidate lines (from the user cache, else
    counted) for the offline provider's rerank prompts: each line's count is then looked up
    instead of counted (the counts are the same either way; a failure here is ignored). Not a
    daemon (not even when started from `ledger run`'s daemon worker): a process that ends first
    waits for the table to be written (once per cache) instead of dropping it half-built."""
    if not (cfg.rerank.enabled and cfg.provider.name == "offline"):
        return

    def work() -> None:
        try:
            from . import tokens
            from .stages.rerank import listing_context, listing_counts

            tokens.remember(listing_counts(tax, listing_context(cfg.rerank)))
        except Exception:
            pass

    threading.Thread(target=work, name="ledger-preload-counts", daemon=False).start()


@dataclass(frozen=True)
class _Chosen:
    """The records a run evaluates and the stored evaluation set they are."""

    name: str
    records: list[Record]
    seed: int | None  # the sample's seed (None: a set named by the user)


def _evaluation_set(ledger: Ledger, data: Dataset, name: str | None, n: int | None, seed: int) -> _Chosen:
    from .data import sample_indices
    from .evalsets import to_eval_records

    if name is not None:
        stored = ledger.evalset(name)
        return _Chosen(stored.name, _records_of(ledger, stored), None)
    indices = sample_indices(data.size, n, seed)
    whole = len(indices) == data.size
    set_name = f"{data.name}-all" if whole else f"{data.name}-n{len(indices)}-seed{seed}"
    source = {"dataset": data.name, "dataset_digest": data.digest, "population": data.size,
              "sample": None if whole else len(indices), "seed": None if whole else seed}
    drawn = _stored_set(ledger, set_name, source)
    if drawn is not None:  # drawn before from the same data: read back, not drawn and stored again
        return _Chosen(set_name, drawn, None if whole else seed)
    records = data.take(indices)
    description = (f"all {data.size:,} records of {data.name}" if whole else
                   f"{len(indices):,} of the {data.size:,} records of {data.name}, drawn with seed {seed}")
    ledger.add_evalset(set_name, to_eval_records(records), description=description, source=source)
    return _Chosen(set_name, records, None if whole else seed)


def _stored_set(ledger: Ledger, name: str, source: dict[str, Any]) -> list[Record] | None:
    """The records of the stored set ``name`` when it was drawn from the same data (the dataset's
    digest, population, sample size and seed in its source), checked against its digest."""
    from ledger.errors import UsageError

    try:
        stored = ledger.evalset(name)
    except UsageError:
        return None
    if any(stored.source.get(key) != value for key, value in source.items()):
        return None  # another draw under this name: storing it again says so
    return _records_of(ledger, stored)


def _records_of(ledger: Ledger, stored: EvalSet) -> list[Record]:
    """A stored set's declarations, its columns checked against its digest first."""
    from .evalsets import from_eval_records

    return from_eval_records(ledger.evalset_records(stored.id, digest=stored.digest))


def _append_failed(ledger: Ledger, cfg: Config, path: Path, hypothesis: str, parent: int | None,
                   exc: BaseException, n: int | None, seed: int) -> Run:
    params = cfg.to_params()
    for key in ("sample", "seed"):
        params["run"].pop(key, None)
    return ledger.append(RunInput(
        experiment=cfg.run.experiment, hypothesis=hypothesis, notes=f"config {path.name}",
        variant=path.stem, variant_exclude=EXECUTION_PARAMS, params=params, parent=parent,
        status="failed", error=_error_text(exc), dataset={"sample_size": n or 0, "seed": seed},
        positive_label=POSITIVE,
    ))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, LedgerError):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _one_run(
    ledger: Ledger, cfg: Config, path: Path, tax: Taxonomy, data: Dataset, chosen: _Chosen, *,
    hypothesis: str, seed: int, repeat_index: int, repeat: int, parent: int | None,
    key: str | None, progress: Progress | None, cancel: threading.Event | None,
    done_before: int, total: int, outputs: Outputs | None, code: _CodeVersion,
) -> Run:
    stages = enabled_stages(cfg)
    records = chosen.records
    pname = cfg.provider.name
    models = {s: resolve_model(pname, getattr(cfg, s).model) for s in MODEL_STAGES}
    params = _params(cfg, stages, models)
    batches: list[Batch] = []
    started = time.perf_counter()
    status, error = "ok", None
    interrupted: BaseException | None = None
    ctx: Context | None = None
    try:
        ctx = _context(cfg, tax, stages, models, seed, key, cancel)
        if "retrieve" in stages:
            # Stored with the stage's totals: the one-time cost of having the index at hand.
            ctx.total("retrieve").extra.update(_attach_retriever(ctx, progress, done_before, total))
            params["resolved_embedder"] = _embedder_params(ctx)
        started = time.perf_counter()  # the one-time index build is timed apart (index_build_s)
        _push(ctx, records, stages, batches, progress, done_before, total)
    except Cancelled:
        status, error = "cancelled", "cancelled by the user"
    except KeyboardInterrupt as exc:
        status, error, interrupted = "cancelled", "cancelled by the user (KeyboardInterrupt)", exc
    except Exception as exc:  # recorded as a failed run, then raised
        status, error, interrupted = "failed", _error_text(exc), exc
    wall = time.perf_counter() - started
    run = ledger.append(_run_input(
        cfg, path, data, chosen, ctx, batches, stages, models, hypothesis=hypothesis, params=params,
        replicate={"index": repeat_index, "of": repeat, "seed": seed}, parent=parent,
        status=status, error=error, wall=wall, code=code.get()))
    if outputs is not None:
        outputs(run, [o for b in batches for o in b.outputs()])
    if interrupted is not None:
        if isinstance(interrupted, KeyboardInterrupt):
            raise interrupted
        if isinstance(interrupted, LedgerError):
            raise LedgerError(f"run {run.id} failed: {interrupted}") from interrupted
        raise LedgerError(f"run {run.id} failed: {run.error}") from interrupted
    return run


# Execution knobs: how a run is carried out, not what it does to the records (never a new variant).
EXECUTION_PARAMS = ["run.chunk", "run.name", "provider.concurrency", "provider.max_retries",
                    "provider.timeout_s", "provider.cache", "provider.cache_path",
                    "provider.requests_per_minute", "provider.tokens_per_minute",
                    "provider.batch_poll_s", "provider.base_url"]


def _run_input(
    cfg: Config, path: Path, data: Dataset, chosen: _Chosen, ctx: Context | None,
    batches: list[Batch], stages: list[str], models: dict[str, str], *, hypothesis: str,
    params: dict[str, Any], replicate: dict[str, Any], parent: int | None, status: str,
    error: str | None, wall: float, code: dict[str, Any] | None,
) -> RunInput:
    """The run as the ledger takes it: whatever finished, with its timing, cost and caveats."""
    n = len(chosen.records)
    pname = cfg.provider.name
    finished = sum(b.n for b in batches)
    if status != "ok" and error is not None:
        error = f"{error} (after {finished} of {n} records)"
    timing: dict[str, Any] = {"wall_s": wall, "stage_order": stages}
    reported: dict[str, float] = {}
    cost: dict[str, Any] = {"billing": "estimated" if pname == "offline" else "billed"}
    if ctx is not None:
        timing["stages"] = {s: ctx.total(s).to_dict() for s in stages}
        reported = _reported(batches, ctx, stages)
        cost.update(_cost_info(ctx, cfg, models, stages))
    caveats = ""
    if pname == "offline":
        caveats = ("offline provider: a deterministic simulation of the LLM stages on generated "
                   "data; cost is estimated from tiktoken counts at the named models' list prices")
    if status != "ok":
        caveats = (caveats + f"; partial: {finished} of {n} records").lstrip("; ")
    return RunInput(
        experiment=cfg.run.experiment,
        variant=path.stem,  # the config names the variant (what was changed)
        variant_exclude=EXECUTION_PARAMS,
        evalset=chosen.name,
        replicate=replicate,
        hypothesis=hypothesis,
        notes=f"config {path.name}" + (f" ({cfg.run.name})" if cfg.run.name else ""),
        caveats=caveats,
        params=params,
        prompts=_prompts(cfg, stages),
        code=code,
        dataset={"name": data.name, "digest": data.digest, "sample_size": n,
                 "seed": chosen.seed, "population": data.size},
        records=_records(batches, stages) if batches else None,
        positive_label=POSITIVE,
        parent=parent,
        status=status,
        error=error,
        cost=cost,
        timing=timing,
        reported_metrics=reported,
    )


class _CodeVersion:
    """The code version (three git processes) and the environment (package metadata), found on
    a thread while the run works (50-100 ms a run otherwise spent waiting at the append)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: dict[str, Any] | None = None
        threading.Thread(target=self._find, name="ledger-code-version", daemon=True).start()

    def _find(self) -> None:
        from ledger.envinfo import code_version, environment

        try:
            environment()  # cached for the append
            self._value = code_version()
        except Exception:  # as if outside a checkout; the append reads the environment again
            self._value = None
        finally:
            self._done.set()

    def get(self) -> dict[str, Any] | None:
        self._done.wait()
        return self._value


def _params(cfg: Config, stages: list[str], models: dict[str, str]) -> dict[str, Any]:
    """What the run does, as it was configured: the sample and the seeds are the evaluation set's
    and the repeat's (stored with them), never a change to the pipeline."""
    from .prices import PRICES_VERSION

    params = cfg.to_params()
    for key in ("sample", "seed"):
        params["run"].pop(key, None)
    params["resolved_models"] = {s: models[s] for s in stages if s in models}
    params["prices_version"] = PRICES_VERSION
    return params


def _prompts(cfg: Config, stages: list[str]) -> dict[str, str]:
    from .prompts import CLASSIFY, PROMPTS

    prompts: dict[str, str] = {}
    for s in ("filter", "enrich"):
        if s in stages:
            prompts[s] = PROMPTS[s][getattr(cfg, s).prompt].text()
    if "rerank" in stages:
        prompts["rerank"] = (CLASSIFY if cfg.rerank.candidates == "chapter"
                             else PROMPTS["rerank"][cfg.rerank.prompt]).text()
    return prompts


def _context(cfg: Config, tax: Taxonomy, stages: list[str], models: dict[str, str], seed: int,
             key: str | None, cancel: threading.Event | None) -> Context:
    """The provider (and the prices) a run calls; an unknown model is an error before any work."""
    from .cache import cache_dir
    from .prices import price, price_table
    from .providers import make_provider

    table = price_table(cfg.prices)
    for m in _used(models, stages, cfg):
        price(table, m)
    p = cfg.provider
    cache_path = Path(p.cache_path).expanduser() if p.cache_path else None
    if cache_path is None and p.name != "offline" and p.cache:
        cache_path = cache_dir() / "responses.jsonl"
    prov = make_provider(
        p.name, taxonomy=tax, seed=seed, key=key, base_url=p.base_url or None,
        concurrency=p.concurrency, max_retries=p.max_retries, timeout_s=p.timeout_s,
        requests_per_minute=p.requests_per_minute, tokens_per_minute=p.tokens_per_minute,
        batch=p.batch, batch_poll_s=p.batch_poll_s, cache=p.cache, cache_path=cache_path,
    )
    return Context(cfg, tax, prov, table, models, cancel=cancel)


def _attach_retriever(ctx: Context, progress: Progress | None, done_before: int,
                      total: int) -> dict[str, Any]:
    """The retrieval index (from the disk cache, else built); its timing for the run."""
    from .stages.retrieve import retriever_for

    if progress:
        progress(done_before, total, "loading the taxonomy index")
    t = time.perf_counter()
    ctx.retriever, assembled = retriever_for(ctx.taxonomy, ctx.config.retrieve, ctx.provider)
    seconds = time.perf_counter() - t
    info: dict[str, Any] = {"index_build_s": seconds, "index_reused": not assembled}
    if assembled:
        info.update(ctx.retriever.timing())
    return info


def _embedder_params(ctx: Context) -> dict[str, Any]:
    r = ctx.retriever
    assert r is not None
    identity = r.embedder.model_name() if r.embedder is not None else ctx.config.retrieve.embedding_model
    return {"name": ctx.config.retrieve.embedder, "model": identity,
            "dims": int(r.vectors.shape[1]), "search": ctx.config.retrieve.search}


def _push(ctx: Context, records: list[Record], stages: list[str], batches: list[Batch],
          progress: Progress | None, done_before: int, total: int) -> None:
    """The records through the stages, a chunk at a time (one chunk in batch mode: a stage's
    requests go to the batch API together)."""
    modules = _stage_modules(stages)
    chunk = _chunk_size(ctx.config, len(records))
    done = 0
    for lo in range(0, len(records), chunk):
        ctx.check()
        batch = Batch(records[lo:lo + chunk], ctx.taxonomy)
        for name, module in modules:
            ctx.check()
            if progress:
                progress(done_before + done, total, f"{name} · records {lo + 1}-{lo + batch.n}")
                ctx.provider.progress = lambda d, t, m, name=name, done=done: progress(
                    done_before + done, total, f"{name} · {m} · {d}/{t} answered")
            module.run(ctx, batch)
        batches.append(batch)
        done += batch.n
        if progress:
            progress(done_before + done, total, "done" if done == len(records) else "next chunk")


def _chunk_size(cfg: Config, n: int) -> int:
    if cfg.provider.batch:
        return max(1, n)  # one batch per stage
    if cfg.run.chunk:
        return cfg.run.chunk
    if not _calls_a_model(cfg):
        return 1000  # no model call: larger blocks search faster (the answers are the same)
    return 200 if cfg.provider.name == "offline" else max(200, 50 * cfg.provider.concurrency)


def _cost_info(ctx: Context, cfg: Config, models: dict[str, str],
               stages: list[str]) -> dict[str, Any]:
    from .prices import price

    stats = ctx.provider.stats
    prices = {m: price(ctx.prices, m) for m in _used(models, stages, cfg)}
    if cfg.provider.batch:
        # The batch APIs bill the LLM calls at a discount: the prices a run was billed at, with
        # the discount named (a request the batch failed to answer was re-sent at list price).
        from .providers.base import BATCH_PRICE_FACTOR

        for s in stages:
            if s in models:
                listed = price(ctx.prices, models[s])
                prices[models[s]] = {"input": listed["input"] * BATCH_PRICE_FACTOR,
                                     "output": listed["output"] * BATCH_PRICE_FACTOR,
                                     "batch_discount": 1.0 - BATCH_PRICE_FACTOR,
                                     "batch_calls": stats.batch_calls}
    return {
        "model": models.get("rerank") if "rerank" in stages else (
            models["filter"] if "filter" in stages else _embedder_model(cfg)),
        "prices": prices,
        "cache_hits": stats.cache_hits,
        "calls": stats.calls,
    }


def _embedder_model(cfg: Config) -> str:
    return cfg.retrieve.embedding_model if cfg.retrieve.embedder == "openai" else cfg.retrieve.embedder


def _used(models: dict[str, str], stages: list[str], cfg: Config) -> list[str]:
    out = [models[s] for s in stages if s in models]
    if "retrieve" in stages:
        out.append(_embedder_model(cfg))
    return list(dict.fromkeys(out))


def _stage_modules(stages: list[str]) -> list[tuple[str, Any]]:
    from .stages import decide, enrich, rerank, retrieve
    from .stages import filter as filter_stage

    table = {"filter": filter_stage, "enrich": enrich, "retrieve": retrieve, "rerank": rerank,
             "decide": decide}
    return [(s, table[s]) for s in stages]


def _records(batches: list[Batch], stages: list[str]) -> Records:
    import numpy as np

    ids: list[str] = []
    labels: list[str] = []
    preds: list[str] = []
    strata: list[str] = []
    names: set[str] = set()
    for b in batches:
        names.update(b.cols)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in sorted(names)}
    flags: list[np.ndarray] = []
    for b in batches:
        for r, flagged in zip(b.records, b.flagged, strict=True):
            ids.append(r.id)
            labels.append("wrong" if r.wrong else "ok")
            preds.append("wrong" if flagged else "ok")
            strata.append(r.declared[:2])
        for name in columns:
            columns[name].append(b.cols.get(name, np.full(b.n, np.nan)))
        flags.append(b.flag)
    numeric: dict[str, np.ndarray] = {n: np.concatenate(v) for n, v in columns.items()}
    numeric["scores.flag"] = np.concatenate(flags)
    for total, field in (("cost_usd", "cost_usd"), ("input_tokens", "input_tokens"),
                         ("output_tokens", "output_tokens"), ("latency_ms", "latency_ms")):
        parts = [numeric[f"stages.{s}.{field}"] for s in stages if f"stages.{s}.{field}" in numeric]
        if parts:
            numeric[total] = np.nansum(np.vstack(parts), axis=0)
    said = [o for b in batches for o in b.outputs()]
    return Records.from_columns(
        ids, labels, preds, strata=strata,
        numeric={k: v.astype("<f8").tolist() for k, v in numeric.items()},
        outputs={"code": [o.code for o in said],
                 "candidates": [list(o.candidates[:CASE_CANDIDATES]) for o in said],
                 "rationale": [o.rationale or None for o in said]},
    )


def _reported(batches: list[Batch], ctx: Context, stages: list[str]) -> dict[str, float]:
    import numpy as np

    out: dict[str, float] = {"parse_errors": float(ctx.parse_errors)}
    if not batches:
        return out

    def cat(name: str) -> np.ndarray:
        return np.concatenate([b.cols.get(name, np.full(b.n, np.nan)) for b in batches])

    if "filter" in stages:
        out["filter_pass_rate"] = float(np.nanmean(cat("stages.filter.passed")))
    if "retrieve" in stages:
        ok = cat("stages.retrieve.ok")
        if np.any(~np.isnan(ok)):
            out[f"recall_at_{ctx.config.retrieve.top_k}"] = float(np.nanmean(ok))
    if "rerank" in stages:
        ok = cat("stages.rerank.ok")
        if np.any(~np.isnan(ok)):
            out["rerank_accuracy"] = float(np.nanmean(ok))
    proposals = [
        int(b.chosen[i]) == int(b.truth[i])
        for b in batches for i in range(b.n) if b.flagged[i] and b.records[i].wrong
    ]
    if proposals:
        out["proposal_accuracy"] = sum(proposals) / len(proposals)
    return {k: v for k, v in out.items() if not math.isnan(v)}


__all__ = ["Record", "enabled_stages", "load_inputs", "run_experiment"]
