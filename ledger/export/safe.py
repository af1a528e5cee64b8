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

import html
from typing import Any

from ..secrets import REDACTED, Redactor, env_secrets, is_secret_key

__all__ = ["FORMULA_START", "REDACTED", "Redactor", "env_secrets", "html_text", "is_secret_key", "md_cell", "neutralize"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


# Spreadsheets skip some invisible or blank characters before a formula, and read full-width
# signs and a pipe (DDE) as formula starts too.
_INVISIBLE = " \u00a0\u200b\u200c\u200d\u2060\ufeff\u3000"
_LOOKALIKE = ("|", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize(value: Any) -> Any:
    """A spreadsheet cell that cannot be a formula: text starting with a formula character (after
    any blank or invisible characters, full-width look-alikes included) gets a leading single
    quote. Numbers, booleans and None pass through unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START) or value.lstrip(_INVISIBLE).startswith((*FORMULA_START, *_LOOKALIKE)):
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
