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
from pathlib import Path
from typing import Any

from ledger.errors import LedgerError
from ledger.model import Run, RunInput
from ledger.records import Records
from ledger.store import Ledger

from . import config as config_mod
from .config import Config
from .data import Dataset, Record
from .providers import Cancelled
from .stages import Batch, Context
from .taxonomy import Taxonomy

Progress = Callable[[int, int, str], None]
POSITIVE = "wrong"
STAGES = ("filter", "enrich", "retrieve", "rerank", "decide")

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


def enabled_stages(cfg: Config) -> list[str]:
    return [s for s in STAGES if s == "decide" or getattr(cfg, s).enabled]


def load_inputs(cfg: Config, dataset: Path | None = None) -> tuple[Taxonomy, Dataset]:
    """The taxonomy and the data set a config names (``dataset`` overrides the config's path)."""
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
    return tax, _generated(tax, cfg.dataset.population, cfg.dataset.data_seed, generate)


_GENERATED: dict[tuple[int, str, int, int], Dataset] = {}


def _generated(tax: Taxonomy, n: int, seed: int, generate: Callable[..., Dataset]) -> Dataset:
    key = (id(tax), tax.digest, n, seed)
    found = _GENERATED.get(key)
    if found is None:
        found = _GENERATED[key] = generate(tax, n, seed)
    return found


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
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Run]:
    """Run ``config_path`` ``repeat`` times (seeds ``seed``, ``seed + 1``, ...); one run each."""
    cfg = config_mod.load(Path(config_path))
    if provider:
        from .providers import PROVIDERS

        if provider not in PROVIDERS:
            raise LedgerError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        cfg.provider.name = provider
    if repeat < 1:
        raise LedgerError(f"--repeat must be at least 1, got {repeat}")
    if sample is not None and sample < 1:
        raise LedgerError(f"--sample must be at least 1, got {sample}")
    if parent is not None and not ledger.exists(parent):
        raise LedgerError(f"parent run {parent} is not in the ledger; `ledger ls` lists the runs")
    n = sample if sample is not None else cfg.run.sample
    base_seed = seed if seed is not None else cfg.run.seed
    runs: list[Run] = []
    try:
        tax, data = load_inputs(cfg, dataset)
    except LedgerError as exc:
        runs.append(_append_failed(ledger, cfg, Path(config_path), hypothesis, parent, exc, n, base_seed))
        raise
    total = (min(n, len(data.records)) if n else len(data.records)) * repeat
    done_before = 0
    for r in range(repeat):
        run = _one_run(
            ledger, cfg, Path(config_path), tax, data, hypothesis=hypothesis, sample=n,
            seed=base_seed + r, repeat_index=r, repeat=repeat, parent=parent, key=key,
            progress=progress, cancel=cancel, done_before=done_before, total=total,
        )
        runs.append(run)
        done_before += run.record_count
        if run.status != "ok":
            break
    return runs


def _append_failed(ledger: Ledger, cfg: Config, path: Path, hypothesis: str, parent: int | None,
                   exc: BaseException, n: int | None, seed: int) -> Run:
    return ledger.append(RunInput(
        experiment=cfg.run.experiment, hypothesis=hypothesis, notes=f"config {path.name}",
        params=cfg.to_params(), parent=parent, status="failed", error=_error_text(exc),
        dataset={"sample_size": n or 0, "seed": seed}, positive_label=POSITIVE,
    ))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, LedgerError):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _one_run(
    ledger: Ledger, cfg: Config, path: Path, tax: Taxonomy, data: Dataset, *, hypothesis: str,
    sample: int | None, seed: int, repeat_index: int, repeat: int, parent: int | None,
    key: str | None, progress: Progress | None, cancel: threading.Event | None,
    done_before: int, total: int,
) -> Run:
    from ledger.envinfo import code_version

    from .data import sample as draw
    from .prices import PRICES_VERSION, price, price_table
    from .prompts import CLASSIFY, PROMPTS
    from .providers import make_provider

    stages = enabled_stages(cfg)
    records = draw(data, sample, seed)
    pname = cfg.provider.name
    models = {s: resolve_model(pname, getattr(cfg, s).model) for s in ("filter", "enrich", "rerank")}
    params = cfg.to_params()
    params["run"].update({"sample": len(records), "seed": seed, "repeat_index": repeat_index,
                          "repeat": repeat})
    params["resolved_models"] = {s: models[s] for s in stages if s in models}
    params["prices_version"] = PRICES_VERSION
    prompts: dict[str, str] = {}
    for s in ("filter", "enrich"):
        if s in stages:
            prompts[s] = PROMPTS[s][getattr(cfg, s).prompt].text()
    if "rerank" in stages:
        prompts["rerank"] = (CLASSIFY if cfg.rerank.candidates == "chapter"
                             else PROMPTS["rerank"][cfg.rerank.prompt]).text()
    batches: list[Batch] = []
    started = time.perf_counter()
    status, error = "ok", None
    interrupted: BaseException | None = None
    ctx: Context | None = None
    index_info: dict[str, Any] = {}
    try:
        table = price_table(cfg.prices)
        used_models = [models[s] for s in stages if s in models]
        if "retrieve" in stages:
            used_models.append(cfg.retrieve.embedding_model if cfg.retrieve.embedder == "openai"
                               else "hashed")
        for m in used_models:  # an unknown model is an error before any work
            price(table, m)
        cache_path = Path(cfg.provider.cache_path).expanduser() if cfg.provider.cache_path else None
        if cache_path is None and pname != "offline" and cfg.provider.cache:
            cache_path = _default_cache_dir() / "responses.jsonl"
        prov = make_provider(
            pname, taxonomy=tax, seed=seed, key=key, base_url=cfg.provider.base_url or None,
            concurrency=cfg.provider.concurrency, max_retries=cfg.provider.max_retries,
            backoff_s=cfg.provider.backoff_s, timeout_s=cfg.provider.timeout_s,
            cache=cfg.provider.cache, cache_path=cache_path,
        )
        ctx = Context(cfg, tax, prov, table, models, cancel=cancel)
        if "retrieve" in stages:
            from .stages.retrieve import retriever_for

            if progress:
                progress(done_before, total, "building the taxonomy index")
            t = time.perf_counter()
            ctx.retriever, built = retriever_for(tax, cfg.retrieve, prov)
            index_info = {"index_build_s": ctx.retriever.build_s if built else 0.0,
                          "index_reused": not built, "index_wait_s": time.perf_counter() - t}
        modules = _stage_modules(stages)
        started = time.perf_counter()  # the one-time index build is timed apart (index_build_s)
        chunk = max(1, cfg.run.chunk)
        done = 0
        for lo in range(0, len(records), chunk):
            ctx.check()
            batch = Batch(records[lo:lo + chunk], tax)
            for name, module in modules:
                ctx.check()
                if progress:
                    progress(done_before + done, total, f"{name} · records {lo + 1}-{lo + batch.n}")
                module.run(ctx, batch)
            batches.append(batch)
            done += batch.n
            if progress:
                progress(done_before + done, total, "done" if done == len(records) else "next chunk")
    except Cancelled:
        status, error = "cancelled", "cancelled by the user"
    except KeyboardInterrupt as exc:
        status, error, interrupted = "cancelled", "cancelled by the user (KeyboardInterrupt)", exc
    except Exception as exc:  # recorded as a failed run, then raised
        status, error, interrupted = "failed", _error_text(exc), exc
    wall = time.perf_counter() - started
    finished = sum(b.n for b in batches)
    recs = _records(batches, stages) if batches else None
    if status != "ok" and error is not None:
        error = f"{error} (after {finished} of {len(records)} records)"
    timing: dict[str, Any] = {"wall_s": wall, "stage_order": stages, **index_info}
    reported: dict[str, float] = {}
    cost: dict[str, Any] = {"billing": "estimated" if pname == "offline" else "billed"}
    if ctx is not None:
        timing["stages"] = {s: ctx.total(s).to_dict() for s in stages}
        reported = _reported(batches, ctx, stages)
        cost.update({
            "model": models.get("rerank") if "rerank" in stages else (
                models["filter"] if "filter" in stages else "hashed"),
            "prices": {m: price(ctx.prices, m) for m in _used(models, stages, cfg)},
            "cache_hits": ctx.provider.stats.cache_hits,
            "calls": ctx.provider.stats.calls,
        })
    caveats = ""
    if pname == "offline":
        caveats = ("offline provider: a deterministic simulation of the LLM stages on generated "
                   "data; cost is estimated from tiktoken counts at the named models' list prices")
    if status != "ok":
        caveats = (caveats + f"; partial: {finished} of {len(records)} records").lstrip("; ")
    run = ledger.append(RunInput(
        experiment=cfg.run.experiment,
        variant=path.stem,  # the config names the variant (what was changed)
        hypothesis=hypothesis,
        notes=f"config {path.name}" + (f" ({cfg.run.name})" if cfg.run.name else ""),
        caveats=caveats,
        params=params,
        prompts=prompts,
        code=code_version(),
        dataset={"name": data.name, "digest": data.digest, "sample_size": len(records),
                 "seed": seed, "population": len(data.records)},
        records=recs,
        positive_label=POSITIVE,
        parent=parent,
        status=status,
        error=error,
        cost=cost,
        timing=timing,
        reported_metrics=reported,
    ))
    if interrupted is not None:
        if isinstance(interrupted, KeyboardInterrupt):
            raise interrupted
        if isinstance(interrupted, LedgerError):
            raise LedgerError(f"run {run.id} failed: {interrupted}") from interrupted
        raise LedgerError(f"run {run.id} failed: {error}") from interrupted
    return run


def _used(models: dict[str, str], stages: list[str], cfg: Config) -> list[str]:
    out = [models[s] for s in stages if s in models]
    if "retrieve" in stages:
        out.append(cfg.retrieve.embedding_model if cfg.retrieve.embedder == "openai" else "hashed")
    return list(dict.fromkeys(out))


def _default_cache_dir() -> Path:
    import os

    base = os.environ.get("LEDGER_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "ledger" if base else Path.home() / ".cache" / "ledger"


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
    return Records.from_columns(
        ids, labels, preds, strata=strata,
        numeric={k: v.astype("<f8").tolist() for k, v in numeric.items()},
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
