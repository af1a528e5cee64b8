"""Secrets never reach the ledger or anything it writes.

A value whose key names a credential (``api_key``, ``token``, ``password``, ``authorization``, ...)
is replaced by ``[REDACTED]``, and so is every occurrence of the value of an environment variable
named like a credential (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ...). The store applies this to
every run before it is appended (so a key pasted into params or notes is never stored), and the
exports apply it again on the way out.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# The last dotted segment of a key, lower-cased, is matched against this (``provider.api_key``,
# ``headers.Authorization``, ``OPENAI_API_KEY``, ``db_password``...). ``input_tokens`` does not match:
# only the singular ``token`` is a credential.
_SECRET_KEY = re.compile(
    r"(?:^|[_\-])(?:api[_\-]?key|apikey|key|token|secret|password|passwd|pwd|authorization|auth"
    r"|credentials?|private[_\-]?key|access[_\-]?key|secret[_\-]?key|session[_\-]?id|cookie)$"
)
_SECRET_ENV = re.compile(r"(?:_API_KEY|_TOKEN|_SECRET|_SECRET_KEY|_PASSWORD|_ACCESS_KEY)$")
_MIN_SECRET_LEN = 8  # shorter env values ("1", "true") would redact ordinary text


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """True when a field named ``name`` (dotted or not) holds a credential."""
    last = name.rsplit(".", 1)[-1].strip().lower()
    return bool(_SECRET_KEY.search(last))


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the credential-like environment variables, longest first."""
    if environ is None:
        # Every append asks; the answer changes only when the environment does. The process's
        # environment as stored (undecoded) is the cache key: a tuple of its items is far cheaper
        # than decoding every variable.
        raw = getattr(os.environ, "_data", None)
        if isinstance(raw, dict):
            return list(_env_secrets_of(tuple(raw.items())))
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_ENV.search(k.upper()) and len(v.strip()) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


@functools.lru_cache(maxsize=8)
def _env_secrets_of(items: tuple[tuple[Any, Any], ...]) -> tuple[str, ...]:
    return tuple(env_secrets({os.fsdecode(k): os.fsdecode(v) for k, v in items}))


# Credentials recognised by their shape, wherever they appear: provider keys (Anthropic, OpenAI,
# GitHub, AWS, Slack, Google), JSON web tokens, the token after "Bearer", and the user:password
# of a URL (``https://user:pass@proxy``). Each shape comes with the literals it always holds: finding
# none of them decides that no expression need run (slow on long text, such as the joined record
# ids or inputs of a large run), and a literal found runs only its own shape's expression (a
# literal prefix: a fast scan). In the combined expression, group 1 (Bearer) or 2 (the URL's
# scheme separator) is the part kept.
_FAMILIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sk-",), r"sk-ant-[A-Za-z0-9_\-]{16,}|sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_[A-Za-z0-9]{30,}"),  # "gh" alone is in "light"
    (("github_pat_",), r"github_pat_[A-Za-z0-9_]{30,}"),
    (("AKIA", "ASIA"), r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    (("xox",), r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
    (("AIza",), r"AIza[0-9A-Za-z_\-]{35}"),
    (("eyJ",), r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    (("earer", "EARER"), r"((?i:bearer)\s+)[A-Za-z0-9._~+/\-]{16,}=*"),
    (("://",), r"(://)[^/\s:@]+:[^/\s@]+(?=@)"),
)
_SHAPES = re.compile("|".join(pattern for _, pattern in _FAMILIES))
_HINTED = tuple((hints, re.compile(pattern)) for hints, pattern in _FAMILIES)
_SHAPE_HINTS = tuple(hint for hints, _ in _FAMILIES for hint in hints)
_HINT_BYTES = [(hint, sorted(set(hint.encode("ascii")))) for hint in _SHAPE_HINTS]


def _hints_in(text: str) -> set[str]:
    if len(text) < 1_000_000:  # a substring search per literal: well under a millisecond
        return {hint for hint in _SHAPE_HINTS if hint in text}
    # Very long text: which bytes occur at all (one counting pass), then a substring search only
    # for the literals whose every character occurs. The literals are ASCII, and UTF-8 encodes any
    # other character without ASCII bytes, so a literal's bytes all occur wherever the literal does.
    # (Not for shorter text: importing numpy here made a run wait 0.1-0.2 s for the import another
    # thread had started.)
    import numpy as np

    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    present = np.bincount(data, minlength=256) > 0
    return {hint for hint, need in _HINT_BYTES if all(present[b] for b in need) and hint in text}


def _may_hold_shape(text: str) -> bool:
    """Whether ``text`` holds a credential of a known shape (``_SHAPES`` would find one)."""
    found = _hints_in(text)
    return bool(found) and any(rx.search(text) is not None for hints, rx in _HINTED if found.intersection(hints))


def _shape_sub(match: re.Match[str]) -> str:
    kept = match.group(1) or match.group(2) or ""
    return kept + REDACTED


class Redactor:
    """Removes secrets from strings and nested values before anything is written: the values of
    credential-like environment variables, and credentials recognised by their shape."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets = env_secrets() if secrets is None else sorted(
            {s for s in secrets if s}, key=len, reverse=True
        )
        self._json_forms = [(json.dumps(s, ensure_ascii=False)[1:-1], s) for s in self.secrets]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if not _may_hold_shape(value):
            return value
        return _SHAPES.sub(_shape_sub, value)

    def found_in(self, joined: str) -> bool:
        """Whether ``joined`` (many strings joined) holds anything :meth:`text` would remove."""
        return any(secret in joined for secret in self.secrets) or (
            _may_hold_shape(joined))

    def value(self, value: Any, key: str = "") -> Any:
        """``value`` with secrets removed: by key name (strings and containers, not numbers) and
        by value (every string inside it)."""
        if key and is_secret_key(key) and isinstance(value, (str, dict, list)) and value:
            return REDACTED
        if isinstance(value, str):
            return self.text(value) if self.secrets else value
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def serialized(self, text: str) -> str:
        """Redact secret values in already-serialized JSON text (they appear JSON-escaped)."""
        for escaped, _raw in self._json_forms:
            if escaped and escaped in text:
                text = text.replace(escaped, REDACTED)
        if not _may_hold_shape(text):
            return text
        return _SHAPES.sub(_shape_sub, text)


# At append time the rule is narrower than on export: what is redacted there is gone for good, so
# a bare ``key`` or ``auth`` (``sort_key``, ``auth_mode``) is kept; only unmistakable credentials go.
_CREDENTIAL_KEY = re.compile(
    r"(?:^|[_\-])(?:api[_\-]?key|apikey|token|secret|password|passwd|authorization|credentials?"
    r"|private[_\-]?key|access[_\-]?key|secret[_\-]?key|bearer)$"
)


@functools.lru_cache(maxsize=4096)
def is_credential_key(name: str) -> bool:
    """True when a field named ``name`` unmistakably holds a credential (the append-time rule)."""
    return bool(_CREDENTIAL_KEY.search(name.rsplit(".", 1)[-1].strip().lower()))


def scrub(value: Any, redactor: Redactor, key: str = "", where: str = "",
          found: list[str] | None = None) -> tuple[Any, int]:
    """``value`` with credentials removed (append-time rule: by key name, whatever the value's
    type; by value and by shape in every string, object keys included), and how many were
    removed. ``found`` collects where (dotted paths under ``where``)."""
    if key and is_credential_key(key) and value not in (None, "", {}, []) and not isinstance(value, (bool, int, float)):
        if found is not None:
            found.append(where)
        return REDACTED, 1
    if isinstance(value, str):
        clean = redactor.text(value)
        if clean != value and found is not None:
            found.append(where)
        return clean, int(clean != value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for k, v in value.items():
            name = k
            if isinstance(k, str):
                name = redactor.text(k)
                if name != k:
                    total += 1
                    if found is not None:
                        found.append(f"{where}.<key>" if where else "<key>")
            out[name], n = scrub(v, redactor, str(k), f"{where}.{name}" if where else str(name), found)
            total += n
        return out, total
    if isinstance(value, list):
        strings = _flat_strings(value)
        if strings is not None and not redactor.found_in("\x00".join(strings)):
            return value, 0  # nothing to remove: searched once, joined (a records column)
        items = [scrub(v, redactor, "", where, found) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def needs_scrub(values: list[Any], redactor: Redactor) -> bool:
    """Whether :func:`scrub` could remove anything from any of ``values``: one walk gathers every
    string (object keys included) and checks every key by name, then one search of the strings
    joined decides (the common case on every append: nothing to remove)."""
    strings: list[str] = []
    stack = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    return True  # unusual: let scrub decide
                if v not in (None, "", {}, []) and not isinstance(v, (bool, int, float)) and is_credential_key(k):
                    return True
                strings.append(k)
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return redactor.found_in("\x00".join(strings))


def _flat_strings(value: list[Any]) -> list[str] | None:
    """The strings of a list of strings, numbers, None and such lists (no objects: their keys
    are checked by name), else None."""
    out: list[str] = []
    stack = [value]
    while stack:
        for item in stack.pop():
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, list):
                stack.append(item)
            elif item is not None and not isinstance(item, (int, float)):
                return None
    return out
