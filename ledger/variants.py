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
