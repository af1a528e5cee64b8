"""Credentials never reach the ledger file: redacted by key name and by value at append time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger, Records, RunInput

CANARY = "sk-canary-0123456789abcdef"
PASTED = "sk-pasted-zyxwvut987654"


def test_credentials_are_redacted_before_anything_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    path = tmp_path / "l.db"
    records = Records.from_rows([
        {"id": "a", "label": "ok", "prediction": "ok"},
        {"id": f"leak-{CANARY}", "label": "ok", "prediction": "wrong"},
    ])
    with Ledger(path, create=True) as led:
        run = led.append(RunInput(
            experiment="e", hypothesis="h", notes=f"ran with {CANARY}", error=f"401 for key {CANARY}",
            params={"provider": {"api_key": PASTED, "name": "openai"}, "split": {"sort_key": "chapter"}},
            prompts={"p": f"Authorization: Bearer {CANARY}"}, records=records, status="failed",
        ))
        assert run.params["provider.api_key"] == "[REDACTED]"
        assert run.params["split.sort_key"] == "chapter"  # a bare *_key is not a credential
        assert run.params["provider.name"] == "openai"
        assert CANARY not in run.notes and CANARY not in (run.error or "")
        assert "credential(s) replaced" in run.caveats
        assert led.records(run.id).ids[1] == "leak-[REDACTED]"
        assert led.prompt_text(run.prompts["p"]) == "Authorization: Bearer [REDACTED]"
        assert led.verify().ok
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert CANARY.encode() not in data and PASTED.encode() not in data


def test_runs_without_credentials_are_stored_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    given = RunInput(experiment="e", notes="plain", params={"top_k": 5})
    with Ledger(tmp_path / "l.db", create=True) as led:
        run = led.append(given)
    assert run.notes == "plain" and run.caveats == "" and run.params == {"top_k": 5}
    assert given.notes == "plain"  # the caller's object is never modified


def test_each_shape_is_found_in_long_text_and_its_literal_alone_is_not_a_secret() -> None:
    """A literal a shape starts with ("xox", "gh...", "sk-", "://") is only a hint; the shape is
    checked with its own expression, in short and in long (joined) text, against the combined
    expression as the oracle."""
    from ledger.secrets import _SHAPES, Redactor

    r = Redactor(secrets=[])
    filler = "light xoxo high sk- gh_ eyJ bearer AKIA :// " * 40
    tokens = ["sk-ant-" + "a" * 20, "sk-proj-" + "b" * 24, "ghp_" + "c" * 36, "github_pat_" + "d" * 40,
              "AKIA" + "E" * 16, "xoxb-" + "1" * 12, "AIza" + "f" * 35, "eyJ" + "g" * 10 + "." + "h" * 10 + "." + "i" * 10,
              "Bearer " + "j" * 20, "https://user:pw@proxy"]
    assert r.text(filler) == filler and not r.found_in(filler) and _SHAPES.search(filler) is None
    for token in tokens:
        for text in (f"x {token} y", filler + token + filler):
            assert _SHAPES.search(text) is not None, token
            assert r.found_in(text), token
            assert token not in r.text(text) and "[REDACTED]" in r.text(text), token
