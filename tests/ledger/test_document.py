"""Run documents: a stored run written as a document reads back to the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import InvalidRun, Ledger
from ledger.document import read_documents, run_to_document, to_run_input
from tests.conftest import make_run


def test_document_round_trip_keeps_everything_that_is_not_derived(ledger: Ledger, tmp_path: Path) -> None:
    first = ledger.append(make_run(hypothesis="base", params={"a": {"b": 1}}, prompts={"p": "text"},
                                   dataset={"name": "d", "sample_size": 200, "seed": 1},
                                   timing={"wall_s": 2.0, "stage_order": ["filter", "decide"]}))
    second = ledger.append(make_run(seed=4, hypothesis="next", notes="=1+1", caveats="small"))
    docs = [run_to_document(r, ledger.records(r.id), {n: ledger.prompt_text(s) or "" for n, s in r.prompts.items()},
                            uid_of=lambda i: ledger.get(i).uid) for r in (first, second)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(docs))
    with Ledger(tmp_path / "copy.db", create=True) as copy:
        for where, doc in read_documents(path):
            copy.append(to_run_input(doc, where))
        for original in (first, second):
            again = copy.get(original.id)
            for field in ("uid", "experiment", "hypothesis", "notes", "caveats", "params", "params_diff",
                          "prompts", "metrics", "sample_size", "cost", "timing", "created_at", "parent_id",
                          "environment", "dataset"):
                assert getattr(again, field) == getattr(original, field), field
            assert copy.records(original.id).rows() == ledger.records(original.id).rows()
            # the hash covers the same stored values: identical rows give identical hashes
            assert again.hash == original.hash


def test_document_formats(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text('{"experiment": "a"}')
    many = tmp_path / "many.json"
    many.write_text('{"runs": [{"experiment": "a"}, {"experiment": "b"}]}')
    lines = tmp_path / "l.jsonl"
    lines.write_text('{"experiment": "a"}\n\n{"experiment": "b"}\n')
    assert [w for w, _ in read_documents(one)] == [str(one)]
    assert [d["experiment"] for _, d in read_documents(many)] == ["a", "b"]
    assert [w for w, _ in read_documents(lines)] == [f"{lines}:1", f"{lines}:3"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "empty"),
        ("42", "expected a run object"),
        ("[1]", r"runs\[0\]: expected a run object"),
        ('{"experiment": "a", "params": [1]}', "field 'params' must be an object"),
        ('{"experiment": "a", "records": {"id": 1}}', "must be a list"),
        ('{"experiment": "a", "corrects": "x"}', "corrects"),
    ],
)
def test_document_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InvalidRun, match=message):
        for where, doc in read_documents(path):
            to_run_input(doc, where)


def test_correction_row_points_at_the_run(ledger: Ledger) -> None:
    ledger.append(make_run())
    fix = ledger.append(to_run_input({"experiment": "exp", "corrects": 1, "notes": "labels of r3 were wrong"}, "doc"))
    assert fix.kind == "correction" and fix.refs == [1]
    assert [r.id for r in ledger.children(1)] == [fix.id]
