#!/bin/sh
# postfix-stop.sh — stop the private Postfix started by postfix-start.sh and
# make sure none of its processes is left. Idempotent.
set -eu
SMTP_PORT=${SMTP_PORT:-2525}
. "$(dirname "$0")/common.sh"
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

PF=$STATE/postfix
ETC=$PF/etc
PIDFILE=$PF/spool/pid/master.pid
[ -f "$ETC/main.cf" ] || { echo "postfix not configured in $PF"; exit 0; }

master=""
if [ -f "$PIDFILE" ]; then
	master=$(tr -dc 0-9 <"$PIDFILE")
fi
if ! pid_alive "$master"; then
	echo "postfix not running"
	exit 0
fi
# Remember the whole tree: children of an exiting master are reparented.
pids="$master $(descendants "$master")"
postfix -c "$ETC" stop >/dev/null 2>&1 || true
if ! wait_gone 15 $pids; then
	# shellcheck disable=SC2086
	kill_pids $pids
fi
echo "postfix stopped"
