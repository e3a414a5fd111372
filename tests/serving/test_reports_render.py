"""Report formats and the `pingjia report` commands."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from pingjia.cli import app
from serving.records import write_records
from serving.reports.attribution import attribution_report
from serving.reports.data import ReportInputError
from serving.reports.render import format_for, render
from tests.serving.reports_fixtures import PERIOD, demo_triple

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(corpus):
    return demo_triple(corpus)


@pytest.fixture(scope="module")
def report(demo):
    records, _, events = demo
    return attribution_report(records, "speed", period=PERIOD, events=events)


def test_render_html_is_self_contained(report):
    page = render(report, "html")

    assert '<img alt="weekly rate" src="data:image/png;base64,' in page
    assert (
        len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', page)) >= 2
    )
    assert not re.search(r"""(src|href)=["']?https?://""", page)
    assert "Synthetic demo data" in page


def test_render_markdown_has_sections(report):
    text = render(report, "md")

    for heading in (
        "# Attribution: speed",
        "## Verdict: systemic",
        "## Rise",
        "## Individual",
        "## Systemic",
        "### process_step: refund",
        "## Time",
    ):
        assert heading in text
    assert "| week | comments | hits | rate |" in text


def _plain(value):
    """True when value holds only what json.dumps writes without a default."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_reports_are_plain_json(report, demo):
    from serving.reports import retro_agenda, training_cases

    records = demo[0]
    for each in (report, retro_agenda(records, PERIOD), training_cases(records, n=2)):
        assert _plain(each), each["report"]
        assert json.loads(render(each, "json")) == json.loads(json.dumps(each))


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("a.json", "json"), ("a.md", "md"), ("a.HTML", "html"), (None, "json")],
)
def test_format_for_follows_extension(path, fmt):
    assert format_for(path, None) == fmt


def test_format_for_raises_error_with_unknown_extension():
    with pytest.raises(ReportInputError, match="expected an output file ending in"):
        format_for("report.pdf", None)


def test_render_raises_error_with_non_report():
    with pytest.raises(ReportInputError, match="expected a report dict"):
        render({"hello": 1}, "md")


def test_cli_demo_then_reports(demo, tmp_path):
    comments = tmp_path / "hand.jsonl"
    hand = [
        {k: v for k, v in r.items() if k not in ("agent_id", "created_at")}
        for r in demo[0]
    ]
    write_records(str(comments), hand)
    out = tmp_path / "demo.jsonl"

    result = runner.invoke(app, ["report", "demo", str(comments), "-o", str(out)])
    assert result.exit_code == 0, result.output
    events = tmp_path / "demo.events.csv"
    assert events.exists() and (tmp_path / "demo.manifest.json").exists()
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["synthetic"] is True and first["agent_id"].startswith("demo-agent-")

    html = tmp_path / "speed.html"
    args = [
        "report",
        "attribution",
        str(out),
        "-c",
        "speed",
        "--period",
        PERIOD,
        "--events",
        str(events),
        "-o",
        str(html),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "data:image/png;base64," in html.read_text(encoding="utf-8")

    agenda = tmp_path / "agenda.json"
    result = runner.invoke(
        app, ["report", "agenda", str(out), "--period", PERIOD, "-o", str(agenda)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(agenda.read_text())["issues"][0]["category"] == "speed"

    markdown = tmp_path / "agenda.md"
    result = runner.invoke(app, ["report", "render", str(agenda), "-o", str(markdown)])
    assert result.exit_code == 0, result.output
    assert "## Praise worth sharing" in markdown.read_text(encoding="utf-8")


def test_cli_reports_a_bad_category(demo, tmp_path):
    path = tmp_path / "demo.jsonl"
    write_records(str(path), demo[0][:200])

    result = runner.invoke(app, ["report", "attribution", str(path), "-c", "nosuch"])
    assert result.exit_code == 2
    assert "expected a category that occurs in the records" in result.output


def test_cli_reads_the_feedback_store(demo, tmp_path):
    store_module = pytest.importorskip("serving.store")
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = store_module.FeedbackStore(url)
    store.ingest(demo[0])
    store.close()

    out = tmp_path / "speed.json"
    args = [
        "report",
        "attribution",
        "--db",
        url,
        "-c",
        "speed",
        "--period",
        PERIOD,
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["verdict"] == "systemic"
    assert (
        report["rise"]["comments"]
        == attribution_report(demo[0], "speed", period=PERIOD)["rise"]["comments"]
    )


def test_cli_user_error_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    pingjia = str(Path(sys.executable).with_name("pingjia"))
    missing = tmp_path / "nope.jsonl"

    result = subprocess.run(
        [pingjia, "report", "attribution", str(missing), "-c", "speed"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "error: [Errno 2] No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
