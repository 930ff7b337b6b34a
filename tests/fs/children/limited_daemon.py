#!/usr/bin/python3
"""Runs ipcfs as root without some capabilities (dropped from the bounding
set before exec; CAP_SYS_ADMIN stays) and with a hard file size limit it
then cannot raise.

    limited_daemon.py -f CAPS FSIZE IPCFS ARGS...

CAPS: capability numbers, comma-separated; FSIZE: bytes, or "none".  The
-f first is Mount's (python/pytest_plugin.py), which runs its binary as
BINARY -f ARGS... MOUNTPOINT; it is passed on to IPCFS."""

import ctypes
import os
import resource
import sys

PR_CAPBSET_DROP = 24
caps, fsize, ipcfs = sys.argv[2], sys.argv[3], sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
for cap in filter(None, caps.split(",")):
    if libc.prctl(PR_CAPBSET_DROP, int(cap), 0, 0, 0) != 0:
        sys.exit("prctl: " + os.strerror(ctypes.get_errno()))
if fsize != "none":
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(fsize), int(fsize)))
os.execv(ipcfs, [ipcfs, "-f"] + sys.argv[5:])
