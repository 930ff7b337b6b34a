"""What every child of tests/python/test_sysv_ipc_reentry.py imports: an
int-like object that runs code in the middle of a call's argument
conversion.  The child's own script (the test's) does the rest."""

import sysv_ipc

CREX = sysv_ipc.IPC_CREX


class Idx:
    """Converts to value (__index__), after calling f."""

    def __init__(self, f, value):
        self.f, self.value = f, value

    def __index__(self):
        self.f()
        return self.value
