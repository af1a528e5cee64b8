"""What makes an export safe to hand to someone: no formulas, no markup, no secrets.

* Spreadsheet formulas (OWASP "CSV injection"): a text cell starting with ``=``, ``+``, ``-``,
  ``@``, tab, carriage return or line feed is prefixed with a single quote so that Excel, LibreOffice
  and Google Sheets show it as text instead of evaluating it. Numbers are never touched: they are
  written as numbers, so a negative delta stays a number.
* HTML: every piece of data goes through :func:`html_text` / :func:`html_attr`.
* Secrets: a value whose key looks like a credential (``api_key``, ``token``, ``password``,
  ``authorization``, ...) is replaced by ``[REDACTED]``, and so is any occurrence of the value of an
  environment variable named like a credential (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ...),
  wherever it appears (notes, params, prompts, error messages, records).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

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


def neutralize(value: Any) -> Any:
    """A spreadsheet cell that cannot be a formula: text starting with a formula character gets a
    leading single quote. Numbers, booleans and None pass through unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def html_text(value: Any) -> str:
    """Text for HTML element content or a quoted attribute (``&``, ``<``, ``>``, quotes escaped)."""
    return html.escape("" if value is None else str(value), quote=True)


html_attr = html_text


def md_cell(value: Any) -> str:
    """One Markdown table cell: pipes escaped, newlines turned into ``<br>``, ``<`` and ``&`` and
    Markdown markup escaped, so that a row always keeps its column count and nothing in the data
    becomes HTML or a link."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;")  # no tag or entity from the data
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    for char in ("`", "*", "_", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text.strip() or " "
