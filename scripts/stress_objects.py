"""The IPC objects scripts/stress.py works on, by key, and what their
directories hold."""

# Long-lived objects (accounted exactly, removed only at the end) and
# churned ones (created and removed all the time).
MQ_KEEP = {1000: None, 1001: 512, 1002: 4096}   # key -> max_size (None: default)
SEM_KEEP = {2000: 1, 2001: 3}                   # key -> nsems
SHM_KEEP = {3000: 65536}
SHM_CHAOS = 3199                                # truncated at will; not checked
MQ_CHURN = (1100, 1101, 1102)
SEM_CHURN = (2100, 2101, 2102)
SHM_CHURN = (3100, 3101, 3102)
SEM_INIT = 5
STRIPE = 256

MQ_ATTRS = ("id", "key", "mode", "uid", "gid", "cuid", "cgid",
            "current_messages", "current_bytes", "max_size",
            "last_send_time", "last_receive_time", "last_change_time",
            "last_send_pid", "last_receive_pid")
SEM_ATTRS = ("value", "id", "key", "mode", "uid", "gid", "cuid", "cgid",
             "nsems", "last_pid", "o_time", "c_time",
             "waiting_for_nonzero", "waiting_for_zero")
SHM_ATTRS = ("id", "key", "size", "mode", "uid", "gid", "cuid", "cgid",
             "creator_pid", "last_pid", "number_attached",
             "last_attach_time", "last_detach_time", "last_change_time")
