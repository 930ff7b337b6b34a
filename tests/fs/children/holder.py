"""Holds files open until stdin ends.

    holder.py FLAG PATH...       FLAG: O_RDONLY, O_RDWR, ...

Prints how many it opened."""

import os
import sys

flag = getattr(os, sys.argv[1])
fds = [os.open(p, flag) for p in sys.argv[2:]]
print(len(fds), flush=True)
sys.stdin.readline()
