"""The report in a real browser (headless Chromium): it renders with no error, charts drawn, urgent first."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from browser import Rendered, render, screenshot
from report_testkit import copy_fixture, local_event

from pipeline.local.report_adapters import report_locally
from pipeline.settings import AlertPolicy

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = copy_fixture(tmp_path_factory.mktemp("report"))
    return Path(str(report_locally(local_event(out), out, AlertPolicy())["report"]))


@pytest.fixture(scope="module")
def rendered(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(report, tmp_path_factory.mktemp("chromium"))


def test_the_report_renders_with_no_error_and_nothing_fetched(rendered):
    assert rendered.problems == []
    assert rendered.console == []


def test_every_chart_is_drawn_with_shapes(rendered):
    assert [chart["id"] for chart in rendered.charts] == ["chart-weekly", "chart-trend", "chart-states"]
    for chart in rendered.charts:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["shapes"] > 5, chart
    # The weekly chart stacks one bar per tier and week that has accreditations expiring.
    weekly = re.search(r'<svg[^>]*id="chart-weekly".*?</svg>', rendered.dom, re.S)
    assert (
        weekly and len(re.findall(r'<rect[^>]*class="rect reactive tooltip-trigger"', weekly.group(0))) >= 9
    )


def test_the_most_urgent_facility_is_listed_first(rendered):
    urgent = rendered.dom.split("<h2>Most urgent</h2>", 1)[1]
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", urgent, re.S)
    assert first_row
    text = unescape(re.sub(r"<[^>]+>", " ", first_row.group(1)))
    assert "Old Town Hospital" in text and "F-LAPSED-OLD" in text and "LAPSED" in text


def test_a_screenshot_is_taken_outside_the_repository(report, tmp_path):
    target = screenshot(report, tmp_path / "report.png", tmp_path)

    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert target.stat().st_size > 20_000
    assert not target.resolve().is_relative_to(Path(__file__).resolve().parents[2])


def test_the_probe_catches_a_page_that_fetches_or_runs_script(tmp_path):
    page = tmp_path / "fetching.html"
    page.write_text(
        "<!DOCTYPE html><html><head>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'"></head><body><img src="https://example.com/logo.png"><script>missing()</script></body></html>'
    )

    rendered = render(page, tmp_path)

    assert any("example.com" in problem for problem in rendered.problems)
    assert any("script" in problem for problem in rendered.problems)
    assert rendered.console
