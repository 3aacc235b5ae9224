"""The consultant's branding on a report: client name, logo, classification marking.

The logo ends up inlined as a data URI (the report loads nothing). Raster images
are checked by their magic bytes; an SVG is rebuilt from an allow-list of
drawing elements and attributes, so no script, event handler, foreign object,
style sheet or external reference survives, even though an <img> would not run
them anyway. Before that its size as drawn is bounded (nesting depth, element
count, what <use> expands to), so a small file cannot stall the report's browser.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the XML parser loads only when an SVG logo is given (start-up, issue 15)
    import xml.etree.ElementTree as ElementTree

MAX_LOGO_BYTES = 256 * 1024
MAX_SVG_DEPTH = 64
MAX_SVG_ELEMENTS = 10_000
MAX_SVG_DRAWN = 50_000  # elements as drawn: each <use> draws its target's whole subtree again
MAX_TEXT = 120
_RASTER = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
SVG_NS = "http://www.w3.org/2000/svg"
SVG_ELEMENTS = frozenset({
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "defs",
    "linearGradient", "radialGradient", "stop", "clipPath", "mask", "title", "desc", "use", "symbol",
})
SVG_ATTRIBUTES = frozenset({
    "viewBox", "width", "height", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "d", "points",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "opacity", "transform", "id", "offset",
    "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "clip-path", "clip-rule", "mask",
    "font-family", "font-size", "font-weight", "text-anchor", "dominant-baseline", "preserveAspectRatio",
    "href", "version", "letter-spacing",
})
_URL = re.compile(r"url\(\s*['\"]?\s*([^)'\" ]*)", re.IGNORECASE)


class BrandingError(ValueError):
    """A logo that is too big, not an image, or not a clean SVG."""


@dataclass
class Branding:
    """What --client, --logo and --classification put on the cover and every printed page."""

    client: str = ""
    logo_data_uri: str = ""
    classification: str = ""

    @classmethod
    def from_options(cls, client: Optional[str], logo: Optional[Path], classification: Optional[str]) -> Branding:
        return cls(_text(client), load_logo(logo) if logo else "", _text(classification))


def _text(value: Optional[str]) -> str:
    text = " ".join((value or "").split())
    return text[:MAX_TEXT]


def load_logo(path: Path) -> str:
    """A data URI for the image at ``path``; BrandingError with one clear reason otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_LOGO_BYTES:
            raise BrandingError(f"{path}: logo is {size} bytes; the limit is {MAX_LOGO_BYTES} (256 KiB)")
        data = path.read_bytes()
    except OSError as exc:
        raise BrandingError(f"{path}: cannot read logo: {exc.strerror}") from None
    for magic, mime in _RASTER:
        if data.startswith(magic):
            return _data_uri(mime, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _data_uri("image/webp", data)
    return _data_uri("image/svg+xml", sanitize_svg(data, str(path)))


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def sanitize_svg(data: bytes, where: str = "logo") -> bytes:
    """The SVG rebuilt with allowed elements and attributes only; local (#id) references only."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise BrandingError(f"{where}: SVG with a DOCTYPE or entities is not accepted")
    import xml.etree.ElementTree as ElementTree

    root = _parse_bounded(data, where)
    if _local(root.tag) != "svg":
        raise BrandingError(f"{where}: not a PNG, JPEG, GIF, WebP or SVG image")
    _check_use_expansion(root, where)
    clean = _copy(root)
    ElementTree.register_namespace("", SVG_NS)
    return ElementTree.tostring(clean, encoding="utf-8")


def _parse_bounded(data: bytes, where: str) -> ElementTree.Element:
    """The parsed tree, refused as soon as it nests deeper than MAX_SVG_DEPTH or holds over MAX_SVG_ELEMENTS."""
    import xml.etree.ElementTree as ElementTree

    parser = ElementTree.XMLPullParser(events=("start", "end"))
    root: Optional[ElementTree.Element] = None
    depth = elements = 0
    try:
        parser.feed(data)
        parser.close()
        for event, element in parser.read_events():
            if event == "end":
                depth -= 1
                continue
            root = element if root is None else root
            depth += 1
            elements += 1
            if depth > MAX_SVG_DEPTH:
                raise BrandingError(f"{where}: SVG nested deeper than {MAX_SVG_DEPTH} elements; simplify the logo "
                                    "or give a PNG")
            if elements > MAX_SVG_ELEMENTS:
                raise BrandingError(f"{where}: SVG with more than {MAX_SVG_ELEMENTS} elements; simplify the logo "
                                    "or give a PNG")
    except ElementTree.ParseError as exc:
        raise BrandingError(f"{where}: not a PNG, JPEG, GIF, WebP or well-formed SVG ({exc})") from None
    if root is None:
        raise BrandingError(f"{where}: not a PNG, JPEG, GIF, WebP or SVG image")
    return root


def _check_use_expansion(root: ElementTree.Element, where: str) -> None:
    """Refuse a <use> bomb: a <use> whose target holds another <use> (chains multiply), or copies that together
    draw more than MAX_SVG_DRAWN elements."""
    subtree_size: dict[int, int] = {}
    holds_use: dict[int, bool] = {}
    by_id: dict[str, ElementTree.Element] = {}
    for element in _post_order(root):
        children = list(element)
        subtree_size[id(element)] = 1 + sum(subtree_size[id(child)] for child in children)
        holds_use[id(element)] = _local(element.tag) == "use" or any(holds_use[id(child)] for child in children)
        if element.get("id"):
            by_id.setdefault(element.get("id", ""), element)
    drawn = subtree_size[id(root)]
    for element in root.iter():
        if _local(element.tag) != "use":
            continue
        target = by_id.get(_href(element).removeprefix("#"))
        if target is None:
            continue
        if holds_use[id(target)]:
            raise BrandingError(f"{where}: SVG <use> refers to an element that holds another <use>; "
                                "expand the logo or give a PNG")
        drawn += subtree_size[id(target)]
        if drawn > MAX_SVG_DRAWN:
            raise BrandingError(f"{where}: SVG <use> copies would draw more than {MAX_SVG_DRAWN} elements; "
                                "simplify the logo or give a PNG")


def _post_order(root: ElementTree.Element) -> list[ElementTree.Element]:
    """Children before their parent, without recursion."""
    order: list[ElementTree.Element] = []
    stack = [root]
    while stack:
        element = stack.pop()
        order.append(element)
        stack.extend(element)
    return order[::-1]


def _href(element: ElementTree.Element) -> str:
    """The reference of a <use>, written href or xlink:href."""
    for name, value in element.attrib.items():
        if _local(name) == "href":
            return value
    return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _copy(element: ElementTree.Element) -> ElementTree.Element:
    import xml.etree.ElementTree as ElementTree

    out = ElementTree.Element(f"{{{SVG_NS}}}{_local(element.tag)}")
    for name, value in element.attrib.items():
        local = _local(name)
        if local in SVG_ATTRIBUTES and _safe_value(local, value):
            out.set(local, value)
    out.text = element.text if _local(element.tag) in ("text", "tspan", "title", "desc") else None
    for child in element:
        if _local(child.tag) in SVG_ELEMENTS:
            copied = _copy(child)
            copied.tail = None
            out.append(copied)
    return out


def _safe_value(name: str, value: str) -> bool:
    """Only same-document references: href="#id" and url(#id)."""
    if name == "href":
        return value.startswith("#")
    lowered = value.lower()
    if "javascript:" in lowered or "data:" in lowered:
        return False
    return all(target.startswith("#") for target in _URL.findall(value))
