"""Detector registry: each module turns one family of observations into findings."""

from __future__ import annotations

from .base import Detector, DetectorContext
from .credentials import CredentialDetector
from .filesharing import FileSharingDetector
from .identity import IdentityDetector, directory_of
from .wifi import WifiDropDetector

DETECTORS: list[type[Detector]] = [
    FileSharingDetector,
    CredentialDetector,
    WifiDropDetector,
    IdentityDetector,
]


def build_detectors(ctx: DetectorContext) -> list[Detector]:
    return [cls(ctx) for cls in DETECTORS]


__all__ = ["DETECTORS", "Detector", "DetectorContext", "build_detectors", "IdentityDetector", "directory_of"]
