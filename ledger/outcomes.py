"""A run's per-record outcomes as arrays, the form every analysis reads (compare, sweep, cases).

Labels, predictions and strata come as integer codes into small per-run dictionaries
(``classes``, ``strata``), numeric columns as float64 arrays (NaN = not recorded). Analyses work
on codes and never hold a million Python strings per column. Record ids, which pair two runs
record by record, are held as *keys*: one fixed-width bytes value per record (the id's UTF-8 bytes
and a terminating 0xFF byte, which UTF-8 never contains, so equal keys are equal ids), cut straight
out of the stored column without building a Python string per record. ``id_names()`` decodes them
for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .store import Ledger


@dataclass(frozen=True)
class Outcomes:
    """The per-record outcomes of one run: ``label[i]`` is the code of record ``ids[i]``'s true
    class in ``classes``; ``stratum[i]`` is -1 when the record has no stratum."""

    run_id: int
    keys: np.ndarray  # record ids as keys (see the module docstring); empty when not loaded
    classes: tuple[str, ...]
    label: np.ndarray
    prediction: np.ndarray
    strata: tuple[str, ...] | None
    stratum: np.ndarray | None
    numeric: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.label.size)

    def label_names(self) -> list[str]:
        """Labels as strings (for display and small runs; analyses use ``label``)."""
        return [self.classes[c] for c in self.label.tolist()]

    def prediction_names(self) -> list[str]:
        return [self.classes[c] for c in self.prediction.tolist()]

    def id_names(self) -> list[str]:
        """The record ids as strings (for display and small runs; pairing uses ``keys``)."""
        return key_names(self.keys)


TERMINATOR = 0xFF  # ends every key: never a byte of UTF-8, and keeps numpy from trimming trailing NULs
_QUOTE, _COMMA = ord('"'), ord(",")
_CHUNK = 1 << 16


def keys_of(ids: Sequence[str]) -> np.ndarray:
    """Keys of record ids given as strings (what :func:`id_keys` cuts from the stored column)."""
    from .columns import pack_text

    return id_keys(pack_text(list(ids)))


def key_names(keys: np.ndarray) -> list[str]:
    """Record ids back from their keys."""
    return [bytes(k)[:-1].decode("utf-8") for k in keys.tolist()]


def id_keys(data: bytes) -> np.ndarray:
    """Keys of a stored ``text`` id column (a JSON array of strings), in record order.

    A column in which no id needs escaping (no backslash anywhere) is cut at its quotes with numpy:
    no Python string per record. Any other column is decoded by ``json`` first. Either way a key is
    the id's UTF-8 bytes and the 0xFF terminator; ids too long for a compact fixed width (one id
    far longer than the rest) are held as an object array of the same bytes values."""
    import numpy as np

    raw = bytes(data)
    buf = np.frombuffer(raw, dtype=np.uint8)
    if b"\\" not in raw and raw.startswith(b'["') and raw.endswith(b'"]'):
        quotes = np.flatnonzero(buf == _QUOTE)
        starts, ends = quotes[0::2] + 1, quotes[1::2]
        if (quotes.size % 2 == 0 and np.all(starts[1:] - ends[:-1] == 3)
                and np.all(buf[ends[:-1] + 1] == _COMMA)):
            return _cut(buf, starts, ends - starts + 1, len(raw))
    from .columns import unpack_text

    ids = unpack_text(raw)
    if not ids:
        return np.zeros(0, dtype="S1")
    encoded = [str(x).encode("utf-8") + b"\xff" for x in ids]
    width = max(map(len, encoded))
    if width * len(encoded) > _budget(len(raw)):
        out = np.empty(len(encoded), dtype=object)
        out[:] = encoded
        return out
    return np.array(encoded, dtype=f"S{width}")


def _budget(stored: int) -> int:
    return max(8 * stored, 1 << 26)


def _cut(buf: np.ndarray, starts: np.ndarray, widths: np.ndarray, stored: int) -> np.ndarray:
    """Keys from a plain JSON array: each id's bytes and its closing quote, which becomes 0xFF."""
    import numpy as np

    n = int(starts.size)
    if n == 0:
        return np.zeros(0, dtype="S1")
    width = int(widths.max())
    if width * n > _budget(stored):
        ends = starts + widths - 1
        out = np.empty(n, dtype=object)
        out[:] = [bytes(buf[s:e]) + b"\xff" for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        return out
    keys = np.zeros((n, width), dtype=np.uint8)
    columns = np.arange(width)
    last = buf.size - 1
    for lo in range(0, n, _CHUNK):
        s, w = starts[lo:lo + _CHUNK], widths[lo:lo + _CHUNK]
        at = np.minimum(s[:, None] + columns[None, :], last)
        block = buf[at]
        block[columns[None, :] >= w[:, None]] = 0
        block[np.arange(s.size), w - 1] = TERMINATOR
        keys[lo:lo + _CHUNK] = block
    return keys.view(f"S{width}").reshape(n)


def isin(keys: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Which of ``keys`` are among ``among``: a sort and a binary search (``numpy.isin`` is
    quadratic on object arrays)."""
    import numpy as np

    x, y = same_width(keys, among)
    if y.size == 0:
        return np.zeros(x.size, dtype=bool)
    ordered = np.sort(y)
    at = np.minimum(np.searchsorted(ordered, x), ordered.size - 1)
    return np.asarray(ordered[at] == x, dtype=bool)


def same_width(*keys: np.ndarray) -> list[np.ndarray]:
    """``keys`` arrays of one dtype (the widest), so that they compare, sort and search together."""
    if any(k.dtype == object for k in keys):
        return [k.astype(object) for k in keys]
    width = max((k.dtype.itemsize for k in keys), default=1)
    return [k if k.dtype.itemsize == width else k.astype(f"S{width}") for k in keys]


def _codes(values: list[str | None], vocabulary: dict[str, int]) -> np.ndarray:
    import numpy as np

    for v in dict.fromkeys(values):  # the distinct values, in order of first appearance
        if v is not None and v not in vocabulary:
            vocabulary[v] = len(vocabulary)
    table: dict[str | None, int] = {None: -1}
    table.update(vocabulary)
    return np.fromiter(map(table.__getitem__, values), dtype=np.int32, count=len(values))


def _coded(kind: str, data: bytes) -> tuple[tuple[str, ...], np.ndarray]:
    """(dictionary, int32 codes) of a stored label/prediction/stratum column."""
    import numpy as np

    from .columns import split_codes, unpack_text

    if kind == "codes":
        names, raw = split_codes(data)
        return tuple(names), np.frombuffer(raw, dtype="<i4").astype(np.int32, copy=False)
    vocabulary: dict[str, int] = {}
    codes = _codes(unpack_text(data), vocabulary)
    return tuple(vocabulary), codes


def load_outcomes(ledger: Ledger, run_id: int, numeric: Iterable[str] | None = None, *,
                  ids: bool = True) -> Outcomes:
    """Read run ``run_id``'s outcomes; ``numeric`` names the numeric columns to load (default all);
    ``ids=False`` leaves the record ids out (``keys`` empty) for analyses of one run that never pair
    records."""
    import numpy as np

    wanted = None if numeric is None else [*(["id"] if ids else []), "label", "prediction", "stratum", *numeric]
    if not ledger.exists(run_id):
        ledger.get(run_id)  # raises RunNotFound with the usual message
    coded: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    keys = np.zeros(0, dtype="S1")
    nums: dict[str, np.ndarray] = {}
    for name, kind, data in ledger.record_columns(run_id, wanted):
        if name == "id":
            if ids:
                keys = id_keys(data) if kind == "text" else _coded_keys(data)
        elif name in ("label", "prediction", "stratum"):
            coded[name] = _coded(kind, data)
        elif kind == "real":
            nums[name] = np.frombuffer(data, dtype="<f8")
    empty: tuple[tuple[str, ...], np.ndarray] = ((), np.zeros(0, dtype=np.int32))
    label_names, label = coded.get("label", empty)
    pred_names, prediction = coded.get("prediction", empty)
    # one dictionary for both columns: the label's, then classes only ever predicted
    classes = {c: i for i, c in enumerate(label_names)}
    for c in pred_names:
        classes.setdefault(c, len(classes))
    if pred_names and tuple(classes)[: len(pred_names)] != pred_names:
        prediction = recode(prediction, pred_names, classes)
    stratum = strata = None
    if "stratum" in coded:
        strata, stratum = coded["stratum"]
    return Outcomes(run_id, keys, tuple(classes), label, prediction, strata, stratum, dict(sorted(nums.items())))


def _coded_keys(data: bytes) -> np.ndarray:
    """Keys of an id column stored in another text encoding (decoded, then keyed)."""
    import numpy as np

    from .columns import unpack_strings

    encoded = [str(x).encode("utf-8") + b"\xff" for x in unpack_strings("codes", data)]
    return np.array(encoded, dtype=f"S{max(map(len, encoded), default=1)}")


def recode(codes: np.ndarray, names: tuple[str, ...], into: Mapping[str, int]) -> np.ndarray:
    """``codes`` (into ``names``) re-expressed as codes into ``into`` (a shared vocabulary); -1 stays."""
    import numpy as np

    table = np.array([into[n] for n in names] + [-1], dtype=np.int32)
    return table[codes]  # -1 indexes the trailing -1
