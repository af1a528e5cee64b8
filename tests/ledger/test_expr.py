"""ledger.expr: the reversal-trigger language (parsed by hand, never eval'd)."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.expr import ExpressionError, MissingVariable, evaluate, parse, tokenize, variables


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ("recall < 0.80", {"recall": 0.79}, True),
        ("recall < 0.80", {"recall": 0.80}, False),
        ("recall <= 0.80", {"recall": 0.80}, True),
        ("recall < 0.80 or block_rate > 0.05", {"recall": 0.9, "block_rate": 0.06}, True),
        ("recall < 0.80 or block_rate > 0.05", {"recall": 0.9, "block_rate": 0.05}, False),
        ("recall < 0.8 and f1 > 0.5", {"recall": 0.7, "f1": 0.4}, False),
        ("not recall >= 0.8", {"recall": 0.7}, True),
        ("not (recall >= 0.8 or f1 > .9)", {"recall": 0.7, "f1": 0.95}, False),
        ("0.7 < recall <= 0.9", {"recall": 0.9}, True),
        ("0.7 < recall <= 0.9", {"recall": 0.7}, False),
        ("block_rate > 5%", {"block_rate": 0.051}, True),
        ("cost_per_record >= 2e-3", {"cost_per_record": 0.002}, True),
        ("sample_size != 1000", {"sample_size": 1000.0}, False),
        ("f1 == 0.5", {"f1": 0.5}, True),
        ("delta > -1", {"delta": -0.5}, True),
        ("recall < 0.8 || block_rate > 0.1 && f1 < 0.2", {"recall": 0.9, "block_rate": 0.2, "f1": 0.1}, True),
        ("RECALL_at_3 < 0.5 AND scores.auc > 0.1", {"RECALL_at_3": 0.4, "scores.auc": 0.2}, True),
        ("recall<0.8", {"recall": 0.5}, True),
    ],
)
def test_evaluates(source: str, env: dict[str, float], expected: bool) -> None:
    assert evaluate(parse(source), env) is expected


def test_precedence_and_binds_tighter_than_or() -> None:
    node = parse("a < 1 or b < 1 and c < 1")
    assert evaluate(node, {"a": 0, "b": 5, "c": 5}) is True  # a or (b and c)
    assert evaluate(parse("(a < 1 or b < 1) and c < 1"), {"a": 0, "b": 5, "c": 5}) is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty condition"),
        ("recall <", "expected a metric name or a number"),
        ("recall = 0.8", "use =="),
        ("(recall < 0.8", "missing ')'"),
        ("recall", "expected a comparison"),
        ("1 < 2", "numbers only"),
        ("recall < 0.8 extra", "unexpected 'extra'"),
        ("__import__('os').system('x')", "unexpected character"),
        ("recall < 0.8 or", "expected a metric name or a number"),
        ("recall < true", "not allowed"),
        ("recall < 0.8.1", "not a number"),
        ("recall < 3abc", "runs into a name"),
        ("recall ; f1", "unexpected character ';'"),
    ],
)
def test_rejects_with_a_clear_message(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match="bad condition") as err:
        parse(source)
    assert message in str(err.value)


def test_variables_and_missing() -> None:
    node = parse("recall < 0.8 or (f1 < 0.5 and recall < 0.9)")
    assert variables(node) == ["recall", "f1"]
    with pytest.raises(MissingVariable) as err:
        evaluate(node, {"f1": 0.4})
    assert err.value.name == "recall"


def test_tokens_carry_positions() -> None:
    toks = tokenize("recall  <= 80%")
    assert [(t.kind, t.pos) for t in toks] == [("name", 0), ("op", 8), ("num", 11), ("end", 14)]
    assert toks[2].value == pytest.approx(0.8)


OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


@settings(max_examples=200, deadline=None)
@given(
    op=st.sampled_from(sorted(OPS)),
    x=st.floats(-1e6, 1e6, allow_nan=False),
    k=st.floats(-1e6, 1e6, allow_nan=False),
    joiner=st.sampled_from(["and", "or"]),
    op2=st.sampled_from(sorted(OPS)),
    y=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_agrees_with_python_semantics(op: str, x: float, k: float, joiner: str, op2: str, y: float) -> None:
    source = f"x {op} {k!r} {joiner} not y {op2} {k!r}"
    first = OPS[op](x, k)
    second = not OPS[op2](y, k)
    expected = (first and second) if joiner == "and" else (first or second)
    assert evaluate(parse(source), {"x": x, "y": y}) is expected
