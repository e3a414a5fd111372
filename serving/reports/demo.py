"""Demo data: synthetic metadata over real labelled comments, with planted effects.

The public sets have no agents, teams or dates, so the reports cannot be shown
on them as they are. :func:`demo_records` gives every labelled comment a
*synthetic* agent, team, channel, process step, time and rating, and marks it
``"synthetic": true`` (values read ``demo-agent-07``, ``demo-team-b``), so no
one mistakes it for real operations data.

Two effects are planted, only through *which* real comment goes where (labels
are never edited):

- an agent effect: ``demo-agent-07`` receives a fixed share of all the
  comments labelled attitude-negative, over the whole time range;
- a process effect: from ``change_date`` on, a share of the speed-negative
  comments is placed in the ``refund`` step after that date, so the speed
  complaints rise there; the change is returned as an event.

A few agents get very few comments, so that tests can check that a new agent
with one unlucky comment is not flagged.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

STEPS = ("ordering", "payment", "dispatch", "after_sales", "refund")
CHANNELS = ("app", "phone", "web", "wechat")
# Ratings drawn per overall sentiment: (values, probabilities).
RATINGS = {
    "negative": ((1, 2, 3), (0.5, 0.35, 0.15)),
    "neutral": ((2, 3, 4), (0.2, 0.6, 0.2)),
    "positive": ((4, 5), (0.35, 0.65)),
}


@dataclass(frozen=True)
class DemoConfig:
    """What is planted where; saved beside the demo data as its manifest."""

    seed: int = 0
    start: date = date(2026, 9, 7)  # a Monday
    weeks: int = 12
    agents: int = 24  # including the small ones
    small_agents: int = 3  # the last ones, with ``small_comments`` each at most
    small_comments: int = 4
    teams: int = 4
    planted_agent: str = "demo-agent-07"
    agent_category: str = "attitude"
    agent_share: float = 0.25  # of all attitude-negative comments
    planted_step: str = "refund"
    step_category: str = "speed"
    step_share: float = 0.4  # of all speed-negative comments, moved after the date
    change_date: date = date(2026, 11, 2)
    missing_rating: float = 0.1
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        end = self.start + timedelta(weeks=self.weeks)
        if not self.start < self.change_date < end:
            raise ValueError(
                f"expected change_date inside {self.start.isoformat()}.."
                f"{end.isoformat()}, got {self.change_date.isoformat()!r}; move it "
                "or lengthen weeks"
            )
        if self.small_agents >= self.agents - 1:
            raise ValueError(
                f"expected fewer small agents than agents - 1, got "
                f"{self.small_agents!r} of {self.agents!r}"
            )

    @property
    def end(self) -> date:
        return self.start + timedelta(weeks=self.weeks)

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        for key in ("start", "change_date"):
            raw[key] = raw[key].isoformat()
        raw["end"] = self.end.isoformat()
        raw["events"] = demo_events(self)
        return raw


def agent_name(i: int) -> str:
    return f"demo-agent-{i + 1:02d}"


def demo_events(config: DemoConfig) -> list[dict[str, Any]]:
    """The planted change as an event, plus an unrelated one weeks earlier."""
    return [
        {
            "date": config.change_date.isoformat(),
            "description": f"demo: the {config.planted_step} step moved to a new "
            "ticket queue (planted process effect)",
            "synthetic": True,
        },
        {
            "date": (config.start + timedelta(days=20)).isoformat(),
            "description": "demo: new greeting script for all agents (no effect)",
            "synthetic": True,
        },
    ]


def _has(record: dict[str, Any], category: str, polarity: str) -> bool:
    return any(
        c.get("label") == category and c.get("sentiment") == polarity
        for c in record.get("categories") or []
        if c.get("present", True)
    )


def _agents(
    config: DemoConfig, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    names = [agent_name(i) for i in range(config.agents)]
    regular = config.agents - config.small_agents
    # Workloads differ between agents, as they do in a real team.
    weights = rng.gamma(4.0, 1.0, size=regular)
    return names, weights / weights.sum()


def _time(rng: np.random.Generator, start: date, end: date) -> str:
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    seconds = (end - start).days * 86400
    moment = begin + timedelta(seconds=float(rng.uniform(0, seconds)))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _rating(record: dict[str, Any], config: DemoConfig, rng) -> int | None:
    if rng.random() < config.missing_rating:
        return None
    label = (record.get("sentiment") or {}).get("label", "neutral")
    values, probs = RATINGS.get(label, RATINGS["neutral"])
    return int(rng.choice(values, p=probs))


def demo_records(
    comments: Iterable[dict[str, Any]], config: DemoConfig | None = None
) -> list[dict[str, Any]]:
    """Labelled comments -> copies with synthetic metadata and planted effects."""
    config = config or DemoConfig()
    rng = np.random.default_rng(config.seed)
    names, weights = _agents(config, rng)
    regular = len(weights)
    records = [copy.deepcopy(r) for r in comments]
    if not records:
        raise ValueError("expected labelled comments for the demo, got none")

    out = [_assign(r, config, rng, names, weights) for r in records]
    _give_small_agents(out, config, rng, names[regular:])
    planted = sum(r["agent_id"] == config.planted_agent for r in out)
    logger.info(
        "demo: %d comments, %d agents, %d to the planted agent",
        len(out),
        len(names),
        planted,
    )
    return out


def _assign(
    record: dict[str, Any],
    config: DemoConfig,
    rng: np.random.Generator,
    names: list[str],
    weights: np.ndarray,
) -> dict[str, Any]:
    agent = names[int(rng.choice(len(weights), p=weights))]
    if _has(record, config.agent_category, "negative") and (
        rng.random() < config.agent_share
    ):
        agent = config.planted_agent

    step = STEPS[int(rng.integers(len(STEPS)))]
    created = _time(rng, config.start, config.end)
    if _has(record, config.step_category, "negative") and (
        rng.random() < config.step_share
    ):
        step = config.planted_step
        created = _time(rng, config.change_date, config.end)

    team = f"demo-team-{'abcdefgh'[names.index(agent) % config.teams]}"
    record.update(
        agent_id=agent,
        team=team,
        channel=CHANNELS[int(rng.integers(len(CHANNELS)))],
        process_step=step,
        created_at=created,
        rating=_rating(record, config, rng),
        synthetic=True,
    )
    return record


def _give_small_agents(
    records: list[dict[str, Any]],
    config: DemoConfig,
    rng: np.random.Generator,
    small: list[str],
) -> None:
    """Hand each small agent one unlucky comment plus up to a few random ones.

    The first comment is always one of the agent category's negatives, so a
    small agent's raw rate is the worst of all: what shrinkage must handle.
    """
    # Comments of the planted agent stay with it, so the plant keeps its size.
    free = [i for i, r in enumerate(records) if r["agent_id"] != config.planted_agent]
    unlucky = [i for i in free if _has(records[i], config.agent_category, "negative")]
    taken: set[int] = set()
    for name in small:
        # Labels from a weak model may hold fewer such negatives than small
        # agents: then the first comment is any free one.
        pool = [i for i in unlucky if i not in taken] or [
            i for i in free if i not in taken
        ]
        if not pool:
            logger.warning("demo: no comment left for small agent %s", name)
            continue
        first = int(rng.choice(pool))
        rest = rng.choice(free, size=config.small_comments, replace=False)
        count = int(rng.integers(0, config.small_comments))
        fresh = [int(i) for i in rest if i not in taken and i != first]
        chosen = [first, *fresh[:count]]
        index = int(name.rsplit("-", 1)[1]) - 1
        for i in chosen:
            records[i]["agent_id"] = name
            records[i]["team"] = f"demo-team-{'abcdefgh'[index % config.teams]}"
        taken.update(chosen)
