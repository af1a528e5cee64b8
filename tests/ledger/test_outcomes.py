"""Outcomes: codes and dictionaries read back exactly the labels, predictions and strata stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.model import RunInput
from ledger.outcomes import load_outcomes, recode
from ledger.records import Records

labels = st.sampled_from(["ok", "wrong", "maybe"])


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(labels, labels, st.one_of(st.none(), st.sampled_from(["01", "84"]))),
                     min_size=1, max_size=40))
def test_outcomes_round_trip(tmp_path_factory, rows) -> None:
    path = Path(tmp_path_factory.mktemp("o")) / "l.db"
    with Ledger(path, create=True) as ledger:
        recs = Records.from_columns(
            [f"r{i}" for i in range(len(rows))], [r[0] for r in rows], [r[1] for r in rows],
            strata=[r[2] for r in rows], numeric={"scores.flag": [float(i) for i in range(len(rows))]},
        )
        run = ledger.append(RunInput(experiment="e", records=recs))
        out = load_outcomes(ledger, run.id)
    assert out.label_names() == [r[0] for r in rows]
    assert out.prediction_names() == [r[1] for r in rows]
    assert out.stratum is not None and out.strata is not None
    assert [None if c < 0 else out.strata[c] for c in out.stratum.tolist()] == [r[2] for r in rows]
    assert out.numeric["scores.flag"].tolist() == [float(i) for i in range(len(rows))]
    shared = {name: i for i, name in enumerate(sorted(out.classes))}
    again = recode(out.label, out.classes, shared)
    assert [sorted(out.classes)[c] for c in again.tolist()] == [r[0] for r in rows]


def test_recode_keeps_missing(tmp_path) -> None:
    codes = np.array([0, -1, 1], dtype=np.int32)
    assert recode(codes, ("b", "a"), {"a": 0, "b": 1}).tolist() == [1, -1, 0]
