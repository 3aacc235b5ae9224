"""``python -m fuzz --seconds 60 [--target NAME] [--jobs 2]``: run every fuzz target for N seconds each.

Each target runs in its own atheris (libFuzzer) subprocess with its seed
corpus; a crash is saved under fuzz/crashers/<target>/ and the target is
restarted for the rest of its time. The table at the end gives executions,
coverage (libFuzzer's ``cov:`` figure: instrumented edges reached) and
crashes per target. Exit status 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRASHERS = Path(__file__).resolve().parent / "crashers"
DEFAULT_WORKDIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shadowit-fuzz"
MAX_RESTARTS = 20

_COV = re.compile(r"\bcov: (\d+)")
_EXECS = re.compile(r"stat::number_of_executed_units: (\d+)")
_DONE = re.compile(r"Done (\d+) runs")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_RSS = re.compile(r"stat::peak_rss_mb: (\d+)")


@dataclass
class Outcome:
    name: str
    executions: int = 0
    coverage: int = 0
    crashes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: int = 0
    seeds: int = 0
    note: str = ""


def _parse(text: str, outcome: Outcome) -> str:
    """Add one run's figures to ``outcome``; return the crash artifact path, or ''."""
    executions = _EXECS.findall(text) or _DONE.findall(text)
    if executions:
        outcome.executions += int(executions[-1])
    else:  # a crash ends the run before the final stats: take the last status line
        counts = re.findall(r"^#(\d+)\s", text, re.M)
        outcome.executions += int(counts[-1]) if counts else 0
    covs = _COV.findall(text)
    if covs:
        outcome.coverage = max(outcome.coverage, int(covs[-1]))
    rss = _RSS.findall(text)
    if rss:
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, int(rss[-1]))
    artifact = _ARTIFACT.findall(text)
    return artifact[-1] if artifact else ""


def write_seeds(seed_dir: Path, seeds: list[bytes]) -> None:
    if seed_dir.exists():
        shutil.rmtree(seed_dir)
    seed_dir.mkdir(parents=True)
    for index, seed in enumerate(seeds):
        (seed_dir / f"seed-{index:04d}").write_bytes(seed)


def run_target(name: str, seconds: float, workdir: Path, max_len: int, timeout: int,
               rss_limit_mb: int, log_dir: Path) -> Outcome:
    corpus = workdir / "corpus" / name
    seed_dir = workdir / "seeds" / name
    outcome = Outcome(name, seeds=len(list(seed_dir.iterdir())))
    crash_dir = CRASHERS / name
    corpus.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep))
    runs = 0
    while runs <= MAX_RESTARTS:
        left = int(deadline - time.monotonic())
        if left < 2:
            break
        runs += 1
        staging = workdir / "artifacts" / name
        staging.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "fuzz.worker", name, f"-max_total_time={left}", f"-max_len={max_len}",
                   f"-timeout={timeout}", f"-rss_limit_mb={rss_limit_mb}", "-print_final_stats=1",
                   f"-artifact_prefix={staging}/", str(corpus), str(seed_dir)]
        log = log_dir / f"{name}.{os.getpid()}.{runs}.log"  # runners may share a work directory
        with open(log, "w") as handle:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
            try:  # start-up (instrumenting every module) can take minutes on a loaded machine
                returncode = proc.wait(timeout=left + 900)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                outcome.note = f"worker did not finish in time; killed (see {log})"
                _parse(log.read_text(errors="replace"), outcome)
                break
        text = log.read_text(errors="replace")
        artifact = _parse(text, outcome)
        if returncode == 0:
            break
        if artifact and Path(artifact).exists():
            crash_dir.mkdir(parents=True, exist_ok=True)
            kept = crash_dir / Path(artifact).name
            again = kept.exists() or str(kept.relative_to(ROOT)) in outcome.crashes
            shutil.move(artifact, kept)
            if again:  # the same input again (e.g. the empty one, always tried first): restarting cannot help
                outcome.note = f"{kept.name} crashes at start-up; fix it before fuzzing further"
                if str(kept.relative_to(ROOT)) not in outcome.crashes:
                    outcome.crashes.append(str(kept.relative_to(ROOT)))
                break
            outcome.crashes.append(str(kept.relative_to(ROOT)))
        else:
            outcome.note = f"worker exited {returncode} without an artifact; see {log}"
            outcome.crashes.append(str(log))
            break
    outcome.seconds = time.monotonic() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="fuzzing time per target (default 60)")
    parser.add_argument("--target", action="append", default=[], help="only this target (repeatable; prefix* ok)")
    parser.add_argument("--jobs", type=int, default=1, help="targets run at the same time (default 1)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"corpora and logs ({DEFAULT_WORKDIR})")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take before it is a hang")
    parser.add_argument("--rss-limit-mb", type=int, default=1536, help="memory one target may use")
    parser.add_argument("--reseed", action="store_true", help="rebuild the seed corpora (kept in --workdir)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from fuzz.seeds import seeds_for
    from fuzz.targets import TARGETS

    names = _select(list(TARGETS), args.target)
    if args.list:
        for name in names:
            target = TARGETS[name]
            print(f"{name:24} {target.doc}")
        return 0
    if not names:
        print(f"no target matches {args.target}", file=sys.stderr)
        return 2
    missing = [n for n in names if args.reseed or not any((args.workdir / "seeds" / n).glob("seed-*"))]
    if missing:
        print(f"building seed corpora for {len(missing)} target(s)...", flush=True)
        for name, seeds in seeds_for(TARGETS[n] for n in missing).items():
            write_seeds(args.workdir / "seeds" / name, seeds)
    log_dir = args.workdir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    def one(name: str) -> Outcome:
        target = TARGETS[name]
        outcome = run_target(name, args.seconds, args.workdir, target.max_len, args.timeout, args.rss_limit_mb,
                             log_dir)
        print(f"{name:32} {outcome.executions:>11,} execs  cov {outcome.coverage:>6}  "
              f"crashes {len(outcome.crashes)}  ({outcome.seconds:.0f} s)", flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(one, names))
    _table(outcomes)
    return 1 if any(o.crashes for o in outcomes) else 0


def _select(names: list[str], wanted: list[str]) -> list[str]:
    if not wanted:
        return names
    chosen = []
    for name in names:
        if any(name == w or (w.endswith("*") and name.startswith(w[:-1])) for w in wanted):
            chosen.append(name)
    return chosen


def _table(outcomes: list[Outcome]) -> None:
    print()
    print(f"{'target':32} {'executions':>12} {'cov':>7} {'seeds':>6} {'crashes':>8} {'seconds':>8}")
    for o in outcomes:
        print(f"{o.name:32} {o.executions:>12,} {o.coverage:>7} {o.seeds:>6} {len(o.crashes):>8} {o.seconds:>8.0f}")
    total = sum(o.executions for o in outcomes)
    crashes = sum(len(o.crashes) for o in outcomes)
    print(f"{'TOTAL':32} {total:>12,} {'':>7} {'':>6} {crashes:>8}")
    for o in outcomes:
        for crash in o.crashes:
            print(f"crash: {o.name}: {crash}")
        if o.note:
            print(f"note: {o.name}: {o.note}")


if __name__ == "__main__":
    sys.exit(main())
