"""A writer of a send file that never closes it itself.

    unsent_writer.py PATH wait    writes "half a mess", then sleeps (to be
                                  killed before its close)
    unsent_writer.py PATH trunc   opens with O_TRUNC (`: > send`), writes
                                  nothing, then sleeps
    unsent_writer.py PATH exit    writes "half a mess" and exits: the
                                  kernel closes the file, a normal end

Prints "READY" once the file is open (and written)."""

import os
import sys
import time

path, how = sys.argv[1], sys.argv[2]
if how == "trunc":
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
else:
    fd = os.open(path, os.O_WRONLY)
    os.write(fd, b"half a mess")
print("READY", flush=True)
if how == "exit":
    os._exit(0)
time.sleep(60)
