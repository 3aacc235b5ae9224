"""Build: the hot modules (detector.COMPILED) are compiled by Cython when it and a C compiler are there.

Without Cython or a compiler (or with SHADOWIT_PURE=1 at install), the package installs as pure Python: a
failed compilation is a warning, never a failed install. The metadata lives in setup.cfg.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


def compiled_modules() -> tuple[str, ...]:
    """``detector.COMPILED``, read without importing the package (the build environment may lack its deps)."""
    namespace: dict = {}
    source = (HERE / "detector" / "__init__.py").read_text(encoding="utf-8")
    exec(compile(source, "detector/__init__.py", "exec"), namespace)  # noqa: S102 - our own file
    return namespace["COMPILED"]


def extensions() -> list:
    if os.environ.get("SHADOWIT_PURE", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("shadowit: Cython is not installed; installing the pure-Python build", file=sys.stderr)
        return []
    modules = [Extension(name, [name.replace(".", "/") + ".py"]) for name in compiled_modules()]
    try:
        return cythonize(modules, quiet=True, compiler_directives={"language_level": 3, "binding": True})
    except Exception as exc:  # noqa: BLE001 - a Cython that cannot translate: still install, as pure Python
        print(f"shadowit: Cython failed ({exc}); installing the pure-Python build", file=sys.stderr)
        return []


class OptionalBuildExt(build_ext):
    """A missing compiler or a failed compilation leaves that module pure Python."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001
            print(f"shadowit: no compiled modules ({exc}); the pure-Python build is used", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"shadowit: {ext.name} not compiled ({exc}); its pure-Python module is used", file=sys.stderr)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
