"""What to simulate: the size of the store, its traffic sources and the seed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

DEVICES = ("mobile", "desktop", "tablet")


@dataclass(frozen=True)
class Channel:
    """A traffic source with its true per-session conversion rate.

    ``share`` is the channel's weight in the traffic mix; ``devices`` the share of its
    sessions on (mobile, desktop, tablet). Channels are told apart by ``source / medium``.
    """

    source: str
    medium: str
    campaign: str | None
    conversion_rate: float
    share: float
    devices: tuple[float, float, float] = (0.6, 0.33, 0.07)

    @property
    def key(self) -> str:
        return f"{self.source} / {self.medium}"


DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("google", "organic", None, 0.025, 0.28, (0.55, 0.38, 0.07)),
    Channel("google", "cpc", "shopping", 0.030, 0.14, (0.60, 0.34, 0.06)),
    Channel("bing", "organic", None, 0.022, 0.03, (0.25, 0.70, 0.05)),
    Channel("facebook", "paid_social", "prospecting", 0.009, 0.12, (0.82, 0.12, 0.06)),
    Channel("instagram", "paid_social", "retargeting", 0.018, 0.06, (0.88, 0.08, 0.04)),
    Channel("tiktok", "paid_social", "creators", 0.006, 0.03, (0.93, 0.04, 0.03)),
    Channel("newsletter", "email", "weekly", 0.055, 0.08, (0.48, 0.44, 0.08)),
    Channel("(direct)", "(none)", None, 0.035, 0.22, (0.50, 0.42, 0.08)),
    Channel("lookbook.example", "referral", None, 0.015, 0.04, (0.62, 0.31, 0.07)),
)
"""Traffic sources of the default store; ``newsletter / email`` reaches subscribers only."""


@dataclass(frozen=True)
class SimulationConfig:
    """Size, time span, behaviour knobs and seed of a simulated store.

    The same config (seed included) always produces the same store, row for row.
    ``batch_size`` only changes how rows are written, never what is generated.
    ``search_share`` changes only the site-search events (and the event ids after them):
    searches draw from a side stream, so sessions, orders and reviews stay the same. An
    incident (``incident_day``) makes that day's buyers fail at payment with chance
    ``incident_drop`` (a checkout outage); the days after it differ too.
    """

    customers: int = 1000
    days: int = 30
    products: int = 200
    seed: int = 0
    start: date = date(2026, 1, 1)
    currency: str = "USD"
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS
    traffic: float = 1.0  # multiplies every shopper's visit rate
    anonymous_share: float = 0.4  # shoppers who never log in or register
    subscriber_share: float = 0.45  # of registered shoppers: newsletter subscribers
    chinese_share: float = 0.1  # shoppers (and so reviewers) writing in Chinese
    review_rate: float = 0.3  # chance that a bought item gets reviewed
    list_size: int = 4  # items in a view_item_list event
    search_share: float = 0.25  # sessions that begin with a site search
    incident_day: int | None = None  # a day (index) whose checkout is broken; None: none
    incident_drop: float = 0.8  # on that day: a buying session's chance to fail to buy
    batch_size: int = 5000

    def __post_init__(self) -> None:
        for name in ("customers", "days", "products", "list_size", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SimulationConfig.{name} must be a positive integer: {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"SimulationConfig.seed must be an integer: {self.seed!r}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"SimulationConfig.seed must be in [0, 2**63): {self.seed!r}")
        if not isinstance(self.start, date):
            raise ValueError(f"SimulationConfig.start must be a date: {self.start!r}")
        if isinstance(self.start, datetime):  # a day, not a moment
            object.__setattr__(self, "start", self.start.date())
        if self.start + timedelta(days=min(self.days, 100_000)) > date(2100, 1, 1):
            raise ValueError(
                "SimulationConfig.days: the simulation must end before 2100 "
                f"(start {self.start}, {self.days} days)"
            )
        if not (isinstance(self.currency, str) and len(self.currency) == 3):
            raise ValueError(f"SimulationConfig.currency must be 3 letters: {self.currency!r}")
        for name in (
            "anonymous_share",
            "subscriber_share",
            "chinese_share",
            "review_rate",
            "search_share",
            "incident_drop",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SimulationConfig.{name} must be within [0, 1]: {value!r}")
        if not self.traffic > 0:
            raise ValueError(f"SimulationConfig.traffic must be positive: {self.traffic!r}")
        self._check_incident()
        _check_channels(self.channels)

    def _check_incident(self) -> None:
        day = self.incident_day
        if day is None:
            return
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < self.days:
            raise ValueError(
                "SimulationConfig.incident_day must be None or a day index in "
                f"[0, {self.days}) (the simulated days): {day!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data (the ground truth file records it)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["channels"] = [asdict(c) for c in self.channels]
        for c in data["channels"]:
            c["devices"] = list(c["devices"])
        return data

    @property
    def fingerprint(self) -> str:
        """A short hash of everything that shapes the generated data (not ``batch_size``)."""
        data = self.to_dict()
        data.pop("batch_size")
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]


def _check_channels(channels: tuple[Channel, ...]) -> None:
    if not channels:
        raise ValueError("SimulationConfig.channels must name at least one channel")
    keys = [c.key for c in channels]
    if len(set(keys)) != len(keys):
        raise ValueError(f"SimulationConfig.channels: duplicate source / medium in {keys}")
    for c in channels:
        if not 0.0 < c.conversion_rate < 1.0:
            raise ValueError(f"channel {c.key}: conversion_rate must be in (0, 1)")
        if not c.share > 0:
            raise ValueError(f"channel {c.key}: share must be positive")
        if len(c.devices) != 3 or min(c.devices) < 0 or sum(c.devices) <= 0:
            raise ValueError(f"channel {c.key}: devices must be 3 non-negative shares")
    if all(c.medium == "email" for c in channels):
        raise ValueError("SimulationConfig.channels: needs a channel that is not email")
