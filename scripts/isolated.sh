# The outside of a run of its own, sourced by scripts/stress and
# scripts/memcheck (which run with set -euo pipefail, from the top of the
# tree):
#
#   require_root NAME                  exits 2 unless run as root
#   run_isolated NAME SCRIPT.py ARGS   builds, then runs the Python side
#                                      (which uses scripts/isolated.py) in
#                                      a private IPC and mount namespace
#                                      (unshare), so that the IPC objects,
#                                      the mount and the scratch files all
#                                      vanish with it; exits with its status

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1: run as root (private namespaces, FUSE mounts)" >&2
		exit 2
	fi
}

run_isolated() {
	local name=$1 script=$2
	shift 2
	if [ ! -x build/fs/ipcfs ] || [ ! -d build/python ]; then
		echo "$name: build/ is not built: run scripts/setup first" >&2
		exit 2
	fi
	ninja -C build >/dev/null

	# The scratch directory is made out here and removed out here: inside,
	# a tmpfs is mounted on it in the private mount namespace, so that
	# whatever is written there (logs, the mount point) is gone once the
	# namespace is, on every path, even SIGKILL.
	scratch=$(mktemp -d "/tmp/ipcfs-$name.XXXXXX")
	trap 'rmdir "$scratch" 2>/dev/null || true' EXIT
	# SIGTERM, SIGHUP and SIGINT (Ctrl-C) of this script reach the Python
	# side as SIGTERM (a background job ignores SIGINT), which cleans up
	# and exits.
	unshare --ipc --mount --propagation private \
		/usr/bin/python3 "$script" --scratch "$scratch" "$@" &
	child=$!
	trap 'kill -TERM $child 2>/dev/null || true' TERM HUP INT
	local status=0
	while true; do
		wait $child && status=0 || status=$?
		kill -0 $child 2>/dev/null || break
	done
	exit $status
}
