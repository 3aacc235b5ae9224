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

if _os.environ.get("SHADOWIT_PURE", "") not in ("", "0"):  # only then: the finder costs start-up nothing otherwise
    import importlib.abc
    import importlib.util
    import sys

    class PureFinder(importlib.abc.MetaPathFinder):
        """Finds the ``.py`` source of a compiled module before the extension beside it."""

        def find_spec(self, fullname, path, target=None):
            if fullname not in COMPILED or not path:
                return None
            for folder in path:
                source = _os.path.join(folder, fullname.rpartition(".")[2] + ".py")
                if _os.path.isfile(source):
                    return importlib.util.spec_from_file_location(fullname, source)
            return None

    sys.meta_path.insert(0, PureFinder())
