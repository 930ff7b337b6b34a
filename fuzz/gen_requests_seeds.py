#!/usr/bin/env python3
# Writes the hand-written seeds of fuzz_requests in its input format (see
# fuzz_requests.c, and requests_ops.c: the bytes each do_* reads).  Usage:
#   fuzz/gen_requests_seeds.py fuzz/corpus/requests
# Seeds for fuzz_requests: deep paths written in its input format.
import os, sys
W = ["sem","shm","mq","by-id","type","value","op","data","send","receive",
     "mode","uid","gid","max_size","nsems","id","key","last_pid",
     "waiting_for_zero","size","current_messages","0","1","2","3","-1","5",
     "1001","1002","1003","1004","0x3e9","0x3EA","+1003","1001:3",
     "1002:4096","1005","1006:2","1007:8K","0x3ef:1"]
ROOT = 0
class S:
    def __init__(s): s.b = bytearray(); s.n = 0; s.caller = 0
    def hdr(s, op): s.b += bytes([s.caller, op])
    def node(s, k):  # k: -1 root, else index in nodes
        return bytes([0 if k < 0 else k + 1])
    def name(s, w):
        if isinstance(w, int): return bytes([0xb0 + w])  # object id
        return bytes([W.index(w)])
    def lookup(s, parent, w):
        s.hdr(0); s.b += s.node(parent) + s.name(w); s.n += 1; return s.n - 1
    def mkdir(s, parent, w, mode=0o644):
        s.hdr(5); s.b += bytes([mode >> 8, mode & 255]) + s.node(parent) + s.name(w); s.n += 1; return s.n - 1
    def rmdir(s, parent, w):
        s.hdr(6); s.b += bytes([1]) + s.node(parent) + s.name(w)
    def getattr(s, k): s.hdr(3); s.b += s.node(k)
    def setattr(s, k, valid, mode=0o600, uid=1000, gid=1000, size=0):
        s.hdr(4); s.b += s.node(k) + valid.to_bytes(2,'big') + mode.to_bytes(2,'big') + uid.to_bytes(4,'big') + gid.to_bytes(4,'big') + bytes([0]) + size.to_bytes(2,'big')
    def open(s, k, flags): s.hdr(7); s.b += s.node(k) + bytes([flags])
    def opendir(s, k): s.hdr(8); s.b += s.node(k) + bytes([0])
    def read(s, slot, size=64, off=0, nb=False):
        s.hdr(9); s.b += bytes([slot, 0, size, off, 0xc0 if nb else 0])
    def write(s, slot, data, off=0, nb=False):
        s.hdr(10); s.b += bytes([slot, 0, len(data)]) + data + bytes([off, 0xc0 if nb else 0])
    def readdir(s, slot, off_sel=0): s.hdr(11); s.b += bytes([slot, 0, off_sel])
    def release(s, slot, dir=False): s.hdr(12); s.b += bytes([1 if dir else 0, slot])
    def poll(s, slot, notify=True): s.hdr(14); s.b += bytes([slot, 1 if notify else 0])
RD, WR, RW, NB, TR = 0, 1, 2, 4, 8
seeds = {}
# sem: value read/write, op P (nonblock and blocking), element dir
s = S(); d = s.lookup(-1, "sem"); o = s.lookup(d, "1001"); v = s.lookup(o, "value")
s.open(v, RW); s.read(0); s.write(0, b"3\n"); s.read(0); op = s.lookup(o, "op")
s.open(op, WR | NB); s.write(1, b"-1"); s.write(1, b"-9"); s.write(1, b"+2")
s.open(op, WR); s.write(2, b"-30"); e = s.lookup(o, "1"); ev = s.lookup(e, "value")
s.open(ev, RD); s.read(3); eo = s.lookup(e, "op"); s.open(eo, WR); s.write(4, b"0")
seeds["sem-value-op"] = s
# sem attributes and owner files
s = S(); d = s.lookup(-1, "sem"); o = s.lookup(d, "1004")
for f in ["mode", "uid", "gid", "nsems", "waiting_for_zero", "last_pid", "key", "id"]:
    k = s.lookup(o, f); s.open(k, RD if f not in ("mode","uid","gid") else RW)
s.read(0); s.read(1); s.read(2); s.read(3); s.read(4); s.read(5); s.read(6); s.read(7)
s.write(0, b"0640\n"); s.write(1, b"root"); s.write(2, b"1000")
s.caller = 1; s.write(0, b"0777"); s.caller = 0
seeds["sem-attrs"] = s
# mq: send, receive, typed dirs, poll
s = S(); d = s.lookup(-1, "mq"); o = s.lookup(d, "1003"); snd = s.lookup(o, "send"); rcv = s.lookup(o, "receive")
s.open(snd, WR); s.write(0, b"hello"); s.open(rcv, RD); s.poll(1); s.read(1, 64); s.read(1, 64)
t = s.lookup(o, "type"); t5 = s.lookup(t, "5"); tr = s.lookup(t5, "receive"); ts = s.lookup(t5, "send")
s.open(tr, RD | NB); s.read(2, 4); s.read(2, 64); s.open(ts, WR); s.write(3, b"typed")
tm = s.lookup(t, "-1"); tmr = s.lookup(tm, "receive"); s.open(tmr, RD); s.poll(4); s.read(4, 64)
s.open(tmr, RD); s.read(5, 64)  # blocks: interrupted at the end
ms = s.lookup(o, "max_size"); s.open(ms, RW); s.write(6, b"100"); s.read(6)
seeds["mq-send-receive"] = s
# shm data
s = S(); d = s.lookup(-1, "shm"); o = s.lookup(d, "1002"); dt = s.lookup(o, "data")
s.open(dt, RW); s.read(0, 100, 0); s.write(0, b"abc", 5); s.read(0, 100, 0x7f)
s.setattr(dt, 8, size=100); s.open(dt, RW | TR); s.read(1, 50); sz = s.lookup(o, "size"); s.open(sz, RD); s.read(2)
seeds["shm-data"] = s
# mkdir/rmdir, by-id, setattr on object dirs
s = S(); d = s.lookup(-1, "sem"); s.mkdir(d, "1006:2"); s.mkdir(d, "1005")
sh = s.lookup(-1, "shm"); s.mkdir(sh, "1007:8K"); mq = s.lookup(-1, "mq"); s.mkdir(mq, "1005")
s.caller = 1; s.mkdir(d, "0x3ef:1"); s.caller = 0
b = s.lookup(d, "by-id"); x = s.lookup(b, 0); s.setattr(x, 1 | 2 | 4); s.getattr(x)
s.rmdir(d, "1001"); s.getattr(x); s.rmdir(b, 3)
seeds["mkdir-rmdir"] = s
# listings of every kind of directory
s = S(); s.opendir(-1); s.readdir(0)
for kind, key in (("sem", "1001"), ("shm", "1002"), ("mq", "1003")):
    d = s.lookup(-1, kind); o = s.lookup(d, key); s.opendir(d); s.opendir(o)
by = s.lookup(0, "by-id"); s.opendir(by); e = s.lookup(1, "0"); s.opendir(e)
t = s.lookup(5, "type"); s.opendir(t); t1 = s.lookup(t, "1"); s.opendir(t1)
for slot in range(1, 12): s.readdir(slot); s.readdir(slot, 0x90)
seeds["readdir"] = s
out = sys.argv[1]
for k, v in seeds.items():
    open(os.path.join(out, k), "wb").write(bytes(v.b))
