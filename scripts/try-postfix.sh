#!/bin/sh
# try-postfix.sh — try luamilter with a real Postfix in two minutes.
#
#   sh scripts/try-postfix.sh          start, wait for Ctrl-C, then stop
#   sh scripts/try-postfix.sh stop     stop one left running (e.g. after kill -9)
#
# Starts a private Postfix listening on 127.0.0.1:$SMTP_PORT (2525) whose
# smtpd hands every session to the luamilter already running at $MILTER
# (inet:127.0.0.1:8891, where scripts/run-example.sh listens) and that
# delivers every message into a sink directory instead of a mailbox. It is
# the end-to-end tests' recipe (test/mta/postfix-start.sh, milter settings
# from contrib/postfix/main.cf.snippet), in its own state directory
# ($STATE, default <repo>/.state/try) so it neither disturbs a test run nor
# the system's own Postfix: nothing in /etc/postfix or /var/spool/postfix
# is read or written and no system service is started or stopped.
#
# Needs root (Postfix's daemons switch users) and the packages from
# scripts/install-deps.sh (postfix, swaks).
set -eu
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
MTA_DIR=$REPO_DIR/test/mta
STATE=${STATE:-$REPO_DIR/.state/try}
SMTP_PORT=${SMTP_PORT:-2525}
MILTER=${MILTER:-inet:127.0.0.1:8891}
# tempfail, as the contrib snippet recommends: with luamilter down, mail
# waits instead of passing unchecked, which is what a trial should show.
MILTER_DEFAULT_ACTION=${MILTER_DEFAULT_ACTION:-tempfail}
export STATE SMTP_PORT MILTER MILTER_DEFAULT_ACTION

die() {
	echo "try-postfix.sh: $*" >&2
	exit 1
}

stop() {
	"$MTA_DIR/postfix-stop.sh"
}

case ${1:-start} in
stop)
	stop
	exit 0
	;;
start) ;;
*) die "usage: try-postfix.sh [stop]" ;;
esac

[ "$(id -u)" = 0 ] || die "run as root: Postfix's daemons switch to the postfix and nobody users"
command -v swaks >/dev/null 2>&1 || echo "note: swaks is not installed; scripts/install-deps.sh installs it" >&2

# Checked with ss rather than by connecting, which would show up as an
# empty milter session in luamilter's log.
case $MILTER in
inet:127.0.0.1:*)
	port=${MILTER##*:}
	if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port"; then
		echo "note: nothing listens on $MILTER yet; start luamilter first, e.g. sh scripts/run-example.sh" >&2
		echo "      (until then Postfix answers every message with a temporary failure)" >&2
	fi
	;;
esac

# Stop on Ctrl-C, kill or a normal end alike, so no Postfix is left
# running that nobody remembers.
trap 'trap - EXIT INT TERM HUP; echo; stop; exit 0' EXIT INT TERM HUP
"$MTA_DIR/postfix-start.sh"

cat <<EOT

Send a test mail through Postfix and luamilter:

  swaks --server 127.0.0.1:$SMTP_PORT --from alice@example.org --to bob@example.com

Every recipient domain goes to the sink, so any address works; with the
example policy, --to nobody@example.com is rejected. Delivered mail:
$STATE/postfix/sink/ (NAME.eml and NAME.env). luamilter logs each session
in its own terminal; Postfix's log follows here. Ctrl-C stops Postfix
(or run: sh scripts/try-postfix.sh stop).

EOT
touch "$STATE/postfix/maillog"
# tail runs in the background (where sh ignores Ctrl-C for it) so that the
# shell gets the signal and runs the trap, which ends tail too.
tail -n 0 -F "$STATE/postfix/maillog" &
tailpid=$!
trap 'trap - EXIT INT TERM HUP; kill $tailpid 2>/dev/null; echo; stop; exit 0' EXIT INT TERM HUP
# Also end when the instance was stopped from elsewhere
# (try-postfix.sh stop), instead of following a dead log forever. The
# master's pid file is read rather than asking `postfix status`, which
# writes a line to the very log being followed.
master=$(tr -dc 0-9 <"$STATE/postfix/spool/pid/master.pid")
while [ -n "$master" ] && [ -d "/proc/$master" ]; do
	sleep 1 &
	wait $! || true
done
kill $tailpid 2>/dev/null || true
trap - EXIT INT TERM HUP
echo "postfix was stopped"
