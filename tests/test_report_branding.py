"""Branding: client name, logo (inlined, size-checked, SVG sanitized) and classification marking."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.samples import office_packets, write_pcapng
from reports.branding import MAX_LOGO_BYTES, Branding, BrandingError, load_logo, sanitize_svg
from reports.render import ReportOptions, css_string, render_report
from tests.test_report import every_category, site_report

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
EVIL_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"
     onload="alert(1)">
  <script>alert(2)</script>
  <style>@import url(https://evil.example/x.css);</style>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <a href="https://evil.example"><rect width="5" height="5"/></a>
  <image href="https://evil.example/t.png" width="1" height="1"/>
  <rect id="r" width="10" height="10" fill="url(#g)" onclick="alert(3)" style="fill:url(https://evil.example)"/>
  <use xlink:href="https://evil.example/s.svg#x"/>
  <use href="#r"/>
  <circle cx="5" cy="5" r="2" fill="url(https://evil.example/p)"/>
  <text x="1" y="9">ACME</text>
</svg>"""


def test_svg_keeps_drawing_and_drops_everything_active():
    clean = sanitize_svg(EVIL_SVG).decode()
    for bad in ("script", "alert", "onload", "onclick", "foreignObject", "evil.example", "style", "<a", "<image"):
        assert bad not in clean, bad
    assert "<rect" in clean and 'href="#r"' in clean and "ACME" in clean and 'fill="url(#g)"' in clean


def test_svg_with_entities_or_not_svg_is_refused(tmp_path):
    bomb = b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'
    with pytest.raises(BrandingError, match="DOCTYPE"):
        sanitize_svg(bomb)
    with pytest.raises(BrandingError):
        sanitize_svg(b"<html><body>not an image</body></html>")
    text = tmp_path / "logo.txt"
    text.write_text("just text")
    with pytest.raises(BrandingError, match="not a PNG"):
        load_logo(text)


def test_logo_size_is_checked(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * MAX_LOGO_BYTES)
    with pytest.raises(BrandingError, match="limit"):
        load_logo(big)
    small = tmp_path / "small.png"
    small.write_bytes(PNG)
    assert load_logo(small) == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_branding_reaches_cover_and_every_printed_page(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_bytes(EVIL_SVG)
    branding = Branding.from_options("Muster <GmbH>", logo, 'Streng vertraulich"; } body { display:none')
    html = render_report([site_report(every_category())], options=ReportOptions("de", branding))
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert "Muster &lt;GmbH&gt;" in cover and 'src="data:image/svg+xml;base64,' in cover
    embedded = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', cover).group(1)
    assert b"script" not in base64.b64decode(embedded)
    assert "cover-marking" in cover
    page_rule = re.search(r"@top-center \{ content: \"([^\"]*)\"", html)
    assert page_rule, "classification missing from the printed page margins"
    assert re.fullmatch(r"[A-Z0-9 ]*(\\[0-9a-f]{6}[A-Z0-9 ]*)*", page_rule.group(1))
    margin_style = html.split("<style>", 2)[2].split("</style>", 1)[0]
    assert "@top-center" in margin_style and "display:none" not in margin_style and '"; }' not in margin_style


def test_css_string_cannot_break_out():
    assert css_string('a"b</style>') == "a\\000022b\\00003c\\00002fstyle\\00003e"
    assert css_string("VERTRAULICH 2") == "VERTRAULICH 2"


def test_branding_options_on_scan_and_report(tmp_path):
    capture = write_pcapng(tmp_path / "office.pcapng",
                           office_packets(datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()))
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    db = tmp_path / "a.db"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(capture), "--db", str(db), "-q", "--report", str(tmp_path / "s.html"),
                                  "--client", "Cabinet Dupont", "--logo", str(logo),
                                  "--classification", "Diffusion restreinte", "--lang", "fr"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "Cabinet Dupont" in html and "data:image/png;base64," in html and "Diffusion restreinte" in html
    result = runner.invoke(main, ["report", "--db", str(db), "-o", str(tmp_path / "r.html"), "--client", "Other Client",
                                  "--classification", "TLP:AMBER"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Other Client" in (tmp_path / "r.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg><unclosed></svg>")
    result = runner.invoke(main, ["report", "--db", str(db), "-o", str(tmp_path / "x.html"), "--logo", str(bad)])
    assert result.exit_code == 2 and "shadowit: error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------- hostile SVG logos (issue 25)

SVG_OPEN = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 9 9">'


def use_bomb(levels: int = 8, fan_out: int = 10) -> bytes:
    """Each level draws the one below ``fan_out`` times: fan_out ** levels shapes from a few hundred bytes."""
    groups = [b'<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, levels + 1):
        uses = b"".join(b'<use xlink:href="#l%d"/>' % (level - 1) for _ in range(fan_out))
        groups.append(b'<g id="l%d">%s</g>' % (level, uses))
    return SVG_OPEN + b"<defs>" + b"".join(groups) + b'</defs><use xlink:href="#l%d"/></svg>' % levels


def deep_svg(depth: int) -> bytes:
    return SVG_OPEN + b"<g>" * depth + b'<rect width="1" height="1"/>' + b"</g>" * depth + b"</svg>"


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1 else b"&lol;" * 10)
                             for n in range(1, 10))
                  + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>')


@pytest.mark.parametrize(("data", "reason"), [
    (deep_svg(1000), "nested deeper than 64 elements"),
    (deep_svg(65), "nested deeper than 64 elements"),
    (SVG_OPEN + b"<g/>" * 10_001 + b"</svg>", "more than 10000 elements"),
    (use_bomb(), "<use> refers to an element that holds another <use>"),
    (SVG_OPEN + b'<g id="a"><use xlink:href="#a"/></g></svg>', "<use> refers to an element that holds another"),
    (SVG_OPEN + b'<g id="many">' + b'<rect width="1" height="1"/>' * 999 + b"</g>"
     + b'<use href="#many"/>' * 60 + b"</svg>", "would draw more than 50000 elements"),
    (BILLION_LAUGHS, "DOCTYPE or entities"),
], ids=["deep-1000", "deep-65", "wide", "use-bomb", "use-cycle", "use-copies", "billion-laughs"])
def test_hostile_svg_logo_is_refused_in_one_line(tmp_path, data, reason):
    logo = tmp_path / "logo.svg"
    logo.write_bytes(data)
    assert len(data) <= MAX_LOGO_BYTES
    with pytest.raises(BrandingError, match=re.escape(reason)):
        load_logo(logo)
    result = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "r.html"),
                                       "--logo", str(logo)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"shadowit: error: --logo {logo}: ") and reason in lines[0]
    assert not (tmp_path / "r.html").exists()


def test_a_normal_logo_with_use_and_depth_is_still_embedded(tmp_path):
    logo = tmp_path / "logo.svg"
    drawing = deep_svg(60)[len(SVG_OPEN):-len(b"</svg>")]
    logo.write_bytes(SVG_OPEN + b'<defs><symbol id="dot"><circle r="1"/></symbol></defs>' + drawing
                     + b'<use xlink:href="#dot" x="2"/>' * 20 + b"</svg>")
    uri = load_logo(logo)
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert uri.startswith("data:image/svg+xml;base64,") and svg.count("<use") == 20 and svg.count("<g") == 60
