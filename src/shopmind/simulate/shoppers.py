"""The shopper population: tastes, price sensitivity, activity, churn, channel and device.

Drawn once, vectorised, from a numpy generator. A shopper's per-session chance to buy is
``channel rate × intent × device factor``; intent is scaled so that its session-weighted
mean is 1, which makes each channel's realised conversion rate track its true rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.simulate.catalog import CATEGORIES, SimProduct
from shopmind.simulate.config import DEVICES, SimulationConfig
from shopmind.simulate.text import (
    COUNTRIES_EN,
    COUNTRIES_ZH,
    EN_FIRST,
    EN_LAST,
    ZH_GIVEN,
    ZH_SURNAMES,
)

# name, share, mean sessions per day, relative intent, daily churn hazard
SEGMENTS = (
    ("loyal", 0.08, 0.45, 3.0, 0.002),
    ("regular", 0.22, 0.18, 1.5, 0.008),
    ("occasional", 0.45, 0.07, 0.8, 0.025),
    ("browser", 0.25, 0.10, 0.2, 0.05),
)
DEVICE_FACTOR = (0.65, 1.5, 1.1)  # relative conversion of mobile, desktop, tablet
OWN_DEVICE = 0.7  # chance a session is on the shopper's usual device
OWN_CHANNEL = 0.5  # chance a session comes through the shopper's acquisition channel
SENSITIVITY_BUCKETS = 5
SUBSCRIBER_EMAIL = 3.0  # subscribers' e-mail visits, relative to the channel's share


@dataclass
class Shoppers:
    """Column arrays, one entry per shopper (index = shopper number)."""

    segment: np.ndarray
    visit_rate: np.ndarray
    intent: np.ndarray
    churn: np.ndarray
    arrival: np.ndarray  # first active day
    leave: np.ndarray  # first day no longer active
    channel: np.ndarray  # acquisition channel index
    subscribed: np.ndarray
    anonymous: np.ndarray
    early_register: np.ndarray
    device: np.ndarray
    sensitivity: np.ndarray
    language: list[str]
    country: list[str]
    city: list[str]
    first_name: list[str]
    last_name: list[str]
    email_name: list[str]
    pseudo_id: list[str]
    prefs: np.ndarray  # (shoppers, categories) cumulative category preference

    def __len__(self) -> int:
        return len(self.segment)


def global_devices(config: SimulationConfig) -> np.ndarray:
    shares = np.array([c.share for c in config.channels])
    mix = np.array([np.array(c.devices) / sum(c.devices) for c in config.channels])
    return (shares[:, None] * mix).sum(0) / shares.sum()


def device_mix(config: SimulationConfig) -> np.ndarray:
    """(channels, devices): the device mix of a channel's sessions."""
    own = global_devices(config)
    mix = np.array([np.array(c.devices) / sum(c.devices) for c in config.channels])
    return OWN_DEVICE * own[None, :] + (1 - OWN_DEVICE) * mix


def device_factors(config: SimulationConfig) -> np.ndarray:
    """(channels, devices) conversion multipliers whose mean within each channel is 1."""
    mix = device_mix(config)
    factor = np.array(DEVICE_FACTOR)
    return factor[None, :] / (mix @ factor)[:, None]


def channel_mix(config: SimulationConfig, subscribed: bool) -> np.ndarray:
    """Traffic shares for sessions not from the acquisition channel.

    Only subscribers come from e-mail, and they do so more than the channel's share.
    """
    shares = np.array([c.share for c in config.channels], dtype=float)
    if subscribed:
        for i, c in enumerate(config.channels):
            if c.medium == "email":
                shares[i] *= SUBSCRIBER_EMAIL
    else:
        email = [i for i, c in enumerate(config.channels) if c.medium == "email"]
        others = [i for i in range(len(shares)) if i not in email]
        none = [i for i in others if config.channels[i].medium == "(none)"]
        direct = none[0] if none else max(others, key=lambda i: shares[i])
        shares[direct] += shares[email].sum()
        shares[email] = 0.0
    return shares / shares.sum()


def build_shoppers(
    config: SimulationConfig, rng: np.random.Generator, catalog: list[SimProduct]
) -> Shoppers:
    n, days = config.customers, config.days
    seg = rng.choice(len(SEGMENTS), size=n, p=[s[1] for s in SEGMENTS])
    table = np.array([s[2:] for s in SEGMENTS])
    visit = rng.gamma(2.0, table[seg, 0] / 2.0) * config.traffic
    intent = table[seg, 1] * rng.lognormal(-0.08, 0.4, size=n)
    churn = table[seg, 2]
    arrival = np.where(rng.random(n) < 0.5, 0, rng.integers(0, days, size=n))
    leave = arrival + rng.geometric(churn)
    active = np.clip(np.minimum(leave, days) - arrival, 0, None)
    weight = visit * active
    if (weight * intent).sum() > 0:
        intent *= weight.sum() / (weight * intent).sum()
    acquisition = [c.share if c.medium != "email" else 0.0 for c in config.channels]
    anonymous = rng.random(n) < config.anonymous_share
    subscribed = ~anonymous & (rng.random(n) < config.subscriber_share)
    zh = rng.random(n) < config.chinese_share
    shoppers = Shoppers(
        segment=seg,
        visit_rate=visit,
        intent=intent,
        churn=churn,
        arrival=arrival,
        leave=leave,
        channel=rng.choice(
            len(config.channels), size=n, p=np.array(acquisition) / sum(acquisition)
        ),
        subscribed=subscribed,
        anonymous=anonymous,
        early_register=~anonymous & (rng.random(n) < 0.3),
        device=rng.choice(len(DEVICES), size=n, p=global_devices(config)),
        sensitivity=rng.beta(2.0, 2.0, size=n),
        language=["zh" if z else "en" for z in zh.tolist()],
        country=[],
        city=[],
        first_name=[],
        last_name=[],
        email_name=[],
        pseudo_id=_pseudo_ids(config, rng, arrival),
        prefs=_preferences(rng, n, catalog),
    )
    _people(rng, shoppers, zh)
    return shoppers


def _pseudo_ids(
    config: SimulationConfig, rng: np.random.Generator, arrival: np.ndarray
) -> list[str]:
    """GA4-like client ids: a random number and the first-visit epoch second."""
    base = int(np.datetime64(config.start, "s").astype(np.int64))
    first = base + arrival * 86400 + rng.integers(0, 86400, size=len(arrival))
    ids = rng.integers(100_000_000, 2_147_483_647, size=len(arrival))
    return [f"{a}.{b}" for a, b in zip(ids.tolist(), first.tolist(), strict=True)]


def _preferences(rng: np.random.Generator, n: int, catalog: list[SimProduct]) -> np.ndarray:
    """Cumulative category tastes, zero for categories with nothing in stock."""
    weights = np.array([c.weight for c in CATEGORIES])
    available = np.zeros(len(CATEGORIES))
    for p in catalog:
        if p.in_stock:
            available[p.category] = 1.0
    prefs = rng.dirichlet(0.6 * weights, size=n) + 1e-3
    prefs *= available[None, :]
    return np.cumsum(prefs, axis=1)


def _pick(rng: np.random.Generator, options: tuple[Any, ...], n: int) -> list[Any]:
    return [options[i] for i in rng.integers(0, len(options), size=n).tolist()]


def _people(rng: np.random.Generator, s: Shoppers, zh: np.ndarray) -> None:
    """Names, e-mail names, countries and cities (Chinese shoppers get Chinese names)."""
    n = len(zh)
    en_first, en_last = _pick(rng, EN_FIRST, n), _pick(rng, EN_LAST, n)
    zh_given, zh_sur = _pick(rng, ZH_GIVEN, n), _pick(rng, ZH_SURNAMES, n)
    en_country = rng.choice(len(COUNTRIES_EN), size=n, p=_norm([c[1] for c in COUNTRIES_EN]))
    zh_country = rng.choice(len(COUNTRIES_ZH), size=n, p=_norm([c[1] for c in COUNTRIES_ZH]))
    city_pick = rng.integers(0, 1 << 30, size=n).tolist()
    for i, is_zh in enumerate(zh.tolist()):
        name, _, cities = COUNTRIES_ZH[zh_country[i]] if is_zh else COUNTRIES_EN[en_country[i]]
        s.country.append(name)
        s.city.append(cities[city_pick[i] % len(cities)])
        if is_zh:
            s.first_name.append(zh_given[i][0])
            s.last_name.append(zh_sur[i][0])
            s.email_name.append(f"{zh_sur[i][1]}.{zh_given[i][1]}")
        else:
            s.first_name.append(en_first[i])
            s.last_name.append(en_last[i])
            s.email_name.append(f"{en_first[i]}.{en_last[i]}".lower())


def _norm(values: list[float]) -> np.ndarray:
    a = np.array(values, dtype=float)
    return a / a.sum()


def purchase_rate_30d(config: SimulationConfig, s: Shoppers) -> np.ndarray:
    """Expected purchases per 30 active days at average seasonality (the truth)."""
    rates = np.array([c.conversion_rate for c in config.channels])
    other = np.where(
        s.subscribed, channel_mix(config, True) @ rates, channel_mix(config, False) @ rates
    )
    per_session = OWN_CHANNEL * rates[s.channel] + (1 - OWN_CHANNEL) * other
    return 30.0 * s.visit_rate * s.intent * per_session
