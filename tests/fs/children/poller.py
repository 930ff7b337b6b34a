"""Waits in epoll for a file to become readable, without a timeout of its
own (a missed wake-up fails the test's communicate() instead).

    poller.py PATH

Prints "READY" once registered, then "WOKE <events> <seconds waited>"."""

import os
import select
import sys
import time

fd = os.open(sys.argv[1], os.O_RDONLY)
ep = select.epoll()
ep.register(fd, select.EPOLLIN)
print("READY", flush=True)
t0 = time.monotonic()
events = ep.poll()
print("WOKE", len(events), "%.3f" % (time.monotonic() - t0), flush=True)
