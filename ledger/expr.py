"""A small, safe expression language for reversal triggers: ``recall < 0.80 or block_rate > 0.05``.

Grammar (a tokenizer and a recursive-descent parser; nothing is ever passed to ``eval``)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := operand (("<" | "<=" | ">" | ">=" | "==" | "!=") operand)+
    operand    := number | name

Numbers: ``0.8``, ``.05``, ``5e-2``, ``-1``; a trailing ``%`` divides by 100 (``80%``). Names:
letters, digits, ``_``, ``.`` and ``-`` inside (``scores.flag_auc``), not starting with a digit.
Chained comparisons read as in Python: ``0.7 < recall <= 0.9``. ``and``/``or``/``not`` are
case-insensitive; ``&&``, ``||`` and ``!`` are accepted too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import UsageError

COMPARATORS = ("<=", ">=", "==", "!=", "<", ">")
MAX_NESTING = 50  # a condition people write is a few levels deep; parsing and evaluating recurse


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op", "(", ")", "and", "or", "not", "end"
    text: str
    pos: int
    value: float = 0.0


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Compare:
    operands: tuple[Num | Name, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Compare | Not | BoolOp


class ExpressionError(UsageError):
    """A condition that does not parse (the message points at the place)."""


def _error(source: str, pos: int, message: str) -> ExpressionError:
    shown = source if len(source) <= 80 else source[:77] + "..."
    return ExpressionError(f"bad condition {shown!r}: {message} at column {pos + 1}")


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        two = source[i:i + 2]
        if two in ("&&", "||"):
            tokens.append(Token("and" if two == "&&" else "or", two, i))
            i += 2
            continue
        if two in COMPARATORS[:4]:
            tokens.append(Token("op", two, i))
            i += 2
            continue
        if ch in "<>":
            tokens.append(Token("op", ch, i))
            i += 1
            continue
        if ch == "=":
            raise _error(source, i, "use == to compare")
        if ch == "!":
            tokens.append(Token("not", ch, i))
            i += 1
            continue
        if ch.isdigit() or ch == "." or (ch == "-" and i + 1 < n and (source[i + 1].isdigit() or source[i + 1] == ".")):
            j = i + 1
            while j < n and (source[j].isdigit() or source[j] == "."):
                j += 1
            if j < n and source[j] in "eE":
                k = j + 1
                if k < n and source[k] in "+-":
                    k += 1
                if k < n and source[k].isdigit():
                    j = k
                    while j < n and source[j].isdigit():
                        j += 1
            text = source[i:j]
            try:
                value = float(text)
            except ValueError:
                raise _error(source, i, f"{text!r} is not a number") from None
            if j < n and source[j] == "%":
                value /= 100.0
                j += 1
            if j < n and (source[j].isalpha() or source[j] == "_"):
                raise _error(source, j, "a number runs into a name")
            tokens.append(Token("num", source[i:j], i, value))
            i = j
            continue
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (source[j].isalnum() or source[j] in "_.-"):
                j += 1
            text = source[i:j]
            low = text.lower()
            if low in ("and", "or", "not"):
                tokens.append(Token(low, text, i))
            elif low in ("true", "false", "nan", "inf"):
                raise _error(source, i, f"{text!r} is not allowed; compare a metric with a number")
            else:
                tokens.append(Token("name", text, i))
            i = j
            continue
        raise _error(source, i, f"unexpected character {ch!r}")
    tokens.append(Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise _error(self.source, 0, "empty condition")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise _error(self.source, tok.pos, f"unexpected {tok.text!r}")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok.kind in ("not", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _error(self.source, tok.pos, f"nested more than {MAX_NESTING} levels (parentheses and nots)")
        if tok.kind == "not":
            self.take()
            return Not(self.not_expr())
        if tok.kind == "(":
            self.take()
            node = self.or_expr()
            close = self.take()
            if close.kind != ")":
                raise _error(self.source, close.pos, "missing ')'")
            return node
        return self.comparison()

    def operand(self) -> Num | Name:
        tok = self.take()
        if tok.kind == "num":
            return Num(tok.value)
        if tok.kind == "name":
            return Name(tok.text)
        what = "the end" if tok.kind == "end" else repr(tok.text)
        raise _error(self.source, tok.pos, f"expected a metric name or a number, found {what}")

    def comparison(self) -> Node:
        operands = [self.operand()]
        ops: list[str] = []
        while self.peek().kind == "op":
            ops.append(self.take().text)
            operands.append(self.operand())
        if not ops:
            tok = self.peek()
            raise _error(self.source, tok.pos, "expected a comparison such as recall < 0.8")
        if all(isinstance(o, Num) for o in operands):
            raise _error(self.source, self.peek().pos, "a comparison of numbers only says nothing about a run")
        return Compare(tuple(operands), tuple(ops))


def parse(source: str) -> Node:
    """Parse a condition; raises :class:`ExpressionError` with the column of the problem."""
    if not isinstance(source, str):
        raise ExpressionError("a condition must be text such as 'recall < 0.8'")
    return _Parser(source).parse()


def variables(node: Node) -> list[str]:
    """Every name the condition reads, in order of first use."""
    out: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            for o in n.operands:
                if isinstance(o, Name):
                    out[o.name] = None
        elif isinstance(n, Not):
            walk(n.operand)
        else:
            for part in n.operands:
                walk(part)

    walk(node)
    return list(out)


class MissingVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def evaluate(node: Node, env: Mapping[str, float | None]) -> bool:
    """Evaluate against ``env``; raises :class:`MissingVariable` for a name with no value."""
    if isinstance(node, Compare):
        values: list[float] = []
        for o in node.operands:
            if isinstance(o, Num):
                values.append(o.value)
            else:
                v = env.get(o.name)
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    raise MissingVariable(o.name)
                values.append(float(v))
        for (x, y), op in zip(itertools.pairwise(values), node.ops, strict=True):
            if not _compare(x, op, y):
                return False
        return True
    if isinstance(node, Not):
        return not evaluate(node.operand, env)
    if node.op == "and":
        return all(evaluate(p, env) for p in node.operands)
    return any(evaluate(p, env) for p in node.operands)


def _compare(x: float, op: str, y: float) -> bool:
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    if op == ">=":
        return x >= y
    if op == "==":
        return x == y
    return x != y


@dataclass(frozen=True)
class Margin:
    """One ``name op number`` comparison of a condition, as it stood for a run."""

    name: str
    value: float
    op: str
    threshold: float
    holds: bool

    @property
    def by(self) -> float:
        """How far the value is past (or short of) the threshold."""
        return abs(self.value - self.threshold)

    def text(self) -> str:
        where = "past" if self.holds else "short of"
        return f"{self.name} {self.value:.4g} {self.op} {self.threshold:.4g} ({self.by:.4g} {where} the threshold)"


def margins(node: Node, env: Mapping[str, float | None]) -> list[Margin]:
    """Every comparison between a name with a value and a number, with the value it had."""
    out: list[Margin] = []

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            for (x, y), op in zip(itertools.pairwise(n.operands), n.ops, strict=True):
                if isinstance(x, Name) and isinstance(y, Num):
                    name, threshold, flip = x.name, y.value, False
                elif isinstance(x, Num) and isinstance(y, Name):
                    name, threshold, flip = y.name, x.value, True
                else:
                    continue
                value = env.get(name)
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                holds = _compare(threshold, op, float(value)) if flip else _compare(float(value), op, threshold)
                shown = _FLIPPED[op] if flip else op
                out.append(Margin(name, float(value), shown, threshold, holds))
        elif isinstance(n, Not):
            walk(n.operand)
        else:
            for part in n.operands:
                walk(part)

    walk(node)
    return out


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
