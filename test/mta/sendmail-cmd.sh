#!/bin/sh
# sendmail-cmd.sh ARGS... — run the private Sendmail binary with its
# configuration inside the running daemon's namespaces (same host name,
# /dev/log and /etc/hosts), e.g. "sendmail-cmd.sh -bp" (mailq) or
# "sendmail-cmd.sh -bp -qQ" (quarantined messages).
set -eu
. "$(dirname "$0")/common.sh"
. "$MTA_DIR/sendmail-env.sh"
pid=$(sm_daemon_pid)
[ -n "$pid" ] || die "sendmail is not running (sendmail-start.sh)"
exec nsenter -t "$pid" -m -u -- "$SM_BIN" -C"$SM_CF" "$@"
