#!/bin/bash
# mount -t fuse.ipcfs with fstab's words, then a mount from an fstab line,
# as an administrator would: run by tests/fs/test_fs_cmdline.py in a
# private mount namespace, with BIN (the ipcfs to run), MNT (the mount
# point) and FSTAB (a file to write) in the environment.
set -e
# A private mount namespace: mount(8) runs helpers with the standard PATH,
# so ipcfs is put there on a tmpfs only this namespace sees.
mount -t tmpfs tmpfs /usr/local/sbin
ln -s "$BIN" /usr/local/sbin/ipcfs
mount -t fuse.ipcfs ipcfs "$MNT" -o allow_other,noauto,_netdev,nofail
grep " $MNT " /proc/self/mounts
mkdir "$MNT/sem/77"
cat "$MNT/sem/77/key"
umount "$MNT"
echo "ipcfs $MNT fuse.ipcfs defaults,noauto,_netdev,x-systemd.automount 0 0" > "$FSTAB"
mount -T "$FSTAB" "$MNT"
grep " $MNT " /proc/self/mounts
cat "$MNT/sem/77/key"
umount "$MNT"
