"""One target under atheris (libFuzzer), in its own process: ``python -m fuzz.worker NAME [libFuzzer args]``.

The runner (``python -m fuzz``) starts one of these per target so that a
crash, a hang or a memory blow-up ends only that target's run.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    import atheris

    # parse every input: a parse cache hit would skip the code under test and fill the cache
    os.environ.setdefault("SHADOWIT_NO_CACHE", "1")

    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m fuzz.worker TARGET [libFuzzer options] [corpus dirs]")
    name = sys.argv[1]
    with atheris.instrument_imports(include=["detector", "reports"]):
        # everything a target may import lazily must be imported here, or it runs uninstrumented
        import detector.documents.mime  # noqa: F401
        import detector.policy  # noqa: F401
        import detector.policy.catalog  # noqa: F401
        import detector.policy.yamlparse  # noqa: F401
        import detector.policy.yamlsrc  # noqa: F401
        import detector.session.pipeline  # noqa: F401
        import detector.session.scan  # noqa: F401
        import detector.store.store  # noqa: F401
        import reports.render  # noqa: F401
        from fuzz.targets import TARGETS
    if name not in TARGETS:
        raise SystemExit(f"unknown target {name!r}; try: python -m fuzz --list")
    run = TARGETS[name].run

    def test_one_input(data: bytes) -> None:
        run(data)

    atheris.Setup([sys.argv[0]] + sys.argv[2:], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
