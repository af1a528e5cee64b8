"""The thresholds of a comparison (each is a ``ledger compare`` option)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True)
class CompareOptions:
    alpha: float = 0.05  # significance level (and 1 - confidence level of every CI)
    min_effect: float = 0.02  # smallest headline (F1) change that counts
    max_cost_delta: float = 0.001  # per-record USD increase accepted for better quality
    min_cost_saving: float = 0.0005  # per-record USD saving that counts as "cheaper"
    min_time_saving: float = 0.10  # relative time-per-record saving that counts as "faster"
    material_drop: float = 0.05  # class/stratum precision or recall drop that is flagged
    min_support: int = 10  # classes/strata with fewer records (or predictions) on either side are not flagged
    volume: int | None = None  # project flags to absolute counts at this many records
    seed: int = 0
    n_boot: int = 1000  # bootstrap resamples and Monte Carlo permutations
    power: float = 0.80  # the power "records needed" is computed for

    def validate(self) -> None:
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha {self.alpha} must be between 0 and 1 (e.g. 0.05)")
        if self.min_effect < 0 or self.material_drop < 0:
            raise UsageError("--min-effect and --material-drop must be >= 0")
        if self.volume is not None and self.volume < 1:
            raise UsageError(f"--volume {self.volume} must be a positive number of records")
        if self.min_support < 0:
            raise UsageError("--min-support must be >= 0")
        if self.n_boot < 200:
            raise UsageError(f"--n-boot {self.n_boot} is too few; use at least 200 (default 1000)")
        if not 0.5 <= self.power < 1:
            raise UsageError(f"--power {self.power} must be between 0.5 and 1 (e.g. 0.8)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
