"""Runs the core's C tests (tests/core/test_*.c) built by meson.

Each C program enters its own private IPC namespace, checks every
operation of one area and its errors, and exits 0 only if every check
passed (77 means it could not run, e.g. without root).  The build
directory is $IPCFS_BUILD (default "build"), relative to the repository
(tests/helpers/suite.py).  `meson test --suite core` runs the same
programs.
"""

import subprocess

import pytest

from suite import BUILD

AREAS = ["errors", "keys", "sem", "shm", "mq", "list", "deadline"]

SKIP_STATUS = 77


@pytest.mark.parametrize("area", AREAS)
def test_core(area):
    binary = BUILD / "tests" / "core" / ("test_" + area)
    if not binary.exists():
        pytest.fail("%s is not built; run ninja -C %s" % (binary, BUILD))
    proc = subprocess.run([str(binary)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)
    output = proc.stdout.decode(errors="replace")
    if proc.returncode == SKIP_STATUS:
        pytest.skip("test_%s could not run:\n%s" % (area, output))
    assert proc.returncode == 0, (
        "test_%s exited %d:\n%s" % (area, proc.returncode, output))
    assert "all checks passed" in output, output
