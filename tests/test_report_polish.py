"""The report's rough edges of issue 26: exceptions in plain sight, F-numbers in reading order, trend labels, one
time zone on the first page, the evidence cap stated."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from test_report import T0, make_finding, make_scan

from detector.findings.finding import CATEGORY_CREDENTIALS, CATEGORY_FILE_SHARING, CATEGORY_WIFI, Evidence
from reports.render import SiteReport, render_report
from reports.svg import history_chart

EXCEPTION = {"rule": "site-allow-dropbox", "reason": "Company Dropbox Business, DPA signed",
             "owner": "IT lead (B. Maier)", "expires": "2099-12-31", "expired": False, "location": "rules.yaml:12:5"}


def dropbox(sanctioned: bool, exception: dict) -> object:
    return make_finding("fs-dbx", CATEGORY_FILE_SHARING, "high", sanctioned=sanctioned, rule=exception["rule"],
                        title="Dropbox used by 1 device(s)", exception=exception,
                        remediation="Public paste and anonymous transfer sites should be blocked.",
                        attributes={"service": "Dropbox", "service_category": "cloud-storage", "risk": "high"})


def test_a_sanctioned_finding_shows_its_exception_and_no_blocking_advice():
    html = render_report([SiteReport(result=make_scan([dropbox(True, EXCEPTION)]))])
    detail = html.split('id="s1-f1"', 1)[1].split('class="detail"', 1)[0]
    for part in ("site-allow-dropbox", "DPA signed", "IT lead (B. Maier)", "2099-12-31", "rules.yaml:12:5"):
        assert part in detail, part
    assert "should be blocked" not in html and "Service risk" not in detail
    services = html.split('id="s1-services"', 1)[1].split("</section>", 1)[0]
    assert "Dropbox" in services and "service risk" not in services
    assert "block it" not in html.split("Appendix A", 1)[0].split('id="s1-findings"', 1)[-1]


def test_an_expired_exception_is_on_the_finding_and_in_the_expired_rules():
    expired = {**EXCEPTION, "expires": "2024-01-31", "expired": True}
    html = render_report([SiteReport(result=make_scan([dropbox(False, expired)]),
                                     expired_allows=[("site-allow-dropbox", "2024-01-31", "DPA signed",
                                                      "IT lead (B. Maier)", "rules.yaml:12:5")])])
    detail = html.split('id="s1-f1"', 1)[1]
    assert "Exception expired" in detail and "expired on 2024-01-31" in detail and "IT lead (B. Maier)" in detail
    allows = html.split('id="s1-allows"', 1)[1].split("</section>", 1)[0]
    assert "IT lead (B. Maier)" in allows and "rules.yaml:12:5" in allows


def test_f_numbers_follow_the_order_the_report_shows():
    findings = [make_finding("c1", CATEGORY_CREDENTIALS, "critical"), make_finding("w1", CATEGORY_WIFI, "high"),
                make_finding("f1", CATEGORY_FILE_SHARING, "low"), make_finding("f2", CATEGORY_FILE_SHARING, "medium")]
    html = render_report([SiteReport(result=make_scan(findings))])
    findings_part = html.split('id="s1-findings"', 1)[1].split("Appendix A", 1)[0]
    refs = [int(n) for n in re.findall(r">F(\d+)<", findings_part)]
    shown = list(dict.fromkeys(refs))
    assert shown == sorted(shown) and shown[0] == 1
    appendix = [int(n) for n in re.findall(r"<strong>F(\d+)</strong>", html.split("Appendix A", 1)[1])]
    assert appendix == sorted(appendix)


def test_two_scans_on_one_day_get_their_times_as_labels():
    chart = str(history_chart([(T0, {"high": 1}), (T0 + 3600, {"high": 2}), (T0 + 86400, {"low": 1})]))
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert labels.count("03-01") == 2 and "08:00" in labels and "09:00" in labels and "03-02" in labels


def test_the_first_page_speaks_one_time_zone():
    html = render_report([SiteReport(result=make_scan([]), zone=ZoneInfo("Europe/Berlin"), generated=T0)])
    header = html.split("Generated ", 1)[1].split(" by shadowit", 1)[0]
    assert header.endswith("09:00 Europe/Berlin"), header
    assert " UTC" not in html.split('id="s1-summary"', 1)[0].split("<body", 1)[1]


def test_the_evidence_cap_is_stated_where_it_applies():
    finding = make_finding("f1", CATEGORY_FILE_SHARING, count=45,
                           evidence=[Evidence("2024-03-01T10:00:00Z", "c.pcap:frame 1", "SNI x")] * 20)
    assert finding.as_dict()["evidence_omitted"] == 25
    html = render_report([SiteReport(result=make_scan([finding]))])
    assert "Evidence kept: 20 of 45 occurrences; 25 are counted without an evidence line" in html
    few = make_finding("f2", CATEGORY_FILE_SHARING, count=1, evidence=[Evidence(None, "c.pcap:frame 1", "SNI x")])
    assert few.as_dict()["evidence_omitted"] == 0
    assert "Evidence kept" not in render_report([SiteReport(result=make_scan([few]))])


def test_two_scans_in_one_minute_are_told_apart_by_their_seconds():
    chart = str(history_chart([(T0, {"high": 1}), (T0 + 10, {"high": 2})]))
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert "08:00:00" in labels and "08:00:10" in labels
