"""What users type to name runs, resolved against the ledger.

``12`` (a run), ``12,15,17`` and ``12-17`` (several; a range takes the runs that exist in it and is
never expanded in memory), ``v3`` (variant 3's successful runs), a variant's name
(``02_embeddings``), and either of the last two with ``@SET`` to keep the runs on one evaluation set
(``v3@hs-500``). Two variants named side by side are compared on an evaluation set both were run on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import RunNotFound, UsageError

if TYPE_CHECKING:
    from .store import Ledger
    from .variants import Variant

MAX_ID = 2**63 - 1
_VARIANT = re.compile(r"^v(\d+)$")
_IDS = re.compile(r"^[\d\s,+-]+$")  # ids, lists and ranges; anything else names a variant (01_naive)
_HELP = ("a run id (12), a list (12,15), a range (12-17), a variant (v3) or a variant's name; "
         "`ledger ls` and `ledger ls --variants` list them")


@dataclass(frozen=True)
class Selection:
    """The runs a spec names, and the variant when it named one."""

    spec: str
    run_ids: tuple[int, ...]
    variant: Variant | None = None
    evalset_id: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        if self.variant is not None:
            return self.variant.label
        ids = self.run_ids
        return f"run {ids[0]}" if len(ids) == 1 else f"runs {_span(ids)}"


def _span(ids: tuple[int, ...]) -> str:
    if len(ids) > 2 and ids[-1] - ids[0] == len(ids) - 1:
        return f"{ids[0]}-{ids[-1]}"
    return ",".join(map(str, ids))


def parse_id(text: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise UsageError(f"run id {text!r} is not a number; {_HELP}")
    value = int(text)
    if value < 1:
        raise UsageError(f"run id {value} is not valid; run ids start at 1")
    if value > MAX_ID:
        raise UsageError(f"run id {text} is larger than any run id can be (at most {MAX_ID})")
    return value


def _ids(ledger: Ledger, text: str) -> tuple[int, ...]:
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise UsageError(f"run list {text!r} has an empty item; write e.g. 12,15,17 or 12-17")
        if "-" in part[1:]:
            lo_text, hi_text = part.split("-", 1)
            lo, hi = parse_id(lo_text), parse_id(hi_text)
            if hi < lo:
                raise UsageError(f"run range {part!r} runs backwards; write it as {hi}-{lo}")
            found = [r[0] for r in ledger.conn.execute(
                "SELECT id FROM runs WHERE id BETWEEN ? AND ? AND kind = 'run' ORDER BY id", (lo, hi))]
            if not found:
                raise RunNotFound(f"no runs in {part} ({ledger.describe_ids()}); `ledger ls` lists them")
            ids.extend(found)
        else:
            run_id = parse_id(part)
            if not ledger.exists(run_id):
                ledger.get(run_id)  # raises RunNotFound naming the range of ids
            ids.append(run_id)
    seen: set[int] = set()
    for run_id in ids:
        if run_id in seen:
            raise UsageError(f"run {run_id} is listed twice in {text!r}")
        seen.add(run_id)
    return tuple(ids)


def is_id_spec(text: str) -> bool:
    """Whether ``text`` is written as run ids (``12``, ``12,15``, ``12-17``), not a variant
    (``v3``, ``02_embeddings``: config stems often start with a digit)."""
    return bool(_IDS.match(text.strip()))


def find_variant(ledger: Ledger, text: str) -> Variant | None:
    """The variant ``text`` names (``v3`` or a name), or None when it names none."""
    variants = ledger.variants()
    match = _VARIANT.match(text)
    if match:
        number = int(match.group(1))
        if not 1 <= number <= len(variants):
            span = f"v1 to v{len(variants)}" if variants else "none yet"
            raise UsageError(f"no variant {text} (variants: {span}); `ledger ls --variants` lists them")
        return variants[number - 1]
    named = [v for v in variants if v.name == text]
    if len(named) > 1:
        keys = " or ".join(v.key for v in named)
        raise UsageError(f"{text!r} names {len(named)} variants (their params differ); write {keys}")
    return named[0] if named else None


def resolve(ledger: Ledger, spec: str, *, evalset: str | None = None) -> Selection:
    """The runs ``spec`` names. A variant gives its successful runs (all of them when none
    succeeded), restricted to the evaluation set after ``@`` or given as ``evalset``."""
    text = spec.strip()
    if not text:
        raise UsageError(f"an empty run spec; give {_HELP}")
    if "@" in text:
        text, _, evalset = text.partition("@")
    if is_id_spec(text) or (text[0].isdigit() and find_variant(ledger, text) is None):
        if evalset is not None:
            raise UsageError(f"{spec!r}: @SET applies to a variant (v3@SET); runs are named by id")
        return Selection(spec, _ids(ledger, text))
    variant = find_variant(ledger, text)
    if variant is None:
        raise UsageError(f"{text!r} is neither {_HELP}")
    set_id = ledger.evalset(evalset).id if evalset is not None else None
    runs = ledger.runs(ids=list(variant.run_ids))
    if set_id is not None:
        runs = [r for r in runs if r.evalset_id == set_id]
        if not runs:
            raise UsageError(f"{variant.label} has no run on evaluation set {evalset!r}")
    ok = [r.id for r in runs if r.status == "ok"]
    chosen = tuple(ok) if ok else tuple(r.id for r in runs)
    notes = () if ok else (f"{variant.label} has no successful run: its failed or cancelled runs are used",)
    return Selection(spec, chosen, variant, set_id, notes)


def resolve_pair(ledger: Ledger, a: str, b: str, *, evalset: str | None = None) -> tuple[Selection, Selection]:
    """Resolve two specs for a comparison. When either names a variant, both sides keep the runs on
    one evaluation set they share (the one with the most runs on both sides; then the newest), so
    that they are compared record by record."""
    sa, sb = resolve(ledger, a, evalset=evalset), resolve(ledger, b, evalset=evalset)
    if evalset is not None or (sa.variant is None and sb.variant is None):
        return sa, sb
    runs = {r.id: r for r in ledger.runs(ids=[*sa.run_ids, *sb.run_ids])}
    sets_a = [runs[i].evalset_id for i in sa.run_ids]
    sets_b = [runs[i].evalset_id for i in sb.run_ids]
    shared = set(sets_a) & set(sets_b)
    if not shared:
        note = (f"{sa.label} and {sb.label} share no evaluation set: compared as independent samples "
                "(run both on one set, `ledger run CONFIG --evalset NAME`, to compare record by record)")
        return _with_note(sa, note), _with_note(sb, note)
    best = max(shared, key=lambda s: (min(sets_a.count(s), sets_b.count(s)), -1 if s is None else s))
    if len(set(sets_a) | set(sets_b)) == 1:
        return sa, sb
    name = "(none)" if best is None else ledger.evalset(best).name
    note = f"compared on evaluation set {name!r}, which both sides were run on"
    keep_a = tuple(i for i, s in zip(sa.run_ids, sets_a, strict=True) if s == best)
    keep_b = tuple(i for i, s in zip(sb.run_ids, sets_b, strict=True) if s == best)
    return (Selection(sa.spec, keep_a, sa.variant, best, (*sa.notes, note)),
            Selection(sb.spec, keep_b, sb.variant, best, (*sb.notes, note)))


def _with_note(sel: Selection, note: str) -> Selection:
    return Selection(sel.spec, sel.run_ids, sel.variant, sel.evalset_id, (*sel.notes, note))


def single_run(ledger: Ledger, spec: str, what: str = "run") -> int:
    """The one run ``spec`` names; a variant gives its newest successful run."""
    sel = resolve(ledger, spec)
    if sel.variant is None and len(sel.run_ids) != 1:
        raise UsageError(f"{spec!r} names {len(sel.run_ids)} runs; give one {what}")
    return sel.run_ids[-1]


