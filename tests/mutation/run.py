"""Mutation testing of the code where a silent hole costs most (`make mutation`).

    python -m tests.mutation.run [--budget-minutes 20] [--only NAME ...] [--jobs N]

Each target is one module and the tests that should catch a break in it. For every target the
project is copied into a scratch directory, mutmut (PyPI) writes its mutants there and runs the
target's tests against each one; nothing in the working tree is touched. A mutant the tests do
not catch either gets a test, or is listed in tests/mutation/accepted.txt with the reason it
cannot matter (an equivalent mutant). The run prints a score per module and in total and exits
1 if a survivor is neither killed nor accepted, or if the budget ran out.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = Path(__file__).with_name("accepted.txt")
AIM = 0.90
COPY = ("studybuddy", "tests", "setup.cfg", "pyproject.toml")
KILLED = {"killed", "timeout", "caught by type check"}
NOT_SCORED = {"skipped", "not checked"}  # "not checked": outside the target's functions
RESULT_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+?)\s*$")


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # only these functions' mutants (mutmut name globs); all if empty

    def mutant_globs(self) -> list[str]:
        dotted = self.module.removesuffix(".py").replace("/", ".")
        return [f"{dotted}.x{sep}{function}__mutmut_*" for function in self.functions for sep in ("_", "ǁ*ǁ")]


TARGETS = (
    Target("ownership", "studybuddy/web/access.py",
           ("tests/web/test_ownership.py", "tests/web/test_review_ownership.py")),
    Target("quota", "studybuddy/ai/quota.py", ("tests/ai/test_quota.py",)),
    # The upload views skip the global CSRF hook and check the token themselves after parsing;
    # the console skips it so that a non-admin gets its 404 first, then checks it itself.
    Target("csrf", "studybuddy/web/documents.py", ("tests/ingest/test_web.py",),
           functions=("check_csrf", "init_app")),
    Target("csrf-admin", "studybuddy/web/admin.py", ("tests/web/test_admin.py",),
           functions=("_check_csrf_after_the_admin_check", "admins_only")),
    Target("upload", "studybuddy/ingest/upload.py",
           ("tests/ingest/test_upload.py",)),
    # Job claims and fencing: who may take a job, and that only the lease holder writes to it.
    Target("job-claims", "studybuddy/store/sqlite_jobs.py",
           ("tests/jobs/test_fencing.py", "tests/jobs/test_reaper.py", "tests/store/test_contract.py"),
           functions=("claim", "_fenced", "heartbeat", "set_progress", "finish", "retry_later", "release",
                      "requeue_expired", "cancel")),
    # Leases: the keeper renews the lease of every running job, and gives up one it lost.
    Target("leases", "studybuddy/worker/consumer.py", ("tests/jobs/test_fencing.py",),
           functions=("renew_leases",)),
    Target("review", "studybuddy/study/review.py",
           ("tests/review/test_marks.py", "tests/review/test_scheduling.py", "tests/web/test_review.py"),
           functions=("parse_mark", "settle", "apply_mark", "undo_mark")),
)


@dataclass
class Outcome:
    target: Target
    statuses: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def count(self, *wanted: str) -> int:
        return sum(1 for s in self.statuses.values() if s in wanted)

    @property
    def killed(self) -> int:
        return self.count(*KILLED)

    @property
    def scored(self) -> int:
        return sum(1 for s in self.statuses.values() if s not in NOT_SCORED)


def load_accepted() -> dict[str, str]:
    """`mutant-name  reason` per line; # starts a comment."""
    accepted: dict[str, str] = {}
    if ACCEPTED.exists():
        for line in ACCEPTED.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if line:
                name, _, reason = line.partition(" ")
                accepted[name] = reason.strip()
    return accepted


def _scratch_copy(into: Path) -> None:
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "mutants"))
        else:
            shutil.copy2(source, into / name)


def _undecorate(path: Path, functions: tuple[str, ...]) -> None:
    """mutmut leaves decorated functions alone (a decorator runs at import); in the scratch copy a
    target function's decorators are applied after its definition instead — `f = deco(f)` is what
    the decorator syntax means — so its body can be mutated."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, list[str]]] = []  # (first decorator line, def line, end line, calls)
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in functions and node.decorator_list:
            calls = [f"{node.name} = {ast.get_source_segment(source, d)}({node.name})\n"
                     for d in reversed(node.decorator_list)]
            edits.append((node.decorator_list[0].lineno, node.lineno, node.end_lineno or node.lineno, calls))
    for first, def_line, end, calls in sorted(edits, reverse=True):
        lines[end:end] = calls
        del lines[first - 1:def_line - 1]
    path.write_text("".join(lines), encoding="utf-8")


def _configure(work: Path, target: Target) -> None:
    parser = configparser.ConfigParser()
    parser.read(work / "setup.cfg", encoding="utf-8")
    if parser.has_section("mutmut"):
        parser.remove_section("mutmut")
    parser.add_section("mutmut")
    parser.set("mutmut", "source_paths", "studybuddy")
    parser.set("mutmut", "only_mutate", target.module)
    parser.set("mutmut", "pytest_add_cli_args_test_selection", "\n".join(target.tests))
    parser.set("mutmut", "also_copy", "\n".join(p for p in COPY if p != "studybuddy"))
    with open(work / "setup.cfg", "w", encoding="utf-8") as fh:
        parser.write(fh)


def run_target(target: Target, jobs: int, deadline: float, keep: Path | None = None) -> Outcome:
    outcome = Outcome(target)
    started = time.monotonic()
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    with tempfile.TemporaryDirectory(prefix=f"mutation-{target.name}-") as scratch:
        work = Path(scratch)
        if keep is not None:  # kept for `mutmut show NAME` run there
            work = keep / target.name
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
        _scratch_copy(work)
        if target.functions:
            _undecorate(work / target.module, target.functions)
        _configure(work, target)
        env = {**os.environ, "CI": os.environ.get("CI", "true")}
        try:
            subprocess.run([mutmut, "run", "--max-children", str(jobs), *target.mutant_globs()], cwd=work, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
                           timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            outcome.error = "the time budget ran out"
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or "").strip().splitlines()
            outcome.error = tail[-1] if tail else f"mutmut exited {exc.returncode}"
        listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True,
                                 text=True, check=False)
        for line in listing.stdout.splitlines():
            found = RESULT_LINE.match(line)
            if found and "__mutmut_" in found["name"]:
                outcome.statuses[found["name"]] = found["status"]
    outcome.seconds = time.monotonic() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=20.0)
    parser.add_argument("--only", nargs="*", default=None, help="target names to run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep each target's scratch copy under this directory (for `mutmut show`)")
    args = parser.parse_args(argv)
    targets = [t for t in TARGETS if not args.only or t.name in args.only]
    deadline = time.monotonic() + args.budget_minutes * 60
    accepted = load_accepted()
    outcomes: list[Outcome] = []
    unexplained: list[str] = []
    for target in targets:
        outcome = run_target(target, args.jobs, deadline, args.keep)
        outcomes.append(outcome)
        survivors = sorted(n for n, s in outcome.statuses.items() if s not in KILLED | NOT_SCORED)
        for name in survivors:
            reason = accepted.get(name)
            mark = f"accepted: {reason}" if reason else "NOT KILLED"
            print(f"   {outcome.statuses[name]:<12} {name}  ({mark})")
            if not reason:
                unexplained.append(name)
        score = outcome.killed / outcome.scored if outcome.scored else 0.0
        explained = (outcome.killed + sum(1 for n in survivors if n in accepted)) / outcome.scored \
            if outcome.scored else 0.0
        print(f"{target.name:<10} {target.module:<40} {outcome.killed:>4}/{outcome.scored:<4} killed "
              f"= {score:6.1%}  (with accepted equivalents {explained:6.1%}; aim >= {AIM:.0%})  "
              f"{outcome.seconds:5.0f} s" + (f"  ERROR: {outcome.error}" if outcome.error else ""))
        sys.stdout.flush()
    killed = sum(o.killed for o in outcomes)
    scored = sum(o.scored for o in outcomes)
    total = killed / scored if scored else 0.0
    print(f"mutation score: {killed}/{scored} killed = {total:.1%} over {len(outcomes)} modules "
          f"(aim >= {AIM:.0%}); {len(unexplained)} survivors neither killed nor accepted")
    failed = bool(unexplained) or any(o.error for o in outcomes) or total < AIM
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
