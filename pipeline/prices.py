"""USD per million input/output tokens, versioned: a run records the table it was priced with.

List prices as published by the vendors when this table was written (``PRICES_VERSION``). A config
can override or add models in its ``[prices]`` table; an unknown model is an error, never a zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.errors import LedgerError

PRICES_VERSION = "2025-09"

PRICES: dict[str, dict[str, float]] = {
    # Anthropic (https://www.anthropic.com/pricing)
    "claude-haiku-4-5": {"input": 1.00, "output": 5.00},
    "claude-3-5-haiku-latest": {"input": 0.80, "output": 4.00},
    "claude-sonnet-4-5": {"input": 3.00, "output": 15.00},
    "claude-opus-4-1": {"input": 15.00, "output": 75.00},
    # OpenAI (https://openai.com/api/pricing)
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "text-embedding-3-small": {"input": 0.02, "output": 0.0},
    "text-embedding-3-large": {"input": 0.13, "output": 0.0},
    # Local computation
    "hashed": {"input": 0.0, "output": 0.0},
    "wordllama": {"input": 0.0, "output": 0.0},
}


def price_table(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, float]]:
    table = {k: dict(v) for k, v in PRICES.items()}
    for model, entry in (overrides or {}).items():
        try:
            table[model] = {"input": float(entry["input"]), "output": float(entry["output"])}
        except (KeyError, TypeError, ValueError):
            raise LedgerError(
                f"[prices] entry for {model!r} needs numeric 'input' and 'output' (USD per "
                "million tokens)"
            ) from None
    return table


def price(table: Mapping[str, Mapping[str, float]], model: str) -> dict[str, float]:
    entry = table.get(model)
    if entry is None:
        raise LedgerError(
            f"no price for model {model!r}; add it to the config: [prices.\"{model}\"] "
            "input = <USD per 1M input tokens>, output = <USD per 1M output tokens>"
        )
    return dict(entry)


def cost_usd(table: Mapping[str, Mapping[str, float]], model: str, input_tokens: float,
             output_tokens: float) -> float:
    p = price(table, model)
    return (input_tokens * p["input"] + output_tokens * p["output"]) / 1_000_000
