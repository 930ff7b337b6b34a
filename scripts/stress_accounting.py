"""The final accounting of scripts/stress.py, from the workers' logs, the
landing pages of killed receivers and the coordinator's log: every
message received exactly once (or allowed missing), nothing reaching an
object after its removal, semaphore units conserved; then the report."""

import collections
import os

from stress_ledger import OPS
from stress_messages import log_msg_line
from stress_worker import WORKERS


class Accounting:
    """Mixed into stress_coordinator.Coordinator."""

    def account(self):
        sends = {}            # msgid -> [status, qid, type, worker, t0]
        recv_results = []     # (qid, result)
        got = collections.defaultdict(list)   # msgid -> [(source, qid)]
        removed = {}          # (kind, id) -> t
        sem_ops = []          # (semid, elem, delta, status, t0)
        init, final = {}, {}
        unexpected, tracebacks = [], []
        bad = []

        def note_msg(source, recv_qid, parts, rtype=None):
            if parts[0] == "BAD":
                bad.append("%s: not a message of ours: %s" % (source,
                                                              parts[1]))
                return
            msgid, qid, mtype, intact = parts[0], int(parts[1]), \
                int(parts[2]), parts[3] == "1"
            got[msgid].append((source, qid))
            if not intact:
                bad.append("%s: message %s corrupted" % (source, msgid))
            if recv_qid is not None and recv_qid != qid:
                bad.append("%s: message %s sent to queue %d came out of "
                           "queue %d" % (source, msgid, qid, recv_qid))
            if rtype is not None and (
                    (rtype > 0 and mtype != rtype) or
                    (rtype < 0 and mtype > -rtype)):
                bad.append("%s: message %s of type %d received by a "
                           "receive of type %d" % (source, msgid, mtype,
                                                   rtype))

        logs = sorted(os.listdir(self.logdir))
        for name in logs:
            if not name.startswith("w"):
                continue
            inc = int(name[1:-4])
            begun = {}
            with open(os.path.join(self.logdir, name)) as f:
                lines = f.read().splitlines()
            for line in lines:
                tag, _, rest = line.partition(" ")
                parts = rest.split()
                if tag == "B":
                    begun[parts[0]] = parts[1:]
                elif tag == "E":
                    b = begun.get(parts[0])
                    if b:
                        b.append(parts[1])
                        if b[0] == "sem" and b[4] == "fs" and len(parts) > 2 \
                                and int(b[3]) > 0:
                            self.longest_v = max(self.longest_v, (
                                float(parts[2]), parts[1], b[1], b[2]))
                elif tag in ("G", "D"):
                    b = begun.get(parts[0])
                    src = "worker %d %s" % (inc, "drain" if tag == "D"
                                            else "receive")
                    if tag == "G" and b:
                        b.append("G")
                        note_msg(src, int(b[1]), parts[1:], int(b[2]))
                    else:
                        note_msg(src, None, parts[1:])
                elif tag == "X":
                    removed[(parts[0], int(parts[1]))] = float(parts[2])
                elif tag == "e":
                    self.fail_errnos[parts[0]][parts[1]] += 1
                elif tag == "U":
                    unexpected.append("worker %d: %s" % (inc, rest))
                elif tag == "T":
                    tracebacks.append("worker %d:\n%s" % (
                        inc, rest.replace("\\n", "\n")))
            harvested = {(i, s): d for i, s, d in self.harvest if i == inc}
            for seqno, b in begun.items():
                kind = b[0]
                if kind == "send":
                    msgid, qid, mtype = b[1], int(b[2]), int(b[3])
                    status = b[7] if len(b) > 7 else "unknown"
                    if status == "ECONNABORTED":
                        status = "unknown"
                    sends[msgid] = [status, qid, mtype, inc, float(b[6]),
                                    b[5]]
                elif kind == "recv":
                    qid, rtype = int(b[1]), int(b[2])
                    rest = b[4:]
                    if "G" not in rest:
                        data = harvested.get((inc, int(seqno)))
                        if data:
                            line = log_msg_line("H", seqno, data).split()
                            note_msg("worker %d receive (killed after the "
                                     "read)" % inc, qid, line[2:], rtype)
                    result = [r for r in rest if r != "G"]
                    recv_results.append((qid, result[0] if result
                                         else "killed"))
                elif kind == "sem":
                    semid, elem, delta = int(b[1]), int(b[2]), int(b[3])
                    status = b[6] if len(b) > 6 else "unknown"
                    if status == "ECONNABORTED":
                        status = "unknown"
                    sem_ops.append((semid, elem, delta, status, float(b[5]),
                                    b[4]))
        with open(os.path.join(self.logdir, "coord.log")) as f:
            for line in f:
                parts = line.split()
                if parts[0] == "L":
                    note_msg("final drain", None, parts[2:])
                elif parts[0] == "I":
                    init[(int(parts[1]), int(parts[2]))] = int(parts[3])
                elif parts[0] == "F":
                    final[(int(parts[1]), int(parts[2]))] = int(parts[3])

        v = self.violations
        for b in bad[:20]:
            v.add("a message came out wrong", b)
        if len(bad) > 20:
            v.add("... and %d more wrong messages" % (len(bad) - 20))
        for u in unexpected[:30]:
            v.add("an unexpected result", u)
        if len(unexpected) > 30:
            v.add("... and %d more unexpected results" % (len(unexpected) - 30))
        for t in tracebacks:
            v.add("a worker crashed", t)

        # ---- messages
        dup = {m: s for m, s in got.items() if len(s) > 1}
        phantom = [m for m in got if m not in sends]
        failed_delivered = [m for m in got if m in sends and
                            sends[m][0] not in ("ok", "unknown")]
        ok = [m for m, s in sends.items() if s[0] == "ok"]
        missing = [m for m in ok if m not in got]
        removed_q = {i for k, i in removed if k == "mq"}
        ambiguous_recv = collections.Counter()   # qid -> receives that
        aborted_recv = collections.Counter()     # may have lost one
        for qid, result in recv_results:
            if result == "ECONNABORTED":
                aborted_recv[qid] += 1
            elif result in ("killed", "EINTR") and qid in removed_q:
                ambiguous_recv[qid] += 1
        lost_daemon, lost_removed, lost = [], [], []
        by_q = collections.defaultdict(list)
        for m in missing:
            by_q[sends[m][1]].append(m)
        for qid, ms in by_q.items():
            a = min(len(ms), aborted_recv[qid])
            lost_daemon += ms[:a]
            r = min(len(ms) - a, ambiguous_recv[qid])
            lost_removed += ms[a:a + r]
            lost += ms[a + r:]
        for m in dup:
            v.add("a message was received twice", "%s (sent %s): %s"
                  % (m, sends.get(m), dup[m]))
        for m in phantom[:10]:
            v.add("a message was received that nobody sent", "%s: %s"
                  % (m, got[m]))
        for m in failed_delivered[:10]:
            v.add("a send reported failed, but its message was received",
                  "%s, send %s by worker %d via %s: received %s"
                  % (m, sends[m][0], sends[m][3], sends[m][5], got[m]))
        for m in lost[:10]:
            v.add("a message whose send succeeded was lost",
                  "%s sent to queue %d (type %d, worker %d via %s)%s"
                  % (m, sends[m][1], sends[m][2], sends[m][3], sends[m][5],
                     " (queue removed)" if sends[m][1] in removed_q else ""))
        if len(lost) > 10:
            v.add("... and %d more lost messages" % (len(lost) - 10))

        # ---- ids: nothing succeeds on an object after its removal
        late = []
        for m, s in sends.items():
            t = removed.get(("mq", s[1]))
            if s[0] == "ok" and t is not None and s[4] > t:
                late.append("send of %s to queue %d started %.3f s after "
                            "the queue was removed, and succeeded (%s)"
                            % (m, s[1], s[4] - t, s[5]))
        for semid, elem, delta, status, t0, via in sem_ops:
            t = removed.get(("sem", semid))
            if status == "ok" and t is not None and t0 > t:
                late.append("semop %+d on set %d started %.3f s after its "
                            "removal, and succeeded (%s)" % (delta, semid,
                                                             t0 - t, via))
        for x in late[:10]:
            v.add("a call reached an object after its removal", x)

        # ---- semaphores
        sem_lines = []
        for (semid, elem), start in sorted(init.items()):
            ops = [o for o in sem_ops if o[0] == semid and o[1] == elem]
            done = sum(o[2] for o in ops if o[3] == "ok")
            unk = [o[2] for o in ops if o[3] == "unknown"]
            lo = start + done + sum(d for d in unk if d < 0)
            hi = start + done + sum(d for d in unk if d > 0)
            fin = final.get((semid, elem))
            line = ("set %d elem %d: %d + %d done (%d P, %d V ok) = %d; "
                    "%d in flight when killed (range %d..%d); final %s"
                    % (semid, elem, start, done,
                       sum(1 for o in ops if o[3] == "ok" and o[2] < 0),
                       sum(1 for o in ops if o[3] == "ok" and o[2] > 0),
                       start + done, len(unk), lo, hi, fin))
            sem_lines.append(line)
            if fin is None or not lo <= fin <= hi:
                v.add("semaphore units not conserved", line)

        self.summary = {
            "sends": len(sends), "sent_ok": len(ok),
            "send_failed": sum(1 for s in sends.values()
                               if s[0] not in ("ok", "unknown")),
            "send_unknown": sum(1 for s in sends.values()
                                if s[0] == "unknown"),
            "unknown_delivered": sum(1 for m, s in sends.items()
                                     if s[0] == "unknown" and m in got),
            "received": sum(1 for s in got.values() for x in s
                            if "receive" in x[0]),
            "drained_at_removal": sum(1 for s in got.values() for x in s
                                      if "drain" in x[0]),
            "left_at_end": sum(1 for s in got.values() for x in s
                               if x[0] == "final drain"),
            "lost": len(lost), "duplicated": len(dup),
            "lost_daemon_kill": len(lost_daemon),
            "lost_removed_queue": len(lost_removed),
            "sem_ops": len(sem_ops), "sem_lines": sem_lines,
            "removed": len(removed),
        }

    def report(self):
        s = self.summary
        total = collections.Counter()
        for slot in range(len(WORKERS)):
            c = self.sh.counters(slot)
            for i, name in enumerate(OPS):
                for o in range(4):
                    total[(name, o)] += c[i * 4 + o]
        print("\n==== ipcfs stress: seed %d, %d s ====" % (self.seed,
                                                         self.args.seconds))
        print("%-18s %9s %9s %9s %9s" % ("operation", "ok", "exp-fail",
                                         "EINTR", "unexpected"))
        ops_total = 0
        for name in OPS:
            row = [total[(name, o)] for o in range(4)]
            ops_total += sum(row)
            if sum(row):
                why = ", ".join("%s %d" % kv for kv in
                                self.fail_errnos[name].most_common(3))
                print("%-18s %9d %9d %9d %9d  %s" % (name, *row, why))
        print("operations: %d" % ops_total)
        print("kills: %d SIGKILL, %d SIGINT; daemon restarts (kill -9 and "
              "remount): %d; objects removed by the churner: %d"
              % (self.kills["SIGKILL"], self.kills["SIGINT"], self.restarts,
                 s["removed"]))
        print("messages: %d sends, %d ok, %d failed, %d unknown (%d of those "
              "delivered); %d received, %d drained before their queue's "
              "removal, %d left at the end"
              % (s["sends"], s["sent_ok"], s["send_failed"],
                 s["send_unknown"], s["unknown_delivered"], s["received"],
                 s["drained_at_removal"], s["left_at_end"]))
        print("lost %d, duplicated %d (allowed, printed apart: %d possibly "
              "in the daemon's hands at its kill -9, %d in its hands when "
              "the queue was removed)" % (s["lost"], s["duplicated"],
                                          s["lost_daemon_kill"],
                                          s["lost_removed_queue"]))
        print("semaphores: %d accounted operations; longest V through an "
              "op file (never waits in semop; for information): %.3f s (%s, "
              "set %s element %s)" % ((s["sem_ops"],) + self.longest_v))
        for line in s["sem_lines"]:
            print("  " + line)
        b, e = self.figures.get("baseline"), self.figures.get("end")
        if b and e:
            print("daemon: RSS %d -> %d KiB, fds %d -> %d, threads %d -> %d "
                  "(allowed: RSS +%d KiB, fds <= %d, threads <= %d; last daemon: "
                  "%s)" % (b["rss_kib"], e["rss_kib"], b["fds"], e["fds"],
                           b["threads"], e["threads"], self.args.rss_slack_kib,
                           self.fd_ceiling(b), self.thread_ceiling(b),
                           self.daemon_threading))
            if not self.within(e, b):
                self.violations.add("the daemon did not return to its "
                                    "baseline", "before %s, after %s"
                                    % (b, e))
        print("daemon exit at the final unmount: %s" % self.daemon_exit)
        if self.violations:
            print("\nVIOLATIONS (%d):" % len(self.violations))
            for what, ev in self.violations:
                print("- " + what)
                if ev:
                    print("    " + ev.replace("\n", "\n    "))
            print("\nstress: FAILED (seed %d)" % self.seed)
            return 1
        print("stress: passed (seed %d)" % self.seed)
        return 0
