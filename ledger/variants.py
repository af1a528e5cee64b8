"""Variants: what the user changed, fingerprinted and named.

A variant is the fingerprint of a run's experiment, parameters and prompt texts (and, when the run
asks for it, its code version). Runs with the same fingerprint are repeats of one variant: they
measure the pipeline's run-to-run variance and never multiply the sample size. Parameters that
vary between repeats by design are not part of the variant: any parameter whose last dotted part
is ``seed``, ``repeat`` or ``repeat_index``, and the keys a run lists in ``variant.exclude``.

Variants are numbered ``v1``, ``v2``, ... in the order of their first run; since the ledger only
appends, a number never changes. A variant's readable name is the config file's stem (``ledger
run``) or ``variant`` in the run document; its parent is the variant its first run was derived from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REPLICATE_KEYS = frozenset(("seed", "repeat", "repeat_index"))
# Runs appended before variants existed (ledger format 1) kept the pipeline's sample size among
# their params; it names the evaluation sample, not a change to the pipeline.
_LEGACY_KEYS = frozenset(("run.sample",))
_LEGACY_NAME = re.compile(r"^config (\S+?)\.toml\b")


def is_replicate_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in REPLICATE_KEYS


def fingerprint(
    experiment: str,
    params: Mapping[str, Any],
    prompt_hashes: Mapping[str, str],
    *,
    exclude: Iterable[str] = (),
    code: Mapping[str, Any] | None = None,
    legacy: bool = False,
) -> str:
    """The variant id of a run: 16 hex digits of SHA-256 over what defines the variant."""
    import hashlib

    from .hashing import canonical_json

    skip = set(exclude) | (_LEGACY_KEYS if legacy else set())
    kept = {k: v for k, v in params.items()
            if not is_replicate_key(k) and k not in skip and not any(k.startswith(f"{e}.") for e in skip)}
    payload: dict[str, Any] = {"experiment": experiment, "params": kept, "prompts": dict(prompt_hashes)}
    if code:
        payload["code"] = {k: code.get(k) for k in ("commit", "dirty", "patch_sha256")}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:16]


def legacy_name(notes: str) -> str | None:
    """The config stem that ``ledger run`` wrote into the notes of runs before variants existed."""
    match = _LEGACY_NAME.match(notes or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class Variant:
    """One variant: its number (``v3``), fingerprint, name and runs (ids, oldest first)."""

    number: int
    fingerprint: str
    name: str | None
    experiment: str
    run_ids: tuple[int, ...]
    parent: int | None  # the parent variant's number

    @property
    def label(self) -> str:
        """``v3`` or ``v3 02_embeddings``."""
        return f"v{self.number}" + (f" {self.name}" if self.name else "")

    @property
    def key(self) -> str:
        return f"v{self.number}"

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.key, "number": self.number, "fingerprint": self.fingerprint,
                "name": self.name, "experiment": self.experiment, "runs": list(self.run_ids),
                "parent": None if self.parent is None else f"v{self.parent}"}


@dataclass(frozen=True)
class VariantSummary:
    """A variant's successful runs taken together: what ``ledger ls --variants`` shows and what
    the Pareto frontier and the report's headline cards are drawn over. Means are over runs; the
    F1 interval is a t-interval across repeats (run-to-run variance of the pipeline), None with
    fewer than two runs; ``identical`` says every repeat gave the same F1 (no spread to estimate)."""

    variant: Variant
    runs_ok: tuple[int, ...]
    runs_other: int
    evalsets: tuple[int | None, ...]
    records_per_run: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    f1_ci: tuple[float, float] | None
    identical: bool
    cost_per_record_usd: float | None
    time_per_record_s: float | None
    p99_s: float | None
    tokens_per_record: float | None

    @property
    def id(self) -> str:
        return self.variant.key

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.variant.to_dict(), "runs_ok": list(self.runs_ok), "runs_not_ok": self.runs_other,
            "evalsets": list(self.evalsets), "records_per_run": self.records_per_run,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "accuracy": self.accuracy, "f1_ci": None if self.f1_ci is None else list(self.f1_ci),
            "f1_ci_method": "t-interval across repeats (95%)" if self.f1_ci is not None else None,
            "repeats_identical": self.identical, "cost_per_record_usd": self.cost_per_record_usd,
            "time_per_record_s": self.time_per_record_s, "p99_s": self.p99_s,
            "tokens_per_record": self.tokens_per_record,
        }


def _mean(values: Iterable[float | None]) -> float | None:
    nums = [float(v) for v in values if v is not None]
    return sum(nums) / len(nums) if nums else None


def summarize(variant: Variant, runs: Iterable[Any], level: float = 0.95) -> VariantSummary:
    """Summarise ``variant`` over its ``runs`` (the :class:`~ledger.model.Run` objects of
    ``variant.run_ids``; only successful runs count)."""
    import math

    from .stats import t_ppf

    all_runs = list(runs)
    ok = [r for r in all_runs if r.status == "ok"]
    f1s = [float(r.f1) for r in ok if r.f1 is not None]
    ci: tuple[float, float] | None = None
    identical = len(f1s) >= 2 and max(f1s) == min(f1s)
    if len(f1s) >= 2:
        mean = sum(f1s) / len(f1s)
        sd = math.sqrt(sum((x - mean) ** 2 for x in f1s) / (len(f1s) - 1))
        half = t_ppf(0.5 + level / 2, len(f1s) - 1) * sd / math.sqrt(len(f1s))
        ci = (mean - half, mean + half)

    def p99(run: Any) -> float | None:
        value = (run.timing.get("per_record_ms") or {}).get("p99")
        return None if value is None else value / 1000.0

    def tokens(run: Any) -> float | None:
        total = (run.cost.get("input_tokens") or 0) + (run.cost.get("output_tokens") or 0)
        return total / run.sample_size if total and run.sample_size else None

    return VariantSummary(
        variant=variant,
        runs_ok=tuple(r.id for r in ok),
        runs_other=len(all_runs) - len(ok),
        evalsets=tuple(dict.fromkeys(r.evalset_id for r in ok)),
        records_per_run=_mean(r.sample_size for r in ok),
        precision=_mean(r.precision for r in ok),
        recall=_mean(r.recall for r in ok),
        f1=_mean(f1s),
        accuracy=_mean(r.accuracy for r in ok),
        f1_ci=ci,
        identical=identical,
        cost_per_record_usd=_mean(r.cost_per_record_usd for r in ok),
        time_per_record_s=_mean(r.time_per_record_s for r in ok),
        p99_s=_mean(p99(r) for r in ok),
        tokens_per_record=_mean(tokens(r) for r in ok),
    )
