"""Finding kinds: each declared once (typed, frozen), presented once, looked up by name only where text comes in."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from detector.findings.attributes import AttributeTypeError
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import Finding
from detector.findings.registry import KINDS, UnknownKind, kind_named
from reports.kinds import presentation_of
from reports.kinds.base import PRESENTATIONS


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.detector)
def test_every_declared_kind_has_a_presentation(kind) -> None:
    assert kind in PRESENTATIONS, f"add the presentation of {kind.__name__} in reports/kinds/"
    finding = Finding(id="x", title="t", first_seen=None, last_seen=None, count=1, hosts=["10.0.0.1"],
                      attributes=kind())
    presentation = presentation_of(finding)
    assert presentation.advice.label and presentation.advice.what_to_do
    assert presentation.subject(finding) and presentation.acting_hosts(finding) == ["10.0.0.1"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.detector)
def test_every_kind_names_its_detector_category_and_summary_once(kind) -> None:
    assert kind.detector and kind.category and kind.summary
    assert kind_named(kind.detector) is kind
    assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen


def test_the_finding_takes_detector_and_category_from_its_kind() -> None:
    finding = Finding(id="x", title="t", first_seen=None, last_seen=None, count=1, hosts=[],
                      attributes=ServiceUseAttributes(service="Box"))
    assert (finding.detector, finding.category) == ("filesharing.service", "file-sharing")
    assert finding.as_dict()["detector"] == "filesharing.service"


def test_an_unknown_detector_name_is_refused() -> None:
    with pytest.raises(UnknownKind, match="no finding kind has the detector 'filesharing.servise'"):
        kind_named("filesharing.servise")


def test_attributes_are_frozen_typed_and_read_by_name_only_when_declared() -> None:
    attributes = ServiceUseAttributes(service="Box")
    with pytest.raises(dataclasses.FrozenInstanceError):
        attributes.service = "MEGA"  # type: ignore[misc]
    with pytest.raises(AttributeTypeError, match="service=3 is not str"):
        ServiceUseAttributes(service=3)  # type: ignore[arg-type]
    assert attributes.value("service") == "Box"
    with pytest.raises(KeyError, match="no attribute 'username'"):
        attributes.value("username")


def test_the_envelope_does_not_import_the_registry() -> None:
    """finding.py sits below the kinds: importing it must not pull in every kind (no import cycle)."""
    code = "import sys, detector.findings.finding; print('detector.findings.registry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
