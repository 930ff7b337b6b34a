"""The pytest plugin shipped with the module (python/pytest_plugin.py,
installed as sysv_ipc.pytest_plugin), used as its users use it: a small
suite of their own, run by a pytest of its own in a subprocess, which
loads the plugin with -p (tests/python/test_install.py runs the same suite
through the installed package's entry point).

The inner pytest starts in this suite's private namespaces and makes its
own IPC namespace on top, so what it sees is its own.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from suite import BUILD, ROOT, is_mounted

# A user's suite: records what it saw in $RECORD (one JSON line per fact),
# so that the outer test can check what happened after the inner session.
USER_SUITE = r'''
import json, os, subprocess

import sysv_ipc


def record(**fact):
    with open(os.environ["RECORD"], "a") as f:
        f.write(json.dumps(fact) + "\n")


def ipc_ids():
    ids = {}
    for kind in ("sem", "shm", "msg"):
        with open("/proc/sysvipc/" + kind) as f:
            ids[kind] = [line.split()[1] for line in f.readlines()[1:]]
    return ids


def test_1_makes_objects(ipc_namespace):
    assert os.readlink("/proc/self/ns/ipc") == ipc_namespace
    assert ipc_namespace != os.environ["OUTER_IPC_NAMESPACE"]
    assert ipc_ids() == {"sem": [], "shm": [], "msg": []}
    sysv_ipc.Semaphore(101, sysv_ipc.IPC_CREX)
    sysv_ipc.SharedMemory(102, sysv_ipc.IPC_CREX, size=4096)
    sysv_ipc.MessageQueue(103, sysv_ipc.IPC_CREX)
    record(made=ipc_ids())


def test_2_objects_of_test_1_are_gone(ipc_namespace):
    left = ipc_ids()
    record(left=left)
    assert left == {"sem": [], "shm": [], "msg": []}


def test_3_mount_shows_the_namespace(ipc_namespace, ipcfs_mount):
    # ipc_namespace first: the daemon then starts inside it.
    sysv_ipc.MessageQueue(104, sysv_ipc.IPC_CREX)
    record(mount=str(ipcfs_mount.path))
    assert "104" in os.listdir(ipcfs_mount.path / "mq")


def test_4_factory_takes_options(mount_ipcfs):
    mount = mount_ipcfs("-o", "keys=hex")
    record(mount=str(mount.path))
    sysv_ipc.Semaphore(0x105, sysv_ipc.IPC_CREAT)
    assert "0x00000105" in os.listdir(mount.path / "sem")
    mount.unmount()  # early, by hand: teardown must not mind
    record(unmounted_by_hand=str(mount.path))
'''

# A daemon that dies under a test must fail it.
CRASH_SUITE = r'''
import json, os

def test_daemon_dies(ipcfs_mount):
    with open(os.environ["RECORD"], "a") as f:
        f.write(json.dumps({"mount": str(ipcfs_mount.path)}) + "\n")
    ipcfs_mount.proc.kill()
    ipcfs_mount.proc.wait()
'''


def run_user_suite(tmp_path, suite, python=sys.executable, args=(),
                   env_extra=None, plugin_from_source=True):
    """Runs `suite` as test_user.py with a pytest of its own, in tmp_path
    (an empty pytest.ini there keeps this suite's configuration out).
    Returns (the CompletedProcess, the facts it recorded)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_user.py").write_text(suite)
    record = tmp_path / "record.jsonl"
    env = dict(os.environ)
    env.pop("IPCFS_BINARY", None)
    env["RECORD"] = str(record)
    env["OUTER_IPC_NAMESPACE"] = os.readlink("/proc/self/ns/ipc")
    cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-v",
           "--rootdir", str(tmp_path)]
    if plugin_from_source:
        # The source file as `pytest_plugin`, and build/'s sysv_ipc.
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "python"), str(BUILD / "python")])
        cmd += ["-p", "pytest_plugin"]
    else:  # the installed package's, through its entry point
        env.pop("PYTHONPATH", None)
    env.update(env_extra or {})
    done = subprocess.run(cmd + list(args) + ["test_user.py"],
                          cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=240)
    facts = []
    if record.exists():
        facts = [json.loads(line) for line in record.read_text().splitlines()]
    return done, facts


def check_user_suite_passed(done, facts):
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout, done.stdout
    made = [f["made"] for f in facts if "made" in f]
    assert made and all(made[0][k] for k in ("sem", "shm", "msg")), facts
    assert [f["left"] for f in facts if "left" in f] == [
        {"sem": [], "shm": [], "msg": []}]
    mounts = [f["mount"] for f in facts if "mount" in f]
    assert len(mounts) == 2, facts
    for path in mounts:  # unmounted, and the mount point removed
        assert not is_mounted(path)
        assert not os.path.exists(path)


def test_fixtures_work_with_ipcfs_binary_from_the_environment(tmp_path):
    done, facts = run_user_suite(
        tmp_path, USER_SUITE,
        env_extra={"IPCFS_BINARY": str(BUILD / "fs" / "ipcfs")})
    check_user_suite_passed(done, facts)


def test_fixtures_work_with_the_ipcfs_binary_option(tmp_path):
    done, facts = run_user_suite(
        tmp_path, USER_SUITE,
        args=["--ipcfs-binary", str(BUILD / "fs" / "ipcfs")])
    check_user_suite_passed(done, facts)


def test_ipcfs_on_path_is_found(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ipcfs").symlink_to(BUILD / "fs" / "ipcfs")
    done, facts = run_user_suite(
        tmp_path, USER_SUITE,
        env_extra={"PATH": str(bindir) + os.pathsep + os.environ["PATH"]})
    check_user_suite_passed(done, facts)


def test_no_ipcfs_binary_fails_saying_how_to_give_one(tmp_path):
    # Not a skip: the tests that need a mount did not run.
    done, facts = run_user_suite(
        tmp_path, USER_SUITE,
        env_extra={"PATH": "/usr/bin:/bin"})  # no ipcfs there
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "2 error" in done.stdout, \
        done.stdout
    assert "no ipcfs program: give --ipcfs-binary PATH, set IPCFS_BINARY" \
        in done.stdout
    assert "skipped" not in done.stdout


def test_a_bad_ipcfs_binary_option_fails(tmp_path):
    done, _ = run_user_suite(tmp_path, USER_SUITE,
                             args=["--ipcfs-binary", str(tmp_path)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--ipcfs-binary names %s, which is not an executable file" \
        % tmp_path in done.stdout, done.stdout


def test_a_daemon_that_dies_fails_the_test_and_its_mount_goes(tmp_path):
    done, facts = run_user_suite(
        tmp_path, CRASH_SUITE,
        env_extra={"IPCFS_BINARY": str(BUILD / "fs" / "ipcfs")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ipcfs exited with -9" in done.stdout, done.stdout
    [path] = [f["mount"] for f in facts]
    assert not is_mounted(path)
    assert not os.path.exists(path)


def test_without_cap_sys_admin_ipc_namespace_fails_saying_why():
    # As nobody (no capabilities): the fixture fails, naming what it needs.
    # Not in tmp_path: pytest keeps its parents to root (0700).
    where = pathlib.Path(tempfile.mkdtemp())
    try:
        os.chmod(where, 0o755)
        (where / "pytest.ini").write_text("[pytest]\n")
        (where / "test_user.py").write_text(
            "def test_it(ipc_namespace):\n    pass\n")
        for name in ("pytest.ini", "test_user.py"):
            os.chmod(where / name, 0o644)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
        done = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup",
             "--clear-groups", sys.executable, "-m", "pytest",
             "-p", "no:cacheprovider", "-p", "pytest_plugin",
             "--rootdir", str(where), "test_user.py"],
            cwd=where, env=env, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(where)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot enter a private IPC namespace" in done.stdout, done.stdout
    assert "needs root or CAP_SYS_ADMIN" in done.stdout
    assert "skipped" not in done.stdout


def test_the_guides_hex_example_runs(tmp_path):
    # docs/python-guide.md's example of mount_ipcfs, as written there (the
    # other example needs the user's own program).
    guide = (ROOT / "docs" / "python-guide.md").read_text()
    section = guide.split("## Testing your programs: the pytest plugin")[1]
    code = section.split("```python\n")[1].split("```")[0]
    example = code[code.index("def test_it_reports_in_hex"):]
    done, _ = run_user_suite(
        tmp_path, "import os\n\nimport sysv_ipc\n\n\n" + example,
        env_extra={"IPCFS_BINARY": str(BUILD / "fs" / "ipcfs")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout
