"""Rates per unit with empirical-Bayes shrinkage, tests, and a change point.

The statistics the reports share:

- :func:`fit_beta_prior`: a Beta prior for unit rates, fitted to all units by
  the method of moments for the beta-binomial, so that a unit with 2 comments
  is pulled to the pooled rate and one with 300 keeps its own;
- :func:`unit_rates`: per unit (agent, team, step, channel) its count, the
  shrunk rate with a 95% Beta posterior interval, a one-sided exact binomial
  test against the rate of all *other* units, and Benjamini-Hochberg control
  of the false discovery rate across units (statsmodels ``multipletests``);
- :func:`change_point`: when a rate changed, as the best split of a daily
  series into two binomial segments, with a permutation p-value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

logger = logging.getLogger(__name__)

# A prior heavier than this many pseudo-comments would make every unit the same;
# it only binds when the units look perfectly homogeneous.
MAX_PRIOR_STRENGTH = 5000.0
_UNIT_COLUMNS = (
    "unit",
    "n",
    "k",
    "rate",
    "shrunk",
    "low",
    "high",
    "others",
    "p",
    "q",
    "flagged",
)


@dataclass(frozen=True)
class BetaPrior:
    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def strength(self) -> float:
        return self.a + self.b


def fit_beta_prior(hits: np.ndarray, totals: np.ndarray) -> BetaPrior:
    """Method-of-moments Beta prior of unit rates from (hits, totals) per unit.

    Under a beta-binomial with mean mu and intra-unit correlation rho,
    sum_i n_i (p_i - mu)^2 has expectation mu (1 - mu) ((m - 1) + rho (N - m))
    for m units with N comments in all; solving for rho gives the prior
    strength a + b = (1 - rho) / rho.
    """
    hits = np.asarray(hits, dtype=float)
    totals = np.asarray(totals, dtype=float)
    keep = totals > 0
    hits, totals = hits[keep], totals[keep]
    total = totals.sum()
    mu = hits.sum() / total if total else 0.0
    mu = float(np.clip(mu, 1e-6, 1 - 1e-6))
    units = len(totals)
    if units < 2 or total <= units:
        return _prior(mu, MAX_PRIOR_STRENGTH)

    spread = float((totals * (hits / totals - mu) ** 2).sum())
    rho = (spread / (mu * (1 - mu)) - (units - 1)) / (total - units)
    rho = float(np.clip(rho, 1.0 / (MAX_PRIOR_STRENGTH + 1), 0.999))
    return _prior(mu, (1 - rho) / rho)


def _prior(mu: float, strength: float) -> BetaPrior:
    return BetaPrior(mu * strength, (1 - mu) * strength)


MIN_FLAG_COMMENTS = 5


def unit_rates(
    frame: pd.DataFrame, by: str, hit: str = "hit", alpha: float = 0.05
) -> pd.DataFrame:
    """One row per unit of ``by``: n, k, rate, shrunk rate, interval, tests.

    Rows without a unit (missing ``by``) count for nobody. ``flagged`` is True
    where the unit's rate is above the others' after FDR control, its shrunk
    rate is above the pooled rate, and it has at least ``MIN_FLAG_COMMENTS``
    comments: below that, an exact test against peers without a single hit
    would flag one unlucky comment.
    """
    data = frame.dropna(subset=[by])
    if data.empty:
        # No unit known (e.g. records without agent_id): nothing to compare.
        return pd.DataFrame(columns=list(_UNIT_COLUMNS)).astype({"flagged": bool})
    grouped = data.groupby(by)[hit].agg(n="count", k="sum").reset_index()
    grouped = grouped.rename(columns={by: "unit"})

    prior = fit_beta_prior(grouped["k"].to_numpy(), grouped["n"].to_numpy())
    total_n, total_k = grouped["n"].sum(), grouped["k"].sum()
    grouped["rate"] = grouped["k"] / grouped["n"]
    post_a = prior.a + grouped["k"]
    post_b = prior.b + grouped["n"] - grouped["k"]
    grouped["shrunk"] = post_a / (post_a + post_b)
    grouped["low"] = stats.beta.ppf(0.025, post_a, post_b)
    grouped["high"] = stats.beta.ppf(0.975, post_a, post_b)

    others_n = total_n - grouped["n"]
    others_k = total_k - grouped["k"]
    grouped["others"] = np.where(others_n > 0, others_k / others_n.clip(lower=1), 0)
    grouped["p"] = [
        _greater_p(int(k), int(n), float(p))
        for k, n, p in zip(grouped["k"], grouped["n"], grouped["others"], strict=True)
    ]
    grouped["q"] = multipletests(grouped["p"], alpha=alpha, method="fdr_bh")[1]
    pooled = total_k / total_n
    grouped["flagged"] = (
        (grouped["q"] < alpha)
        & (grouped["shrunk"] > pooled)
        & (grouped["n"] >= MIN_FLAG_COMMENTS)
    )
    grouped.attrs["prior"] = prior
    return grouped.sort_values(["flagged", "shrunk"], ascending=False)


def _greater_p(k: int, n: int, p: float) -> float:
    """One-sided exact binomial p-value of k or more hits in n at rate p."""
    if n == 0:
        return 1.0
    if p <= 0:
        return 0.0 if k > 0 else 1.0
    if p >= 1:
        return 1.0
    return float(stats.binomtest(k, n, p, alternative="greater").pvalue)


def two_proportion_p(k1: int, n1: int, k0: int, n0: int) -> float:
    """One-sided p-value that rate k1/n1 is above k0/n0 (z test, statsmodels)."""
    from statsmodels.stats.proportion import proportions_ztest

    if min(n1, n0) == 0 or k1 + k0 in (0, n1 + n0):
        return 1.0
    _, p = proportions_ztest([k1, k0], [n1, n0], alternative="larger")
    return float(p)


@dataclass(frozen=True)
class ChangePoint:
    date: str  # first day of the second segment (ISO)
    before: float  # rate before
    after: float  # rate from ``date`` on
    p: float  # permutation p-value of the split
    log_likelihood_gain: float

    def to_dict(self) -> dict[str, float | str]:
        return {
            "date": self.date,
            "rate_before": round(self.before, 4),
            "rate_after": round(self.after, 4),
            "p": round(self.p, 4),
            "log_likelihood_gain": round(self.log_likelihood_gain, 3),
        }


def change_point(
    times: pd.Series,
    hits: pd.Series,
    min_days: int = 7,
    permutations: int = 199,
    seed: int = 0,
) -> ChangePoint | None:
    """Best two-segment binomial split of a daily series, or None if too short.

    The gain is the log-likelihood of two rates over one. Its p-value comes
    from shuffling the hits over comments (times kept): the max over splits
    makes the chi-squared reference wrong, a permutation does not care.
    """
    days = times.dt.floor("D")
    index = pd.date_range(days.min(), days.max(), freq="D")
    if len(index) < 2 * min_days:
        return None
    day_of = ((days - index[0]).dt.days).to_numpy()
    hit_values = hits.to_numpy().astype(float)
    totals = np.bincount(day_of, minlength=len(index)).astype(float)

    gain, split = _best_split(
        np.bincount(day_of, hit_values, len(index)), totals, min_days
    )
    rng = np.random.default_rng(seed)
    null = [
        _best_split(
            np.bincount(day_of, rng.permutation(hit_values), len(index)),
            totals,
            min_days,
        )[0]
        for _ in range(permutations)
    ]
    p = (1 + sum(g >= gain for g in null)) / (permutations + 1)

    before = hit_values[day_of < split].mean()
    after = hit_values[day_of >= split].mean()
    when = index[split].date().isoformat()
    logger.debug("change point %s: %.3f -> %.3f (p=%.3f)", when, before, after, p)
    return ChangePoint(when, float(before), float(after), float(p), float(gain))


def _best_split(k: np.ndarray, n: np.ndarray, min_days: int) -> tuple[float, int]:
    """(log-likelihood gain, first day of segment 2) of the best split."""
    ck, cn = np.cumsum(k), np.cumsum(n)
    total_k, total_n = ck[-1], cn[-1]
    # split s: days [0, s) vs [s, T); candidate s keeps min_days on each side.
    splits = np.arange(min_days, len(k) - min_days + 1)
    k1, n1 = ck[splits - 1], cn[splits - 1]
    k2, n2 = total_k - k1, total_n - n1
    gain = _loglik(k1, n1) + _loglik(k2, n2) - _loglik(total_k, total_n)
    best = int(np.argmax(gain))
    return float(gain[best]), int(splits[best])


def _loglik(k: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0)
        term = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0)
        term += np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0)
    return term


def weekly_rates(times: pd.Series, hits: pd.Series) -> list[dict[str, float | str]]:
    """Per ISO week (starting Monday): comments, hits and their rate."""
    frame = pd.DataFrame({"t": times.to_numpy(), "hit": hits.to_numpy()})
    frame["week"] = frame["t"].dt.to_period("W-SUN").dt.start_time
    grouped = frame.groupby("week")["hit"].agg(n="count", k="sum").reset_index()
    return [
        {
            "week": row.week.date().isoformat(),
            "n": int(row.n),
            "k": int(row.k),
            "rate": round(row.k / row.n, 4) if row.n else 0.0,
        }
        for row in grouped.itertuples()
    ]
