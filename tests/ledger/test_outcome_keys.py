"""Record ids as keys: read back exactly the ids stored (whatever their text), and pair two runs'
records exactly as a dictionary from id to position does."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, Records, RunInput
from ledger.columns import pack_text
from ledger.compare.loading import load
from ledger.compare.pairing import match, side_sample
from ledger.outcomes import id_keys, isin, key_names, keys_of, load_outcomes, same_width

# any text a record id can be stored as (no lone surrogates: those cannot be encoded as UTF-8)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(texts, unique=True, max_size=30))
def test_keys_read_back_every_id(ids: list[str]) -> None:
    for data in (pack_text(ids), json.dumps(ids).encode(), json.dumps(ids, ensure_ascii=False).encode()):
        keys = id_keys(data)
        assert key_names(keys) == ids
        assert len(set(keys.tolist())) == len(ids)  # distinct ids, distinct keys
    assert key_names(keys_of(ids)) == ids


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(texts, unique=True, min_size=1, max_size=20), data=st.data())
def test_keys_equal_exactly_when_ids_equal(ids: list[str], data: st.DataObject) -> None:
    other = data.draw(st.permutations(ids))
    extra = data.draw(st.lists(texts, max_size=5))
    mine = id_keys(pack_text(ids))
    theirs = id_keys(json.dumps([*other, *[e for e in extra if e not in ids]]).encode())  # another encoding
    x, y = same_width(mine, theirs)
    found = {key_names(x[i:i + 1])[0]: [key_names(y[j:j + 1])[0] for j in np.flatnonzero(y == x[i])]
             for i in range(x.size)}
    for record_id in ids:
        assert found[record_id] == [record_id]  # found once, and only its own id


def test_keys_of_one_very_long_id_are_exact(tmp_path: Path) -> None:
    ids = ["x" * 5000] + [f"r{i}" for i in range(20_000)]
    keys = id_keys(pack_text(ids))
    assert keys.dtype == object  # not 20,001 x 5,001 bytes
    assert key_names(keys) == ids
    short = id_keys(pack_text(ids[1:]))
    assert isin(short, keys).all() and int(isin(keys, short).sum()) == 20_000
    rest = set(ids[1:])
    assert isin(keys, short).tolist() == [x in rest for x in ids]


def _run(ledger: Ledger, ids: list[str], seed: int) -> int:
    rng = random.Random(seed)
    recs = Records.from_columns(ids, [rng.choice(["ok", "wrong"]) for _ in ids], [rng.choice(["ok", "wrong"]) for _ in ids],
                                numeric={"cost_usd": [rng.random() for _ in ids]})
    return ledger.append(RunInput(experiment="keys", records=recs, positive_label="wrong")).id


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 10_000), keep=st.floats(0.2, 1.0))
def test_pairing_matches_a_dictionary_oracle(tmp_path_factory, n: int, seed: int, keep: float) -> None:
    rng = random.Random(seed)
    ids = [f"rec-{rng.randrange(10**6)}-{i}" for i in range(n)]
    b_ids = [x for x in ids if rng.random() < keep] or ids[:1]
    rng.shuffle(b_ids)
    with Ledger(Path(tmp_path_factory.mktemp("k")) / "l.db", create=True) as ledger:
        a, b = _run(ledger, ids, seed), _run(ledger, b_ids, seed + 1)
        cost_a = dict(zip(ids, ledger.records(a).numeric["cost_usd"], strict=True))
        cost_b = dict(zip(b_ids, ledger.records(b).numeric["cost_usd"], strict=True))
        loaded = load(ledger, [a], [b])
    m = match(loaded.records_a, loaded.records_b)
    shared = [x for x in ids if x in set(b_ids)]  # in A's order
    assert m.pairing.paired and m.pairing.shared_records == len(shared)
    assert key_names(m.a.keys) == key_names(m.b.keys) == shared
    assert m.a.numeric["cost_usd"].tolist() == [cost_a[x] for x in shared]
    assert m.b.numeric["cost_usd"].tolist() == [cost_b[x] for x in shared]


def test_independent_runs_share_what_a_set_intersection_shares(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db", create=True) as ledger:
        a = _run(ledger, ["p", "q", "r", "s"], 1)
        b = _run(ledger, ["r", "s", "t", "u", "v"], 2)
        loaded = load(ledger, [a], [b])
    m = match(loaded.records_a, loaded.records_b)
    assert not m.pairing.paired and m.pairing.shared_records == len({"p", "q", "r", "s"} & {"r", "s", "t", "u", "v"})


def test_a_side_of_runs_over_different_records_unions_them_in_first_seen_order(tmp_path: Path) -> None:
    first, second = ["c", "a", "long-id-number-one"], ["b", "a", "d"]
    with Ledger(tmp_path / "l.db", create=True) as ledger:
        runs = [_run(ledger, first, 1), _run(ledger, second, 2)]
        loaded = load(ledger, runs, [_run(ledger, ["a"], 3)])
        costs = [dict(zip(ids, ledger.records(r).numeric["cost_usd"], strict=True)) for ids, r in zip((first, second), runs, strict=True)]
    sample, design = side_sample(loaded.records_a)
    union = list(dict.fromkeys([*first, *second]))
    assert design == "mixed" and key_names(sample.keys) == union
    expected = [np.mean([c[x] for c in costs if x in c]) for x in union]
    assert np.allclose(sample.numeric["cost_usd"], expected, rtol=0, atol=1e-15)


def test_outcomes_without_ids_hold_no_keys(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db", create=True) as ledger:
        run = _run(ledger, ["a", "b"], 1)
        assert load_outcomes(ledger, run, ids=False).keys.size == 0
        assert load_outcomes(ledger, run).id_names() == ["a", "b"]
