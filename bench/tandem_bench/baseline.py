"""`--baseline <git ref>`: the tandem binary of another commit, measured beside the current one.

It is built in a git worktree of that commit under target/bench/baseline-<sha>/, with the
target directory target/bench/baseline-target/ (kept, so later baselines reuse its
dependencies), and kept there: a later run against the same commit reuses it. The worktree is
removed once the binary is copied out."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Baseline:
    ref: str
    sha: str
    binary: str
    migrations_missing: list  # the current tree's migrations the baseline does not know
    migrations_unknown: list  # the baseline's migrations the current tree does not have

    def describe(self):
        return {"ref": self.ref, "sha": self.sha, "binary": self.binary,
                "migrations_missing": self.migrations_missing,
                "migrations_unknown": self.migrations_unknown}


def _git(root, *args):
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def prepare(root, ref, quick):
    """The baseline of `ref`, built (debug with `quick`, else release) unless kept from an
    earlier run."""
    sha = _git(root, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    profile = "debug" if quick else "release"
    folder = Path(root) / "target" / "bench" / f"baseline-{sha[:12]}"
    binary = folder / profile / "tandem"
    if binary.exists():
        print(f"baseline {ref} ({sha[:12]}): reusing {binary}", flush=True)
    else:
        _build(root, sha, folder, profile, binary)
    missing, unknown = _migration_difference(root, sha)
    return Baseline(ref, sha, str(binary), missing, unknown)


def _build(root, sha, folder, profile, binary):
    print(f"building the baseline {sha[:12]} ({profile})", flush=True)
    source = folder / "source"
    if source.exists():
        _git(root, "worktree", "remove", "--force", str(source))
    folder.mkdir(parents=True, exist_ok=True)
    _git(root, "worktree", "add", "--detach", str(source), sha)
    try:
        # A target directory of its own, kept for the next baseline: cargo names a workspace
        # member's artifacts by its path within the workspace, so in the project's own target
        # directory the baseline's would pass for the current code's (and be run and tested
        # as such) until a source file changed.
        target = Path(root) / "target" / "bench" / "baseline-target"
        command = ["cargo", "build", "-q", "--bin", "tandem"]
        if profile == "release":
            command.append("--release")
        subprocess.run(command, cwd=source, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": str(target)})
        binary.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target / profile / "tandem", binary)
    finally:
        _git(root, "worktree", "remove", "--force", str(source))


def _migration_difference(root, sha):
    """(current's migrations the baseline lacks, baseline's migrations the current lacks)."""
    theirs = {Path(line).name for line in
              _git(root, "ls-tree", "--name-only", f"{sha}:migrations").split()}
    ours = {entry.name for entry in (Path(root) / "migrations").iterdir() if entry.is_dir()}
    return sorted(ours - theirs), sorted(theirs - ours)


def explain_schema(baseline):
    """A line on how the baseline's migrations differ from the database's, or None."""
    parts = []
    if baseline.migrations_missing:
        parts.append("the database has migrations the baseline does not know ("
                     + ", ".join(baseline.migrations_missing) + "): it runs against a newer "
                     "schema than its own")
    if baseline.migrations_unknown:
        parts.append("the baseline has migrations this tree does not ("
                     + ", ".join(baseline.migrations_unknown) + "), which the database lacks")
    return "; ".join(parts) or None
