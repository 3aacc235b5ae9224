"""Detector registry: each module turns one family of observations into findings."""

from __future__ import annotations

from detector.detectors.base import Detector, DetectorContext
from detector.detectors.credentials import CredentialDetector
from detector.detectors.filesharing import FileSharingDetector
from detector.detectors.identity import IdentityDetector, directory_of
from detector.detectors.wifi import WifiDropDetector

DETECTORS: list[type[Detector]] = [
    FileSharingDetector,
    CredentialDetector,
    WifiDropDetector,
    IdentityDetector,
]


def build_detectors(ctx: DetectorContext) -> list[Detector]:
    return [cls(ctx) for cls in DETECTORS]


__all__ = ["DETECTORS", "Detector", "DetectorContext", "build_detectors", "IdentityDetector", "directory_of"]
