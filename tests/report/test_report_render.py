"""The rendered page: self-contained (nothing it could load), bounded in size, what matters first."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

from accreditation_report.collect import collect_report_inputs
from accreditation_report.model import ReportRequest
from accreditation_report.render import render_report
from report_testkit import inputs_at_scale, local_event, write_production_at_scale

from pipeline.local.report_adapters import LocalReportReader

MAX_REPORT_BYTES = 2 * 1024 * 1024
# Attributes through which a page or an SVG loads or links something.
URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "poster",
    "data",
    "srcset",
    "background",
}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class Inventory(HTMLParser):
    """Every tag, every URL-bearing attribute and every style text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in URL_ATTRIBUTES:
                self.urls.append((tag, name, value or ""))
            if name == "style":
                self.styles.append(value or "")

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def inventory(page: str) -> Inventory:
    parser = Inventory()
    parser.feed(page)
    return parser


def fixture_page(out: Path, event: dict[str, object]) -> str:
    return render_report(collect_report_inputs(LocalReportReader(out), ReportRequest.from_event(event)))


def test_the_page_references_nothing_it_could_load(out, event):
    page = fixture_page(out, event)
    found = inventory(page)

    assert found.urls == []
    assert "script" not in found.tags
    assert not any(re.search(r"url\(|@import", style) for style in found.styles)
    # The only absolute URLs are the SVG namespace names, which nothing fetches.
    assert set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", page)) == {SVG_NAMESPACE}
    assert len(re.findall("https?:", page)) == page.count(f'xmlns="{SVG_NAMESPACE}"')
    # And the page tells the browser so: a Content-Security-Policy that allows no fetch at all.
    assert "default-src 'none'" in page


def test_the_most_urgent_entries_are_listed_first_with_their_marks(out, event):
    page = fixture_page(out, event)
    urgent = page.split("<h2>Most urgent</h2>", 1)[1].split("</section>", 1)[0]

    rows = re.findall(r"<tr>(.*?)</tr>", urgent)[1:]
    assert "F-LAPSED-OLD" in rows[0] and "LAPSED" in rows[0]
    assert "F-NEWLAPSE" in rows[1] and "NEWLY LAPSED" in rows[1]
    assert "F-CRIT-NEW" in rows[2] and ">NEW<" in rows[2]
    assert "F-CRIT-ESC" in rows[3] and "ESCALATED" in rows[3]
    # Names are escaped, never markup.
    assert "&lt;Clinic &amp; Co&gt;" in rows[2]
    assert "<Clinic" not in page


def test_the_page_shows_headline_charts_trend_resolved_states_quality_and_locations(out, event):
    page = fixture_page(out, event)

    for heading in (
        "Headline",
        "Most urgent",
        "Changed since the last run",
        "Expiring per week",
        "Trend",
        "Resolved since the last run",
        "Facilities per state",
        "Data quality",
        "Where the results are",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<svg") == 3
    assert "critical (0-30 days)" in page and "later (91+ days)" in page
    assert "Greenfield Clinic" in page and "valid until 2029-12-01" in page
    assert (
        "not a JSON object" in page
        and "valid_until: not a YYYY-MM-DD date" in page
        and "ownership_type" in page
    )
    assert "as_of=2026-12-01/report.html" in page
    assert "@media print" in page


def test_a_first_run_says_so_and_lists_no_changes(out):
    page = fixture_page(out, local_event(out, previous_as_of=None))

    assert "First run" in page
    assert "<h2>Changed since the last run</h2>" not in page


def test_the_same_inputs_give_the_same_page(out, event):
    assert fixture_page(out, event) == fixture_page(out, event)


def test_a_million_facility_run_stays_under_2_mb():
    inputs = inputs_at_scale(1_000_000)

    page = render_report(inputs)

    assert len(page.encode("utf-8")) < MAX_REPORT_BYTES
    assert page.count("<tr>") > 300  # every list at its cap
    assert "FAC-0000000" in page


def test_long_result_files_keep_only_the_top_of_each_list(tmp_path):
    event = local_event(tmp_path)
    write_production_at_scale(tmp_path / "production" / "as_of=2026-12-01", facilities=100_000)

    inputs = collect_report_inputs(LocalReportReader(tmp_path), ReportRequest.from_event(event))
    page = render_report(inputs)

    assert inputs.headline.expiring_in_window == 15_000
    assert len(inputs.urgent.entries) == 100 and inputs.urgent.omitted > 5_000
    assert len(page.encode("utf-8")) < MAX_REPORT_BYTES
    assert len(render_report(dataclasses.replace(inputs, trend=inputs.trend * 90))) < MAX_REPORT_BYTES
