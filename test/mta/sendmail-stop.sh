#!/bin/sh
# sendmail-stop.sh — stop the private Sendmail started by sendmail-start.sh,
# every process left in its mount namespace, and its syslog sink. Idempotent.
set -eu
. "$(dirname "$0")/common.sh"
. "$MTA_DIR/sendmail-env.sh"

# All processes in the daemon's mount namespace were started by it
# (connection handlers, queue runners, deliver.sh).
ns_pids() {
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/ns/mnt" 2>/dev/null || true)" = "$1" ]; then
			echo "${p#/proc/}"
		fi
	done
}

pid=$(sm_daemon_pid)
stopped=""
if [ -n "$pid" ]; then
	ns=$(readlink "/proc/$pid/ns/mnt")
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone 10 "$pid" || true
	# shellcheck disable=SC2046
	kill_pids $(ns_pids "$ns")
	stopped=1
fi
rm -f "$SM_DIR/sendmail.pid"

spid=$(cat "$SM_DIR/syslog.pid" 2>/dev/null || true)
if pid_alive "$spid" && grep -q syslog-sink "/proc/$spid/cmdline" 2>/dev/null; then
	kill_pids "$spid"
fi
rm -f "$SM_DIR/syslog.pid"

if [ -n "$stopped" ]; then echo "sendmail stopped"; else echo "sendmail not running"; fi
