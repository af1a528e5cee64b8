"""The embedded default data set: product records generated deterministically from the taxonomy.

There is no public labelled set of customs declarations that installs offline, so the default is
*generated*. Record ``k`` of the population with seed ``s`` comes from its own random stream
(seeded by ``(s, k)``), so it is the same whether 2,000 or 20,000 records exist, and a run
generates only the records it samples. For each record:

- the true subheading: with probability ``LEXICON_SHARE`` one of the commonly traded goods of
  :mod:`pipeline.lexicon`, else any subheading, chapters skewed like real trade (Zipf);
- the text, in one of the ways shippers write: the subheading's own words, a few of them, or
  heading words instead ("taxonomy"); a colloquial or trade name ("sneakers"); a brand-like
  product name ("Galaxy A54"); a word from another language ("zapatillas"); or next to nothing
  ("goods", "misc parts"). Words are then abbreviated or misspelt now and then, some upper-cased,
  and quantities or packing words appended;
- the declared code: about 5% are wrong, mostly a sibling subheading of the same heading.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .lexicon import LEXICON
from .taxonomy import Taxonomy, words

GENERATOR_VERSION = "2"
DEFAULT_POPULATION = 20_000
DEFAULT_DATA_SEED = 20_240_601
WRONG_RATE = 0.05
LEXICON_SHARE = 0.4
STYLES = ("taxonomy", "colloquial", "brand", "foreign", "weak")
GENERIC = ("goods", "item", "items", "misc", "assorted", "parts", "product", "sample", "stock")
FILLER = ("pcs", "lot", "ctn", "box", "kg", "pkg", "set", "new", "ref", "bulk")


@dataclass(frozen=True)
class Record:
    """One declaration: free text and the declared code, with the true code for evaluation."""

    id: str
    text: str
    declared: str
    truth: str
    style: str = field(default="", compare=False)  # how the generator wrote it ("" = users' data)

    @property
    def wrong(self) -> bool:
        return self.declared != self.truth


@dataclass(frozen=True, eq=False)
class Dataset:
    """``size`` records, produced on demand by ``take`` (generated ones are never all built)."""

    name: str
    size: int
    digest: str
    take: Callable[[Sequence[int]], list[Record]]

    @property
    def records(self) -> list[Record]:
        """Every record (for small data sets and tests: a run draws with :func:`sample`)."""
        return self.take(range(self.size))


def from_records(name: str, records: Sequence[Record], digest: str) -> Dataset:
    rows = list(records)
    return Dataset(name, len(rows), digest, lambda idx: [rows[i] for i in idx])


def record_id(k: int) -> str:
    return f"r{k:05d}"


def _abbreviate(word: str, rng: random.Random) -> str:
    if len(word) <= 4:
        return word
    cut = rng.randint(3, min(5, len(word) - 1))
    return word[:cut] + ("." if rng.random() < 0.5 else "")


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    r = rng.random()
    if r < 0.4:  # a dropped letter
        return word[:i] + word[i + 1:]
    if r < 0.8:  # swapped letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]  # a doubled letter


@functools.lru_cache(maxsize=8192)
def _vocabulary(tax: Taxonomy, i: int) -> tuple[list[str], list[str], list[str]]:
    """A subheading's own words, its heading's other words, and the words of either."""
    own = list(dict.fromkeys(words(tax.descriptions[i])))
    head = [w for w in dict.fromkeys(words(tax.heading_text.get(tax.headings[i], "")))
            if w not in own]
    return own, head, head or own


def _taxonomy_words(tax: Taxonomy, i: int, rng: random.Random) -> list[str]:
    own, head, _ = _vocabulary(tax, i)
    if own and (rng.random() < 0.8 or not head):  # a few of the subheading's own words
        k = min(len(own), rng.randint(2, 5))
        picked = [own[j] for j in sorted(rng.sample(range(len(own)), k))]
        if head and rng.random() < 0.3:
            picked.insert(rng.randrange(len(picked) + 1), rng.choice(head))
        return picked
    picked = rng.sample(own, min(len(own), rng.randint(1, 2))) if own else []
    picked += rng.sample(head, min(len(head), rng.randint(1, 2))) if head else []
    rng.shuffle(picked)
    return picked or [rng.choice(GENERIC)]


def _noisy(picked: list[str], rng: random.Random) -> str:
    out: list[str] = []
    for phrase in picked:
        for w in phrase.split():
            r = rng.random()
            if r < 0.12:
                w = _abbreviate(w, rng)
            elif r < 0.20:
                w = _typo(w, rng)
            out.append(w)
    if rng.random() < 0.15:
        out = [w.upper() for w in out]
    if rng.random() < 0.3:
        out.append(f"{rng.choice(FILLER)} {rng.randint(1, 500)}")
    return " ".join(out)


def _describe(tax: Taxonomy, i: int, rng: random.Random) -> tuple[str, str]:
    """(text, style) for a record whose true subheading is ``i``."""
    entry = LEXICON.get(tax.codes[i])
    r = rng.random()
    if r < 0.10:
        pool = _vocabulary(tax, i)[2]
        picked = [rng.choice(GENERIC)] + ([rng.choice(pool)] if pool and rng.random() < 0.6 else [])
        return _noisy(picked, rng), "weak"
    if entry is not None and r < 0.85:
        colloquial, brands, foreign = entry
        style = rng.choices(("colloquial", "brand", "foreign"),
                            weights=(0.45, 0.25 if brands else 0.0, 0.30 if foreign else 0.0))[0]
        if style == "brand":
            picked = [rng.choice(brands)]
            if rng.random() < 0.5:
                picked.append(rng.choice(colloquial))
            if rng.random() < 0.4:
                picked.append(rng.choice(("128GB", "XL", "2024", "pro", "v2", "black", "10 pack")))
            return _noisy(picked, rng), "brand"
        if style == "foreign":
            return _noisy([rng.choice(foreign)], rng), "foreign"
        return _noisy([rng.choice(colloquial)], rng), "colloquial"
    return _noisy(_taxonomy_words(tax, i, rng), rng), "taxonomy"


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


@functools.lru_cache(maxsize=8)
def _truth_tables(tax: Taxonomy, seed: int) -> tuple[list[float], list[int], list[float]]:
    """Cumulative weights over all subheadings (Zipf across chapters in a seeded order, mildly
    skewed inside) and over the lexicon's subheadings (Zipf in a seeded order)."""
    rng = random.Random(f"chapters:{seed}")
    order = sorted(tax.by_chapter)
    rng.shuffle(order)
    chapter_weight = {c: 1.0 / (rank + 1) ** 1.1 for rank, c in enumerate(order)}
    leaf = [0.0] * len(tax)
    for c, members in tax.by_chapter.items():
        inner = [1.0 / (1 + (k % 7)) for k in range(len(members))]
        total = sum(inner)
        for j, w in zip(members, inner, strict=True):
            leaf[j] = chapter_weight[c] * w / total
    lex = sorted(tax.position[c] for c in LEXICON if c in tax.position)
    rng.shuffle(lex)
    lex_w = [1.0 / (rank + 1) ** 0.8 for rank in range(len(lex))]
    return _cumulative(leaf), lex, _cumulative(lex_w)


def _cumulative(weights: Sequence[float]) -> list[float]:
    out: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def generate_record(tax: Taxonomy, k: int, seed: int = DEFAULT_DATA_SEED,
                    wrong_rate: float = WRONG_RATE) -> Record:
    """Record ``k`` of the generated population with ``seed`` (independent of its size)."""
    cum, lex, lex_cum = _truth_tables(tax, seed)
    rng = random.Random(f"{GENERATOR_VERSION}:{seed}:{k}")
    if lex and rng.random() < LEXICON_SHARE:
        i = lex[bisect.bisect_left(lex_cum, rng.random() * lex_cum[-1])]
    else:
        i = bisect.bisect_left(cum, rng.random() * cum[-1])
    i = min(i, len(tax) - 1)
    text, style = _describe(tax, i, rng)
    declared = _wrong_code(tax, i, rng) if rng.random() < wrong_rate else tax.codes[i]
    return Record(record_id(k), text, declared, tax.codes[i], style)


def generate(
    tax: Taxonomy, n: int = DEFAULT_POPULATION, seed: int = DEFAULT_DATA_SEED,
    wrong_rate: float = WRONG_RATE,
) -> Dataset:
    """The population of ``n`` generated records; records are made only when taken."""
    if n < 1:
        from ledger.errors import LedgerError

        raise LedgerError(f"the generated population must have at least 1 record, got {n}")
    digest = hashlib.sha256(f"{GENERATOR_VERSION}|{tax.digest}|{n}|{seed}|{wrong_rate}".encode())

    def take(indices: Sequence[int]) -> list[Record]:
        return [generate_record(tax, k, seed, wrong_rate) for k in indices]

    return Dataset(f"{tax.name}-synthetic-v{GENERATOR_VERSION}", n, digest.hexdigest(), take)


def sample_indices(size: int, n: int | None, seed: int) -> list[int]:
    """``n`` of ``range(size)`` drawn without replacement with ``seed``, sorted (all if None)."""
    if n is None or n >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), n))


def sample(dataset: Dataset, n: int | None, seed: int) -> list[Record]:
    """``n`` records drawn without replacement with ``seed`` (all of them, in order, if None)."""
    return dataset.take(sample_indices(dataset.size, n, seed))
