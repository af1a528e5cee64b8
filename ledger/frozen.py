"""An immutable record type that costs next to nothing to define.

``ledger compare`` defines a few dozen small result and plumbing types on every call, and a
``NamedTuple`` costs ~0.2 ms to define, a frozen dataclass ~0.7 ms (both generate code): together
more than the rest of the comparison. A :class:`Frozen` subclass declares its fields as annotations
(with defaults) and gets positional or keyword construction, immutability, equality and repr by
field, and ``_asdict()``; ``dataclass_transform`` tells type checkers it behaves as a frozen
dataclass. The results a consumer handles first (``Comparison``, ``TestResult``, ``MetricDelta``,
``Flag``, ``Verdict``) stay real frozen dataclasses.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, dataclass_transform


@dataclass_transform(frozen_default=True)
class Frozen:
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [n for n, t in inspect.get_annotations(cls).items() if "ClassVar" not in str(t)]
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults, **{n: cls.__dict__[n] for n in own if n in cls.__dict__}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if not kwargs and len(args) == len(fields):  # the common case, in one C-level call
            self.__dict__.update(zip(fields, args, strict=True))
            return
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} arguments ({len(args)} given)")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise TypeError(f"{type(self).__name__}() got an unexpected or repeated argument {name!r}")
            values[name] = value
        for name in fields:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
                values[name] = self._defaults[name]
        self.__dict__.update((name, values[name]) for name in fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # type: ignore[assignment]  # fields hold arrays and dicts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"

    def _asdict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._fields}
