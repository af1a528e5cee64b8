"""Column encodings read back exactly what was stored, and the digest sees every byte."""

from __future__ import annotations

import json
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import columns as C


@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10))))
def test_codes_round_trip(values: list[str | None]) -> None:
    data = C.pack_codes(values)
    assert C.unpack_codes(data) == values
    names, _ = C.split_codes(data)
    assert names == [v for v in dict.fromkeys(values) if v is not None]  # first-appearance order


@given(st.lists(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                                       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)),
                             lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                             max_leaves=8)))
def test_json_round_trip(values: list[object]) -> None:
    assert C.unpack_json(C.pack_json(values)) == values


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False)))
def test_real_round_trip(values: list[float]) -> None:
    assert list(C.unpack_real(C.pack_real(array("d", values)))) == values


def test_digest_depends_on_name_kind_and_bytes() -> None:
    base = [("label", "codes", C.pack_codes(["a", "b"]))]
    assert C.digest(base) == C.digest(list(reversed(base)))
    assert C.digest(base) != C.digest([("label", "text", base[0][2])])
    assert C.digest(base) != C.digest([("labels", "codes", base[0][2])])
    assert C.digest(base) != C.digest([("label", "codes", C.pack_codes(["b", "a"]))])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
                                 st.text(alphabet='ab",\\\x00\x1f\x7f é', max_size=6)), max_size=20))
def test_pack_text_is_the_json_encoders_bytes(values: list[str]) -> None:
    expected = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert C.pack_text(values) == expected
    assert C.pack_text([*values, None]) == json.dumps([*values, None], ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@settings(max_examples=60, deadline=None)
@given(k=st.sampled_from([1, 2, 253, 254, 255, 256, 400]), data=st.data())
def test_codes_round_trip_around_one_byte_of_distinct_values(k: int, data: st.DataObject) -> None:
    pool = [*(f"v{i}" for i in range(k)), None]
    values = data.draw(st.lists(st.sampled_from(pool), max_size=600))
    values += pool[:-1] if data.draw(st.booleans()) else []  # every distinct value present
    names, codes = C.encode_codes(values)
    assert names == [v for v in dict.fromkeys(values) if v is not None]
    assert [None if c < 0 else names[c] for c in codes] == values
    assert C.unpack_codes(C.pack_codes(values)) == values
