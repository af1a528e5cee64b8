"""ledger.frozen.Frozen: the cheap immutable record behind the comparison's rows."""

from __future__ import annotations

import pytest

from ledger.frozen import Frozen


class Point(Frozen):
    x: int
    y: int = 0
    label: str = "p"

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class Labelled(Point):
    note: str = ""


def test_construction_defaults_and_fields() -> None:
    p = Point(1, y=2)
    assert (p.x, p.y, p.label) == (1, 2, "p") and p.norm1() == 3
    assert Point._fields == ("x", "y", "label") and p._asdict() == {"x": 1, "y": 2, "label": "p"}
    assert Labelled(1, 2, "q", "n")._asdict() == {"x": 1, "y": 2, "label": "q", "note": "n"}
    assert repr(p) == "Point(x=1, y=2, label='p')"


def test_equality_is_by_type_and_fields() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert Point(1) != Labelled(1)
    assert Point(1) != (1, 0, "p")


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((1, 2, "a", "extra"), {}, "takes 3 arguments"),
    ((), {}, "missing argument 'x'"),
    ((1,), {"x": 2}, "repeated"),
    ((1,), {"z": 2}, "unexpected"),
])
def test_bad_construction(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)


def test_immutable() -> None:
    p = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del p.y
