"""Reports for people: what to fix, who to coach, what to praise, from labels.

Every report takes an iterable of labelled records in classify-output shape
(``id``, ``text``, ``agent_id``, ``team``, ``channel``, ``process_step``,
``created_at`` in ISO 8601, ``rating``; plus ``sentiment`` and ``categories``)
-- a list read from a file, ``FeedbackStore(url).records()``, or the
:class:`~serving.reports.data.Frames` that :func:`load_frames` built once --
and returns a JSON-able dict. Bad input raises :class:`ReportInputError`
(a ``ValueError``) saying what was expected, what came and how to fix it.

Public functions::

    from serving.reports import (
        attribution_report, training_cases, retro_agenda, render,
        demo_records, DemoConfig, demo_events, load_frames, read_events,
    )

    frames = load_frames(records)                  # check once, reuse below
    attribution_report(frames, category="speed",
                       period="2026-11-02:2026-11-29",   # default: last 4 weeks
                       baseline=None,                    # default: period before
                       by="agent_id",                    # or "team"
                       events=read_events("events.csv"))
    training_cases(frames, categories=["speed"], n=5)
    retro_agenda(frames, period="2026-11-02:2026-11-29",
                 previous_agenda="last.json", events=[...])
    render(report, "html")                         # "json", "md" or "html"

    demo_records(hand_labelled, DemoConfig(seed=0))  # synthetic metadata

``GET /v1/reports/attribution`` can call :func:`attribution_report` with the
store's records and return its dict as is.
"""

from serving.reports.agenda import read_agenda, retro_agenda
from serving.reports.attribution import attribution_report, read_events
from serving.reports.cases import training_cases
from serving.reports.data import Frames, Period, ReportInputError, load_frames
from serving.reports.demo import DemoConfig, demo_events, demo_records
from serving.reports.mask import mask
from serving.reports.render import render, write_report

__all__ = [
    "DemoConfig",
    "Frames",
    "Period",
    "ReportInputError",
    "attribution_report",
    "demo_events",
    "demo_records",
    "load_frames",
    "mask",
    "read_agenda",
    "read_events",
    "render",
    "retro_agenda",
    "training_cases",
    "write_report",
]
