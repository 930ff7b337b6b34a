"""ipcfs: mkdir, rmdir, chmod, chown and the permission model, from the
shell and from Python, as root and as an unprivileged user (nobody, through
an allow_other mount)."""

import errno
import os

import pytest

import ipc_raw
from fs_paths import KINDS, NOBODY, expect_errno, read, sh, write


def as_user(script, uid=NOBODY, gid=NOBODY):
    """Runs a shell script as uid/gid with no supplementary groups."""
    return sh(script, user=uid, group=gid, extra_groups=[], cwd="/")


CAP_SYS_RESOURCE = 24


def has_capability(cap):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


# ---------------------------------------------------------------- mkdir


@pytest.mark.parametrize("kind", KINDS)
def test_mkdir_creates_with_the_mode(ipcfs_mount, umask0, kind):
    os.mkdir(ipcfs_mount.path / kind / "100", 0o640)
    ident = ipc_raw.lookup(kind, 100)
    row = ipc_raw.info(kind, ident)
    assert row["perms"] & 0o777 == 0o640
    assert (row["uid"], row["gid"], row["cuid"], row["cgid"]) == (0, 0, 0, 0)
    assert "100" in os.listdir(ipcfs_mount.path / kind)


def test_mkdir_from_the_shell_obeys_umask_and_drops_x(ipcfs_mount):
    m = ipcfs_mount.path
    r = sh("umask 027 && mkdir %s/sem/101 && mkdir -m 755 %s/mq/101"
           % (m, m))
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("sem", ipc_raw.lookup("sem", 101))["perms"] == 0o640
    assert ipc_raw.info("mq", ipc_raw.lookup("mq", 101))["perms"] == 0o644
    assert read(m / "sem/101/mode") == "0640\n"


def test_mkdir_hex_key(ipcfs_mount):
    os.mkdir(ipcfs_mount.path / "sem" / "0x10")
    assert ipc_raw.lookup("sem", 16) >= 0
    assert "16" in os.listdir(ipcfs_mount.path / "sem")
    assert read(ipcfs_mount.path / "sem/0x10/key") == "16\n"


def test_mkdir_sizes(mount_ipcfs):
    m = mount_ipcfs().path
    os.mkdir(m / "shm" / "102")
    assert read(m / "shm/102/size") == "%d\n" % os.sysconf("SC_PAGESIZE")
    os.mkdir(m / "shm" / "103:10000")
    assert read(m / "shm/103/size") == "10000\n"
    assert read(m / "shm/103:10000/size") == "10000\n"
    os.mkdir(m / "shm" / "104:2M")
    assert read(m / "shm/104/size") == "%d\n" % (2 << 20)
    os.mkdir(m / "sem" / "105:4")
    assert read(m / "sem/105/nsems") == "4\n"
    assert sorted(n for n in os.listdir(m / "sem/105") if n.isdigit()) == [
        "0", "1", "2", "3"]
    expect_errno(errno.ENOENT, os.stat, m / "shm" / "103:4096")
    expect_errno(errno.EINVAL, os.mkdir, m / "mq" / "106:5")
    expect_errno(errno.EINVAL, os.mkdir, m / "shm" / "107:0")
    expect_errno(errno.EINVAL, os.mkdir, m / "shm" / "107:lots")
    expect_errno(errno.EINVAL, os.mkdir, m / "sem" / "108:99999999")
    assert ipc_raw.ids("mq") == []

    m2 = mount_ipcfs("-o", "shm_size=64K").path
    os.mkdir(m2 / "shm" / "109")
    assert read(m2 / "shm/109/size") == "65536\n"


def test_mkdir_errors(ipcfs_mount):
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "110")
    expect_errno(errno.EEXIST, os.mkdir, m / "sem" / "110")
    expect_errno(errno.EEXIST, os.mkdir, m / "sem" / "0x6e")
    ipc_raw.create("mq", key=111)
    expect_errno(errno.EEXIST, os.mkdir, m / "mq" / "111")
    expect_errno(errno.EINVAL, os.mkdir, m / "sem" / "0")  # IPC_PRIVATE
    expect_errno(errno.EINVAL, os.mkdir, m / "sem" / "abc")
    expect_errno(errno.EINVAL, os.mkdir, m / "sem" / "99999999999")
    expect_errno(errno.EEXIST, os.mkdir, m / "sem" / "by-id")
    expect_errno(errno.EPERM, os.mkdir, m / "sem" / "by-id" / "5")
    expect_errno(errno.EPERM, os.mkdir, m / "sem" / "110" / "x")
    expect_errno(errno.EEXIST, os.mkdir, m / "sem")
    assert len(ipc_raw.ids("sem")) == 1


def test_mkdir_as_a_user_makes_the_user_owner_and_creator(shared_mount):
    m = shared_mount.path
    for kind in KINDS:
        r = as_user("umask 077 && mkdir %s/%s/120" % (m, kind))
        assert r.returncode == 0, r.stderr
        row = ipc_raw.info(kind, ipc_raw.lookup(kind, 120))
        assert (row["uid"], row["gid"], row["cuid"], row["cgid"]) == (
            NOBODY, NOBODY, NOBODY, NOBODY), kind
        assert row["perms"] & 0o777 == 0o600
    r = as_user("echo 3 > %s/sem/120/value && cat %s/sem/120/value"
                % (m, m))
    assert r.stdout == "3\n", r.stderr
    # The daemon went back to root: it can still make anything.
    os.mkdir(m / "sem" / "121")
    row = ipc_raw.info("sem", ipc_raw.lookup("sem", 121))
    assert (row["uid"], row["cuid"]) == (0, 0)


# ---------------------------------------------------------------- rmdir


@pytest.mark.parametrize("kind", KINDS)
def test_rmdir_removes(ipcfs_mount, kind):
    ident = ipc_raw.create(kind, key=130)
    private = ipc_raw.create(kind)
    m = ipcfs_mount.path / kind
    os.rmdir(m / "130")
    assert ipc_raw.info(kind, ident) is None
    expect_errno(errno.ENOENT, os.rmdir, m / "130")
    os.rmdir(m / "by-id" / str(private))
    assert ipc_raw.info(kind, private) is None
    assert os.listdir(m) == ["by-id"]


def test_rmdir_from_the_shell_and_errors(ipcfs_mount):
    m = ipcfs_mount.path
    ipc_raw.create("sem", key=131, size=2)
    ipc_raw.create("mq", key=131)
    expect_errno(errno.EPERM, os.rmdir, m / "sem/131/0")
    expect_errno(errno.EPERM, os.rmdir, m / "mq/131/type")
    expect_errno(errno.ENOTDIR, os.rmdir, m / "sem/131/value")
    expect_errno(errno.EPERM, os.rmdir, m / "sem/by-id")
    r = sh("rmdir %s/sem/0x83 %s/mq/131" % (m, m))
    assert r.returncode == 0, r.stderr
    assert ipc_raw.ids("sem") == [] and ipc_raw.ids("mq") == []


def test_rmdir_of_an_attached_segment(ipcfs_mount):
    ident = ipc_raw.create("shm", key=132)
    with ipc_raw.Attached(ident):
        os.rmdir(ipcfs_mount.path / "shm" / "132")
        assert "132" not in os.listdir(ipcfs_mount.path / "shm")
        d = ipcfs_mount.path / "shm" / "by-id" / str(ident)
        assert int(read(d / "mode"), 8) & 0o1000  # SHM_DEST
        assert read(d / "key") == "0\n"
    assert ipc_raw.info("shm", ident) is None


def test_rmdir_by_others_is_refused(shared_mount):
    m = shared_mount.path
    ident = ipc_raw.create("sem", key=133, mode=0o666)
    r = as_user("rmdir %s/sem/133" % m)
    assert r.returncode != 0
    assert "not permitted" in r.stderr or "denied" in r.stderr
    assert ipc_raw.info("sem", ident) is not None
    # The owner may.
    write(m / "sem/133/uid", "%d" % NOBODY)
    r = as_user("rmdir %s/sem/133" % m)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("sem", ident) is None


# ---------------------------------------------------------------- chmod, chown


@pytest.mark.parametrize("kind", KINDS)
def test_chmod_and_chown_of_the_directory(ipcfs_mount, kind):
    ident = ipc_raw.create(kind, key=140, mode=0o600)
    d = ipcfs_mount.path / kind / "140"
    os.chmod(d, 0o640)
    assert ipc_raw.info(kind, ident)["perms"] & 0o777 == 0o640
    assert oct(os.stat(d).st_mode & 0o777) == oct(0o750)
    r = sh("chmod g+w,o+r %s && chown 1000:2000 %s" % (d, d))
    assert r.returncode == 0, r.stderr
    row = ipc_raw.info(kind, ident)
    assert row["perms"] & 0o777 == 0o664
    assert (row["uid"], row["gid"], row["cuid"], row["cgid"]) == (
        1000, 2000, 0, 0)
    assert read(d / "uid") == "1000\n"
    st = os.stat(d / "mode")
    assert (st.st_uid, st.st_gid) == (1000, 2000)
    os.chmod(d, 0o755)  # x bits mean nothing to IPC
    assert ipc_raw.info(kind, ident)["perms"] & 0o777 == 0o644


def test_chmod_of_files_is_refused(ipcfs_mount):
    ipc_raw.create("sem", key=141)
    expect_errno(errno.EPERM, os.chmod, ipcfs_mount.path / "sem/141/value",
                 0o666)
    expect_errno(errno.EPERM, os.chown, ipcfs_mount.path / "sem/141/value",
                 5, 5)


def test_chmod_by_the_owner_and_not_by_others(shared_mount):
    m = shared_mount.path
    ident = ipc_raw.create("mq", key=142, mode=0o644)
    r = as_user("chmod 666 %s/mq/142" % m)
    assert r.returncode != 0
    r = as_user("echo 0666 > %s/mq/142/mode" % m)
    assert r.returncode != 0
    assert ipc_raw.info("mq", ident)["perms"] & 0o777 == 0o644
    os.chown(m / "mq/142", NOBODY, NOBODY)
    r = as_user("chmod 600 %s/mq/142" % m)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("mq", ident)["perms"] & 0o777 == 0o600
    # chown is IPC_SET too, which lets the owner give the object away
    # (msgctl(2) would), as writing uid does.
    r = as_user("chown 1234 %s/mq/142" % m)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("mq", ident)["uid"] == 1234
    r = as_user("echo %d > %s/mq/142/uid" % (NOBODY, m))
    assert r.returncode != 0  # no longer the owner
    os.chown(m / "mq/142", NOBODY, NOBODY)
    r = as_user("echo 1234 > %s/mq/142/uid" % m)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("mq", ident)["uid"] == 1234


def test_the_creator_may_still_set_the_mode(shared_mount):
    m = shared_mount.path
    r = as_user("mkdir -m 644 %s/sem/143" % m)
    assert r.returncode == 0, r.stderr
    ident = ipc_raw.lookup("sem", 143)
    write(m / "sem/143/uid", "1234")  # root gives it to 1234
    row = ipc_raw.info("sem", ident)
    assert (row["uid"], row["cuid"]) == (1234, NOBODY)
    # nobody created it: IPC_SET allows the creator, so the mode file does.
    r = as_user("echo 0604 > %s/sem/143/mode" % m)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("sem", ident)["perms"] & 0o777 == 0o604
    # Anyone else gets past the file's mode but is refused by the daemon.
    r = as_user("echo 0666 > %s/sem/143/mode" % m, uid=4321, gid=4321)
    assert r.returncode != 0 and "not permitted" in r.stderr
    assert ipc_raw.info("sem", ident)["perms"] & 0o777 == 0o604


def test_max_size_above_the_limit_needs_root(shared_mount):
    m = shared_mount.path
    r = as_user("mkdir %s/mq/144" % m)
    assert r.returncode == 0, r.stderr
    with open("/proc/sys/kernel/msgmnb") as f:
        limit = int(f.read())
    r = as_user("echo %d > %s/mq/144/max_size" % (limit // 2, m))
    assert r.returncode == 0, r.stderr
    r = as_user("echo %d > %s/mq/144/max_size" % (limit * 2, m))
    assert r.returncode != 0 and "not permitted" in r.stderr
    assert read(m / "mq/144/max_size") == "%d\n" % (limit // 2)
    if has_capability(CAP_SYS_RESOURCE):  # root may, with the capability
        write(m / "mq/144/max_size", "%d" % (limit * 2))
        assert read(m / "mq/144/max_size") == "%d\n" % (limit * 2)


# ---------------------------------------------------------------- permissions


def test_nobody_is_refused_on_a_0600_object(shared_mount):
    m = shared_mount.path
    for kind in KINDS:
        ipc_raw.create(kind, key=150, mode=0o600)
    sem = ipc_raw.lookup("sem", 150)
    ipc_raw.sem_set_value(sem, 1)
    for path in ("sem/150/value", "sem/150/mode", "shm/150/data",
                 "mq/150/receive", "sem/by-id/%d/value" % sem):
        r = as_user("cat %s/%s" % (m, path))
        assert r.returncode != 0 and "Permission denied" in r.stderr, path
    for path in ("sem/150/value", "sem/150/op", "mq/150/send",
                 "shm/150/data"):
        r = as_user("echo 0 > %s/%s" % (m, path))
        assert r.returncode != 0 and "Permission denied" in r.stderr, path
    r = as_user("ls %s/sem/150" % m)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert ipc_raw.sem_get_value(sem) == 1
    # Listing the kind directory is allowed: /proc/sysvipc shows all too.
    r = as_user("ls %s/sem" % m)
    assert r.returncode == 0 and "150" in r.stdout


def test_nobody_reads_a_0644_object_but_cannot_write(shared_mount):
    m = shared_mount.path
    sem = ipc_raw.create("sem", key=151, mode=0o644)
    ipc_raw.sem_set_value(sem, 4)
    r = as_user("cat %s/sem/151/value %s/sem/151/mode" % (m, m))
    assert r.stdout == "4\n0644\n", r.stderr
    r = as_user("echo 1 > %s/sem/151/value" % m)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = as_user("echo -1 > %s/sem/151/op" % m)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert ipc_raw.sem_get_value(sem) == 4


def test_group_permissions(shared_mount):
    m = shared_mount.path
    sem = ipc_raw.create("sem", key=152, mode=0o660)
    os.chown(m / "sem/152", 0, 4000)
    r = as_user("echo 2 > %s/sem/152/value" % m, uid=4321, gid=4000)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.sem_get_value(sem) == 2
    r = as_user("echo 3 > %s/sem/152/value" % m, uid=4321, gid=4001)
    assert r.returncode != 0
    assert ipc_raw.sem_get_value(sem) == 2


def test_without_allow_other_others_cannot_enter(ipcfs_mount):
    ipc_raw.create("sem", key=153, mode=0o666)
    r = as_user("cat %s/sem/153/value" % ipcfs_mount.path)
    assert r.returncode != 0
