"""Prompt templates by stage and version. The text is what a run records (by content hash).

``sim`` holds how the offline provider plays each version: ``noise`` (how often it slips),
``context`` (whether the prompt shows candidates' headings) and ``prior`` (how much the prompt
tells the model to trust the declared code). Real providers only ever see the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prompt:
    system: str
    template: str
    sim: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return f"SYSTEM:\n{self.system}\n\nUSER:\n{self.template}"


PROMPTS: dict[str, dict[str, Prompt]] = {
    "filter": {
        "v1": Prompt(
            "You screen customs declarations before classification.",
            "Rate how much this product description says about what the goods are, from 0 "
            "(nothing: generic words, quantities) to 1 (enough to classify).\n"
            "Description: {text}\n"
            'Answer with JSON only: {{"usefulness": <number between 0 and 1>}}',
            {"noise": 0.05},
        ),
    },
    "enrich": {
        "v1": Prompt(
            "You rewrite terse shipping descriptions for a customs classifier.",
            "Expand abbreviations and fix spelling in this product description; keep every "
            "fact, add none.\nDescription: {text}\n"
            'Answer with JSON only: {{"description": "<rewritten description>"}}',
        ),
    },
    "rerank": {
        "v1": Prompt(
            "You are a customs classification assistant for the Harmonized System.",
            "Product description: {text}\n\nCandidate subheadings:\n{candidates}\n\n"
            "Which subheading fits the product best?\n"
            'Answer with JSON only: {{"code": "<6-digit code>", "confidence": <0..1>, '
            '"rationale": "<one short sentence>"}}',
            {"noise": 0.12, "context": False, "prior": 0.0},
        ),
        "v2": Prompt(
            "You are a customs classification auditor for the Harmonized System (HS 2022).",
            "A shipper declared code {declared} for this product.\n"
            "Product description: {text}\n\n"
            "Candidate subheadings (code: description [heading]):\n{candidates}\n\n"
            "Declarations are usually right: choose another code only when it clearly fits "
            "the description better than {declared}.\n"
            'Answer with JSON only: {{"code": "<6-digit code>", "confidence": <0..1>, '
            '"rationale": "<one short sentence>"}}',
            {"noise": 0.04, "context": True, "prior": 0.15},
        ),
    },
}

CLASSIFY = Prompt(
    "You are a customs classification assistant for the Harmonized System (HS 2022).",
    "A shipper declared code {declared} for this product.\n"
    "Product description: {text}\n\n"
    "All subheadings of chapter {chapter}:\n{candidates}\n\n"
    "Which subheading fits the product best?\n"
    'Answer with JSON only: {{"code": "<6-digit code>", "confidence": <0..1>, '
    '"rationale": "<one short sentence>"}}',
    {"noise": 0.10, "context": True, "prior": 0.0},
)
