"""The calls of scripts/stress.py's workers on the files around the objects
through the mount: attribute reads and writes, listings and stat,
chmod/chown."""

import errno
import os
import re

from stress_objects import (MQ_ATTRS, MQ_CHURN, MQ_KEEP, SEM_ATTRS,
                            SEM_CHURN, SEM_KEEP, SHM_ATTRS, SHM_CHAOS,
                            SHM_CHURN, SHM_KEEP)


class FsAttrCalls:
    """Mixed into stress_worker.Worker."""

    def fs_attr(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        keys = {"mq": list(MQ_KEEP) + list(MQ_CHURN),
                "sem": list(SEM_KEEP) + list(SEM_CHURN),
                "shm": list(SHM_KEEP) + list(SHM_CHURN) + [SHM_CHAOS]}[kind]
        attrs = {"mq": MQ_ATTRS, "sem": SEM_ATTRS, "shm": SHM_ATTRS}[kind]
        key = self.rng.choice(keys)
        attr = self.rng.choice(attrs)
        if self.rng.random() < 0.15:
            # by id, as listed
            def r():
                ids = os.listdir(self.p(kind, "by-id"))
                if ids:
                    i = self.rng.choice(ids)
                    with open(self.p(kind, "by-id", i, attr), "rb") as f:
                        f.read()
            self.fs("fs.attr.read", "read %s/by-id/*/%s" % (kind, attr), r)
            return
        path = self.p(kind, key if self.rng.random() < 0.8 else
                      "0x%08x" % key, attr)

        def r():
            with open(path, "rb") as f:
                t = f.read()
            if not re.fullmatch(rb"-?\d+\n|0[0-7]+\n", t):
                self.unexpected("fs.attr.read", "%s read %r" % (path, t), 0)
        self.fs("fs.attr.read", "read " + path, r)

    def fs_attr_write(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        keys = {"mq": list(MQ_KEEP) + list(MQ_CHURN),
                "sem": list(SEM_KEEP) + list(SEM_CHURN),
                "shm": list(SHM_KEEP) + list(SHM_CHURN)}[kind]
        key = self.rng.choice(keys)
        attr, val = self.rng.choice((("mode", b"0666\n"), ("mode", b"0o666"),
                                     ("uid", b"0\n"), ("gid", b"root\n"),
                                     ("mode", b"bogus")))
        path = self.p(kind, key, attr)
        desc = "write %r to %s" % (val, path)
        self.begin(desc, killable=False)
        stage = "open(O_WRONLY|O_TRUNC)"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                stage = "write"
                os.write(fd, val)
            finally:
                os.close(fd)
            err = 0
        except OSError as e:
            err = e.errno
        self.idle()
        self.outcome("fs.attr.write", err,
                     {errno.EINVAL} if val == b"bogus" else (),
                     desc + " (at %s)" % stage)

    def fs_ls(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        where = self.rng.choice(("", "by-id", "key", "key", "type"))
        if where == "key":
            key = self.rng.choice({"mq": list(MQ_KEEP) + list(MQ_CHURN),
                                   "sem": list(SEM_KEEP) + list(SEM_CHURN),
                                   "shm": list(SHM_KEEP)}[kind])
            path = self.p(kind, key)
        elif where == "type":
            path = self.p("mq", self.rng.choice(list(MQ_KEEP)), "type")
        else:
            path = self.p(kind, where) if where else self.p(kind)

        def ls():
            names = os.listdir(path)
            if self.rng.random() < 0.3:
                for n in names[:20]:
                    try:
                        os.lstat(os.path.join(path, n))
                    except FileNotFoundError:
                        pass
        self.fs("fs.ls", "ls " + path, ls)

    def fs_chmod(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        key = self.rng.choice({"mq": list(MQ_KEEP) + list(MQ_CHURN),
                               "sem": list(SEM_KEEP) + list(SEM_CHURN),
                               "shm": list(SHM_KEEP) + list(SHM_CHURN)}[kind])
        path = self.p(kind, key)
        if self.rng.random() < 0.7:
            mode = self.rng.choice((0o666, 0o644, 0o600, 0o777))
            self.fs("fs.chmod", "chmod %o %s" % (mode, path),
                    lambda: os.chmod(path, mode))
        else:
            self.fs("fs.chown", "chown 0:0 " + path,
                    lambda: os.chown(path, 0, 0))
