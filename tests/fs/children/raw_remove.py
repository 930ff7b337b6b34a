"""Removes an IPC object with the bare system call (tests/helpers/ipc_raw),
for comparing the kernel's answer to a caller with the mount's.

    raw_remove.py KIND ID"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "helpers"))
import ipc_raw  # noqa: E402

ipc_raw.remove(sys.argv[1], int(sys.argv[2]))
