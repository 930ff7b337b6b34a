"""ipcfs(1): the man page documents every file the mount shows and every
option ipcfs -h lists, and renders without warnings."""

import os
import re
import shutil
import subprocess

import pytest

import ipc_raw
from suite import ROOT

PAGE = ROOT / "docs" / "ipcfs.1.rst"


def documented_words():
    text = PAGE.read_text()
    return set(re.findall(r"\*\*([A-Za-z_][A-Za-z0-9_=-]*)\*\*", text)), text


@pytest.mark.parametrize("kind", ["sem", "shm", "mq"])
def test_every_file_is_documented(ipcfs_mount, kind):
    ipc_raw.create(kind, key=5, size=2 if kind == "sem" else None)
    d = ipcfs_mount.path / kind / "5"
    names = set(os.listdir(d))
    if kind == "sem":
        names |= set(os.listdir(d / "1"))
        names -= {"0", "1"}
    if kind == "mq":
        names |= set(os.listdir(d / "type" / "3"))
    bold, _ = documented_words()
    missing = {n for n in names if n not in bold and n != "type"}
    assert not missing, "not in ipcfs.1.rst: %s" % sorted(missing)


def test_every_option_is_documented(ipcfs_bin):
    help_text = subprocess.run([str(ipcfs_bin), "-h"], capture_output=True,
                               text=True).stdout
    ours = help_text.split("ipcfs options:")[1].split("\n\n")[0]
    options = set(re.findall(r"-o ([a-z_]+=?[a-z]*)", ours))
    assert options >= {"data=auto", "data=passthrough", "data=fallback",
                       "shm_size="}
    _, text = documented_words()
    for opt in options | {"-f", "-d", "-s", "-h", "-V", "allow_other"}:
        assert opt in text, opt


@pytest.mark.skipif(shutil.which("rst2man") is None, reason="no rst2man")
def test_man_page_renders_cleanly(tmp_path):
    r = subprocess.run(["rst2man", "--strict", str(PAGE),
                        str(tmp_path / "ipcfs.1")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
