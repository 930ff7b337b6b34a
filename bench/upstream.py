"""Upstream sysv_ipc, built from its source for bench/python.py to compare
with: measuring only, never part of the project.

The source (default ../shared/upstream/sysv_ipc-1.1.0 beside the project,
else what --upstream names) is left as it is: its setup.py writes beside
itself (prober/foo, probe_results.h), so it is copied into a temporary
directory outside the project and built there with `setup.py build_ext`
by the interpreter the benchmarks run on, as pip would; the temporary
directory is removed when the run ends.
"""

import os
import shutil
import subprocess
import tempfile

import benchlib  # beside this file: its directory is sys.path[0]

DEFAULT_SOURCE = os.path.join(os.path.dirname(benchlib.TOP), "shared",
                              "upstream", "sysv_ipc-1.1.0")


class Absent(Exception):
    """Upstream cannot be compared with; the message says why."""


def version_of(source):
    try:
        with open(os.path.join(source, "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "?"


def build(source, python, workdir):
    """Builds upstream from source into workdir (which the caller removes)
    with python; returns the directory to import sysv_ipc from.  Raises
    Absent when there is no source there or it does not build."""
    if not os.path.isfile(os.path.join(source, "setup.py")):
        raise Absent(f"no upstream source at {source}")
    src = os.path.join(workdir, "src")
    # Not a build left in the source by hand: ours is made from scratch.
    shutil.copytree(source, src, symlinks=True,
                    ignore=shutil.ignore_patterns("build", "*.so", "*.o"))
    for d, _, files in os.walk(src):  # the copy of a read-only tree
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                os.chmod(p, 0o644)
    lib = os.path.join(workdir, "lib")
    r = subprocess.run(
        [python, "setup.py", "build_ext", "--build-lib", lib,
         "--build-temp", os.path.join(workdir, "obj")],
        cwd=src, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        tail = "\n".join(r.stdout.strip().splitlines()[-5:])
        raise Absent(f"building {source} failed "
                     f"(exit {r.returncode}):\n{tail}")
    return lib


class Build:
    """with Build(source, python) as b: b.module_dir (or b.absent, the
    reason there is none); the temporary build is removed on leaving."""

    def __init__(self, source, python):
        self.source = source
        self.version = version_of(source) if source else None
        self.module_dir = None
        self.absent = None
        self.workdir = None
        self.python = python

    def __enter__(self):
        if not self.source:
            self.absent = "not asked for (--no-upstream)"
            return self
        self.workdir = tempfile.mkdtemp(prefix="ipcfs-bench-upstream-")
        try:
            self.module_dir = build(self.source, self.python, self.workdir)
        except (Absent, OSError) as e:
            self.absent = str(e)
        return self

    def __exit__(self, *exc):
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return False
