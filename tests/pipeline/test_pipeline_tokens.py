"""Token counts: counting each line once gives exactly the count of the whole text."""

from __future__ import annotations

from pathlib import Path

import pytest
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


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=60))
def test_an_ascii_line_counted_by_its_pieces_is_exact(text: str) -> None:
    """Any ASCII text (control characters, quotes, digits, runs of spaces and newlines) is split
    into the pieces tiktoken's own pattern gives (with the ``regex`` module, as tiktoken's
    reference splitter), and the sum over them is the encoder's count of the whole."""
    import regex

    assert tokens._ASCII_PIECES.findall(text) == regex.findall(tokens.PATTERN, text)
    assert tokens._count_line(text) == tokens.count_whole(text)


def test_the_splitter_is_the_encodings_own_pattern() -> None:
    assert tokens.encoding()._pat_str == tokens.PATTERN


def test_a_new_line_of_words_counted_before_needs_no_encoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new declaration's line whose words (pieces) were counted in an earlier line is counted
    exactly without the encoder; a line with a new word encodes that word only."""
    _fresh_memo(monkeypatch)
    first = "Declaration: SMARTPHNE 128GB ctn 12 zapatillas\n"
    later = "Declaration: zapatillas 12 ctn SMARTPHNE 128GB\n"
    novel = "Declaration: zapatillas quux 12\n"
    expected = [tokens.count_whole(t) for t in (first, later, novel)]
    assert tokens.count(first) == expected[0]
    counted: list[str] = []
    real = tokens._count_piece
    monkeypatch.setattr(tokens, "_count_piece", lambda piece: counted.append(piece) or real(piece))
    monkeypatch.setattr(tokens, "count_whole", lambda text: pytest.fail(f"encoded {text!r}"))
    assert tokens.count(later) == expected[1] and counted == []
    assert tokens.count(novel) == expected[2] and counted == [" quux"]


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), min_size=1,
               max_size=24))
def test_a_piece_counted_by_the_written_out_merge_is_the_encoders(text: str) -> None:
    """The byte-pair merge written out in Python gives the encoder's own count for any ASCII
    string (its single-piece entry point: no pre-tokenizer split)."""
    assert tokens._count_piece(text) == len(tokens.encoding()._encode_single_piece(text))


def test_every_piece_of_real_prompts_is_counted_as_the_encoder_counts_it() -> None:
    """Every piece of 2,000 generated declarations and of every candidate line of the taxonomy
    (tens of thousands of real pieces: words, codes, numbers, punctuation runs)."""
    from pipeline.data import generate
    from pipeline.stages.rerank import listing_line

    tax = hs_taxonomy()
    texts = [r.text for r in generate(tax, 2000, seed=3).take(range(2000))]
    texts += [listing_line(tax, c, True) + "\n" for c in range(len(tax))]
    pieces = {p for t in texts for p in tokens._ASCII_PIECES.findall(t)}
    assert len(pieces) > 10_000
    enc = tokens.encoding()
    assert {p: tokens._count_piece(p) for p in pieces} == {
        p: len(enc.encode_ordinary(p)) for p in pieces}


def test_the_taxonomy_listing_counts_are_exact_and_come_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cached table of candidate-line counts holds the exact count of each piece a rerank
    prompt's listing splits into; read back it is the same table; a damaged file is rebuilt."""
    from pipeline.stages.rerank import _listing, listing_counts

    monkeypatch.setenv("LEDGER_CACHE_DIR", str(tmp_path))
    tax = hs_taxonomy()
    for context in (True, False):
        table = listing_counts(tax, context)
        assert len(table) == 2 * len(tax)
        for piece in list(table)[::97]:
            assert table[piece] == tokens.count_whole(piece)
        assert listing_counts(tax, context) == table  # read back from the file
        shown, _ = _listing(tax, (5, 17, 4000), context)
        prompt = PROMPTS["rerank"]["v2" if context else "v1"].template.format(
            text="zapatillas ctn 12", declared="640411", candidates=shown)
        pieces = [line for paragraph in tokens._split(prompt, tokens._PARAGRAPH, "\n\n")
                  for line in tokens._split(paragraph, tokens._LINE, "\n")]
        assert sum(p in table for p in pieces) == 3  # every candidate line, the last one too
        tokens.remember(table)
        assert tokens.count(prompt) == tokens.count_whole(prompt)
    (data, *_) = tmp_path.glob("listing-tokens-*.marshal")
    data.write_bytes(data.read_bytes()[:1000])  # truncated: rebuilt, never trusted
    assert all(listing_counts(tax, c) for c in (True, False))
    assert data.stat().st_size > 1000


def _fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_MEMO", {})
    monkeypatch.setattr(tokens, "_COUNTED", {})


def test_lines_counted_in_a_run_are_counted_without_the_encoder_in_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lines a process encoded are kept in the user cache; a later process reads them back
    and counts the same prompts exactly without encoding; a damaged table is ignored."""
    monkeypatch.setenv("LEDGER_CACHE_DIR", str(tmp_path))
    _fresh_memo(monkeypatch)
    texts = [f"Declaration: {w} ctn {i}\nDeclared: 8517{i:02d}\n\nAnswer in JSON." for i, w in
             enumerate(["SMARTPHNE 128GB", "zapatillas", "pony", "bolts M8 zinc"])]
    expected = [tokens.count_whole(t) for t in texts]  # the oracle: the encoder on whole texts
    assert [tokens.count(t) for t in texts] == expected
    tokens.keep_counted()
    [table] = tmp_path.glob("token-counts-*.marshal")

    _fresh_memo(monkeypatch)
    monkeypatch.setattr(tokens, "count_whole", lambda text: pytest.fail(f"encoded {text!r}"))
    tokens.recall_counted()
    assert [tokens.count(t) for t in texts] == expected

    table.write_bytes(table.read_bytes()[:-7] + b"\x00" * 7)  # damaged: the sidecar's SHA-256 fails
    _fresh_memo(monkeypatch)
    tokens.recall_counted()
    counted: list[str] = []
    piece = tokens._count_piece
    monkeypatch.setattr(tokens, "_count_piece", lambda p: counted.append(p) or piece(p))
    assert [tokens.count(t) for t in texts] == expected and counted  # counted again


def test_two_processes_keeping_counts_at_once_keep_both(tmp_path: Path) -> None:
    import subprocess
    import sys

    from pipeline.cache import load_counts

    # each process counts 3,000 words of its own (pieces: "alpha" + letters), a line each
    script = ("import sys, string; from pipeline import tokens\n"
              "w = lambda i: ''.join(string.ascii_lowercase[int(d)] for d in f'{i:04d}')\n"
              "[tokens.count(f' {sys.argv[1]}{w(i)} line\\nnext') for i in range(3000)]\n"
              "tokens.keep_counted()\n")
    env = {**__import__("os").environ, "LEDGER_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], env=env) for tag in ("alpha", "beta")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    table = load_counts("token-counts", tokens._table_fields(), tmp_path)
    for tag in ("alpha", "beta"):
        assert table[f" {tag}cjjj"] == tokens.count_whole(f" {tag}cjjj")  # word 2999
        assert sum(key.startswith(f" {tag}") for key in table) == 3000


def test_a_run_on_lines_counted_before_never_builds_the_encoder(tmp_path: Path) -> None:
    """Two real processes run the reranker config on the same sample: the second finds every
    piece in the user cache's table and never builds the tiktoken encoding (0.1-0.15 s holding
    the GIL) nor even imports tiktoken, and its token counts equal the first run's."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = (
        "import json, sys; from pathlib import Path\n"
        "from ledger.store import Ledger\n"
        "from pipeline import tokens\n"
        "from pipeline.runner import run_experiment\n"
        "[run] = run_experiment(Ledger(sys.argv[1], create=True), Path(sys.argv[2]), sample=60,"
        " hypothesis='')\n"
        "print(json.dumps({'built': tokens._encoding.cache_info().currsize,"
        " 'imported': 'tiktoken' in sys.modules,"
        " 'tokens': run.timing['stages']['rerank']['input_tokens']}))\n"
    )
    env = {**os.environ, "LEDGER_CACHE_DIR": str(tmp_path / "cache")}
    seen = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "l.db"), str(root / "configs/04_reranker.toml")],
            env=env, cwd=root, capture_output=True, text=True, timeout=300, check=True)
        seen.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert seen[0]["built"] == 1 and seen[1]["built"] == 0 and not seen[1]["imported"]
    assert seen[0]["tokens"] == seen[1]["tokens"] > 0
