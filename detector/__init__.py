"""shadowit: find the workarounds staff build when IT support fails them.

The per-packet modules in ``COMPILED`` are compiled by Cython (pure-Python mode: the same ``.py`` files) when
``setup.py`` finds Cython and a C compiler; otherwise they run as plain Python. ``SHADOWIT_PURE=1`` makes the
``.py`` files load even where the compiled modules are installed, to compare both builds.
"""

import os as _os

__version__ = "0.1.0"

# the per-packet path: the record walk, the dispatcher, the decoding and metering flow tables (setup.py reads this)
COMPILED = (
    "detector.capture.records",
    "detector.capture.pcap",
    "detector.capture.pcapng",
    "detector.capture.dispatch",
    "detector.capture.flows",
    "detector.capture.meter",
)

_PURE = _os.environ.get("SHADOWIT_PURE", "") not in ("", "0")


class _SourceFinder:
    """Loads a compiled module's ``.py`` source instead of the extension beside it when ``SHADOWIT_PURE`` is set,
    or when the source is newer than every extension built from it (an edit since ``pip install -e .``: the
    stale build must not run instead of the code being tested)."""

    @classmethod
    def find_spec(cls, fullname, path, target=None):
        if fullname not in COMPILED or not path:
            return None
        import importlib.util

        name = fullname.rpartition(".")[2]
        for folder in path:
            source = _os.path.join(folder, name + ".py")
            if not _os.path.isfile(source):
                continue
            if _PURE or _stale(folder, name, _os.path.getmtime(source)):
                return importlib.util.spec_from_file_location(fullname, source)
            return None
        return None


def _stale(folder: str, name: str, source_mtime: float) -> bool:
    built = [entry.path for entry in _os.scandir(folder) if entry.name.startswith(name + ".") and
             entry.name.endswith((".so", ".pyd"))]
    return bool(built) and all(_os.path.getmtime(path) < source_mtime for path in built)


def _install_source_finder() -> None:
    import sys

    sys.meta_path.insert(0, _SourceFinder)


_install_source_finder()
