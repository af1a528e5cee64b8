"""The embedded default data set: product records generated deterministically from the taxonomy.

There is no public labelled set of customs declarations that installs offline, so the default is
*generated*: for a subheading drawn with chapter frequencies skewed like real trade, write a short,
noisy description the way a shipper would (few words, abbreviations, typos, heading words instead
of the subheading's own), then declare a code. About 5% of declared codes are wrong, mostly a
sibling subheading of the same heading, some far away. The ground truth is kept.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from .taxonomy import Taxonomy, words

GENERATOR_VERSION = "1"
DEFAULT_POPULATION = 20_000
DEFAULT_DATA_SEED = 20_240_601
WRONG_RATE = 0.05
GENERIC = ("goods", "item", "items", "misc", "assorted", "parts", "product", "sample", "stock")
FILLER = ("pcs", "lot", "ctn", "box", "kg", "pkg", "set", "new", "ref", "bulk")


@dataclass(frozen=True)
class Record:
    """One declaration: free text and the declared code, with the true code for evaluation."""

    id: str
    text: str
    declared: str
    truth: str

    @property
    def wrong(self) -> bool:
        return self.declared != self.truth


@dataclass(frozen=True)
class Dataset:
    name: str
    records: list[Record]
    digest: str


def _abbreviate(word: str, rng: random.Random) -> str:
    if len(word) <= 4:
        return word
    cut = rng.randint(3, min(5, len(word) - 1))
    return word[:cut] + ("." if rng.random() < 0.5 else "")


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _describe(tax: Taxonomy, i: int, rng: random.Random) -> str:
    own = list(dict.fromkeys(words(tax.descriptions[i])))
    head = [w for w in dict.fromkeys(words(tax.heading_text.get(tax.headings[i], ""))) if w not in own]
    kind = rng.random()
    picked: list[str]
    if kind < 0.72 and own:  # a normal short description
        k = min(len(own), rng.randint(2, 5))
        idx = sorted(rng.sample(range(len(own)), k))
        picked = [own[j] for j in idx]
        if head and rng.random() < 0.3:
            picked.insert(rng.randrange(len(picked) + 1), rng.choice(head))
    elif kind < 0.88 and (own or head):  # heading words stand in for the subheading's own
        picked = rng.sample(own, min(len(own), rng.randint(1, 3))) if own else []
        if head:
            picked += rng.sample(head, min(len(head), rng.randint(1, 2)))
        rng.shuffle(picked)
    else:  # weak: a generic word or two and maybe one content word
        pool = head or own
        picked = [rng.choice(GENERIC)]
        if pool and rng.random() < 0.7:
            picked.append(rng.choice(pool))
    out: list[str] = []
    for w in picked:
        r = rng.random()
        if r < 0.15:
            w = _abbreviate(w, rng)
        elif r < 0.20:
            w = _typo(w, rng)
        out.append(w.upper() if rng.random() < 0.1 else w)
    if rng.random() < 0.3:
        out.append(f"{rng.choice(FILLER)} {rng.randint(1, 500)}")
    return " ".join(out) if out else rng.choice(GENERIC)


def _wrong_code(tax: Taxonomy, i: int, rng: random.Random) -> str:
    r = rng.random()
    siblings = [j for j in tax.by_heading[tax.headings[i]] if j != i]
    same_chapter = [j for j in tax.by_chapter[tax.chapters[i]] if j != i]
    if r < 0.7 and siblings:
        return tax.codes[rng.choice(siblings)]
    if r < 0.85 and same_chapter:
        return tax.codes[rng.choice(same_chapter)]
    while True:
        j = rng.randrange(len(tax))
        if j != i:
            return tax.codes[j]


def generate(
    tax: Taxonomy, n: int = DEFAULT_POPULATION, seed: int = DEFAULT_DATA_SEED,
    wrong_rate: float = WRONG_RATE,
) -> Dataset:
    """``n`` records; the same (taxonomy, n, seed) always gives the same records."""
    rng = random.Random(seed)
    chapters = sorted(tax.by_chapter)
    order = chapters[:]
    rng.shuffle(order)
    # Zipf-like chapter frequencies (rank r gets 1/r^1.1), mildly skewed subheadings inside.
    chapter_weight = {c: 1.0 / (rank + 1) ** 1.1 for rank, c in enumerate(order)}
    leaf_weights = [0.0] * len(tax)
    for c, members in tax.by_chapter.items():
        inner = [1.0 / (1 + (k % 7)) for k in range(len(members))]
        total = sum(inner)
        for j, w in zip(members, inner, strict=True):
            leaf_weights[j] = chapter_weight[c] * w / total
    cum: list[float] = []
    acc = 0.0
    for w in leaf_weights:
        acc += w
        cum.append(acc)
    truths = rng.choices(range(len(tax)), cum_weights=cum, k=n)
    records: list[Record] = []
    digest = hashlib.sha256(f"{GENERATOR_VERSION}|{tax.digest}|{n}|{seed}|{wrong_rate}".encode())
    width = len(str(n))
    for k, i in enumerate(truths):
        text = _describe(tax, i, rng)
        declared = _wrong_code(tax, i, rng) if rng.random() < wrong_rate else tax.codes[i]
        rec = Record(f"r{k:0{width}d}", text, declared, tax.codes[i])
        records.append(rec)
    return Dataset(f"{tax.name}-synthetic-v{GENERATOR_VERSION}", records, digest.hexdigest())


def sample(dataset: Dataset, n: int | None, seed: int) -> list[Record]:
    """``n`` records drawn without replacement with ``seed`` (all of them, in order, if None)."""
    if n is None or n >= len(dataset.records):
        return list(dataset.records)
    rng = random.Random(seed)
    idx = sorted(rng.sample(range(len(dataset.records)), n))
    return [dataset.records[i] for i in idx]
