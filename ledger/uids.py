"""A client uid names one run: when an append's uid is already stored, is it the same run?

A retry (the same document logged again, a pipeline re-sending a run after a lost
acknowledgement) returns the stored run. Different content under a stored uid is an error: it
would otherwise be silently dropped. "Content" is everything the caller gave, as stored: not the
id, the time, the previous row's hash or anything derived from the ledger's state at append time
(the default parent and the diffs against it, the environment the ledger filled in). Metrics are
derived from the records, which are compared through their digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Compared always: what the caller gave (or what follows from it alone).
CONTENT = (
    "kind", "experiment", "refs", "status", "error", "hypothesis", "notes", "caveats", "params",
    "prompts", "code", "dataset", "positive_label", "reported_metrics", "cost", "timing", "body",
    "record_count", "records_digest", "variant", "variant_name", "evalset_id", "replicate",
)


def differences(stored: Mapping[str, Any], new: Mapping[str, Any], *, parent_given: bool,
                environment_given: bool) -> list[str]:
    """The fields in which ``new`` (a row about to be appended) differs from ``stored``."""
    names = list(CONTENT)
    if parent_given:
        names.append("parent_id")
    if environment_given:
        names.append("environment")
    out = []
    for name in names:
        if stored.get(name) == new.get(name):
            continue
        if name == "records_digest":
            a, b = stored.get("record_count"), new.get("record_count")
            out.append(f"records ({a} stored, {b} given)" if a != b else f"records (same {a}, other values)")
        elif name != "record_count":
            out.append(name)
    return out


def conflict_message(uid: str, stored: Mapping[str, Any], diffs: list[str]) -> str:
    return (
        f"uid {uid!r} is already run {stored['id']} (appended {stored['created_at']}), which differs "
        f"in {', '.join(diffs)}; a uid names one run: give this run another uid (or none), or log "
        "exactly the stored run to retry"
    )
