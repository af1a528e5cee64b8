"""The offline provider's two ways of scoring candidates (a word index for a chapter's long
listing, a loop for a short retrieved list) are one formula."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.providers.offline import OfflineProvider, _short_list_scores
from pipeline.taxonomy import hs_taxonomy, words


@pytest.mark.parametrize("context", [True, False])
def test_long_and_short_list_scores_agree(context: bool) -> None:
    tax = hs_taxonomy()
    provider = OfflineProvider(tax)
    rng = random.Random(5)
    for _ in range(20):
        picked = rng.sample(range(len(tax)), 40)
        candidates = [{"code": tax.codes[i], "description": tax.descriptions[i],
                       "heading": tax.heading_text.get(tax.headings[i], "")} for i in picked]
        pool = [w for i in picked[:5] for w in words(tax.full_text(i))] + ["zzz"]
        weights = {w: provider.knowledge.idf(w) for w in dict.fromkeys(rng.sample(pool, 4))}
        total = sum(weights.values())
        long = provider._view(candidates, candidates, context).scores(weights, total)
        again = provider._view(list(candidates), candidates, context)  # another list, same codes
        assert again is provider._view(candidates, candidates, context)
        short = _short_list_scores(candidates, weights, total, context)
        np.testing.assert_allclose(long, short, atol=1e-12)
        # and by hand for one candidate: own words count fully, heading-only words half
        own = set(words(candidates[0]["description"]))
        head = set(words(candidates[0]["heading"])) if context else set()
        expect = sum(w if q in own else 0.5 * w if q in head else 0.0
                     for q, w in weights.items()) / total - 0.03 * np.log(1 + len(own))
        assert short[0] == pytest.approx(expect, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(
    st.text(max_size=12),
    st.one_of(st.none(), st.text(max_size=40), st.floats(allow_nan=True, allow_infinity=True),
              st.integers(-5, 5), st.booleans()),
    max_size=4))
def test_answers_are_written_exactly_as_json_dumps_writes_them(fields: dict[str, Any]) -> None:
    from pipeline.providers.offline import _json

    assert _json(fields) == json.dumps(fields)
