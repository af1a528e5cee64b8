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
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_ENV.search(k.upper()) and len(v.strip()) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


class Redactor:
    """Removes secrets from strings and nested values before anything is written."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets = env_secrets() if secrets is None else sorted(
            {s for s in secrets if s}, key=len, reverse=True
        )
        self._json_forms = [(json.dumps(s, ensure_ascii=False)[1:-1], s) for s in self.secrets]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

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
        return text


# At append time the rule is narrower than on export: what is redacted there is gone for good, so
# a bare ``key`` or ``auth`` (``sort_key``, ``auth_mode``) is kept; only unmistakable credentials go.
_CREDENTIAL_KEY = re.compile(
    r"(?:^|[_\-])(?:api[_\-]?key|apikey|token|secret|password|passwd|authorization|credentials?"
    r"|private[_\-]?key|access[_\-]?key|secret[_\-]?key)$"
)


def is_credential_key(name: str) -> bool:
    """True when a field named ``name`` unmistakably holds a credential (the append-time rule)."""
    return bool(_CREDENTIAL_KEY.search(name.rsplit(".", 1)[-1].strip().lower()))


def scrub(value: Any, redactor: Redactor, key: str = "") -> tuple[Any, int]:
    """``value`` with credentials removed (append-time rule), and how many were removed."""
    if key and is_credential_key(key) and isinstance(value, str) and value:
        return REDACTED, 1
    if isinstance(value, str):
        clean = redactor.text(value) if redactor.secrets else value
        return clean, int(clean != value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        found = 0
        for k, v in value.items():
            out[k], n = scrub(v, redactor, str(k))
            found += n
        return out, found
    if isinstance(value, list):
        items = [scrub(v, redactor) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0

