"""Business rules a stack may tune; the single home of their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertPolicy:
    """How far ahead the pipeline looks, and where the priority tiers split (days until expiry, inclusive)."""

    expiring_window_months: int = 6
    critical_max_days: int = 30
    high_max_days: int = 60
    medium_max_days: int = 90

    def __post_init__(self) -> None:
        if not 0 <= self.critical_max_days < self.high_max_days < self.medium_max_days:
            raise ValueError(
                "tier bounds must satisfy 0 <= critical < high < medium, got "
                f"{self.critical_max_days}/{self.high_max_days}/{self.medium_max_days}"
            )
        if self.expiring_window_months < 1:
            raise ValueError("expiring_window_months must be at least 1")


@dataclass(frozen=True)
class CurationPolicy:
    """Data-quality tolerance of the Glue job."""

    max_rejected_ratio: float = 0.05


DEFAULT_ALERT_POLICY = AlertPolicy()
DEFAULT_CURATION_POLICY = CurationPolicy()
