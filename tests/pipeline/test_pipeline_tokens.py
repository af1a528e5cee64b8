"""Token counts: counting each line once gives exactly the count of the whole text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import tokens
from pipeline.prompts import CLASSIFY, PROMPTS
from pipeline.taxonomy import hs_taxonomy


def test_line_by_line_count_is_exact_on_real_prompts() -> None:
    tax = hs_taxonomy()
    members = [i for i in range(len(tax)) if tax.chapters[i] == "84"]
    listing = "\n".join(f"{tax.codes[i]}: {tax.descriptions[i]} [{tax.heading_text.get(tax.headings[i], '')}]"
                        for i in members)
    texts = [
        CLASSIFY.template.format(text="SMARTPHNE 128GB", declared="851713", chapter="84",
                                 candidates=listing),
        PROMPTS["rerank"]["v2"].template.format(text="zapatillas ctn 12", declared="640411",
                                                candidates=listing[:3000]),
        PROMPTS["filter"]["v1"].system, "", "\n\n  \n", "a\n b\n\nc\n",
    ]
    for text in texts:
        assert tokens.count(text) == tokens.count_whole(text)
        assert tokens.count(text) == tokens.count(text)  # memoised pieces, same answer


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["\n", " ", "\t", "a", "Z", "9", "'s", ";", "é", "\r", "  x",
                                 "010121:", "{", "}", "\n\n", "ü", "—"]), max_size=40))
def test_line_by_line_count_is_exact_on_any_text(parts: list[str]) -> None:
    text = "".join(parts)
    assert tokens.count(text) == tokens.count_whole(text)
