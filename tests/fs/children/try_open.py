"""Opens each PATH for reading and closes it.

    try_open.py PATH...

Prints a line per PATH: "OPENED <path>", or the errno (a number) of the
refusal."""

import os
import sys

for path in sys.argv[1:]:
    try:
        os.close(os.open(path, os.O_RDONLY))
        print("OPENED", path)
    except OSError as e:
        print(e.errno)
