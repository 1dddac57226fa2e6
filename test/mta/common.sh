# common.sh — shared helpers for the test MTA scripts (sourced, not run).
#
# Environment understood by all scripts:
#   STATE                  state root (default: <repo>/.state/mta); each MTA
#                          uses $STATE/postfix or $STATE/sendmail
#   SMTP_PORT              SMTP listener on 127.0.0.1 (Postfix 2525, Sendmail 2526)
#   MILTER                 milter socket: inet:127.0.0.1:PORT or unix:/path
#                          (default inet:127.0.0.1:8891)
#   MILTER_DEFAULT_ACTION  tempfail | accept | reject (default tempfail)
#   SINK                   directory receiving delivered mail
#                          (default $STATE/<mta>/sink)
#   RELAY_DOMAIN           with RELAY_PORT: mail for this domain is relayed
#   RELAY_PORT             over SMTP to 127.0.0.1:RELAY_PORT instead of the
#                          sink, e.g. to the other test MTA (unset:
#                          everything goes to the sink)

MTA_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$MTA_DIR/../.." && pwd)
STATE=${STATE:-$REPO_DIR/.state/mta}
MILTER=${MILTER:-inet:127.0.0.1:8891}
MILTER_DEFAULT_ACTION=${MILTER_DEFAULT_ACTION:-tempfail}

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# check_common validates the settings shared by both MTAs.
check_common() {
	case $MILTER in
	inet:127.0.0.1:[0-9]*) ;;
	unix:/*) ;;
	*) die "MILTER must be inet:127.0.0.1:PORT or unix:/absolute/path, got '$MILTER'" ;;
	esac
	case $MILTER_DEFAULT_ACTION in
	tempfail | accept | reject) ;;
	*) die "MILTER_DEFAULT_ACTION must be tempfail, accept or reject, got '$MILTER_DEFAULT_ACTION'" ;;
	esac
	case $SMTP_PORT in
	'' | *[!0-9]*) die "SMTP_PORT must be a number, got '$SMTP_PORT'" ;;
	esac
	RELAY_DOMAIN=${RELAY_DOMAIN:-}
	RELAY_PORT=${RELAY_PORT:-}
	if [ -n "$RELAY_DOMAIN$RELAY_PORT" ]; then
		[ -n "$RELAY_DOMAIN" ] && [ -n "$RELAY_PORT" ] || die "set RELAY_DOMAIN and RELAY_PORT together"
		# The domain goes into a Postfix inline: map and a Sendmail rule:
		# letters, digits, dots and dashes only.
		case $RELAY_DOMAIN in
		*[!A-Za-z0-9.-]* | .* | *.) die "RELAY_DOMAIN must be a domain name, got '$RELAY_DOMAIN'" ;;
		esac
		case $RELAY_PORT in
		*[!0-9]*) die "RELAY_PORT must be a number, got '$RELAY_PORT'" ;;
		esac
		[ "$RELAY_PORT" != "$SMTP_PORT" ] || die "RELAY_PORT is this MTA's own port $SMTP_PORT (a mail loop)"
	fi
}

# prepare_dirs makes STATE reachable for the unprivileged users the MTAs
# deliver and run as (postfix, nobody).
prepare_dirs() {
	mkdir -p "$STATE" "$1" "$SINK"
	chmod 755 "$STATE" "$1"
	chown nobody:nogroup "$SINK"
	chmod 755 "$SINK"
	mkdir -p "$1/bin"
	install -m 755 "$MTA_DIR/deliver.sh" "$1/bin/deliver.sh"
}

# port_listening PORT: true if something listens on 127.0.0.1:PORT. Probing
# with ss instead of connecting keeps SMTP and milter logs free of noise.
port_listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q "127.0.0.1:$1"
}

# wait_port PORT SECONDS: wait until the port listens.
wait_port() {
	i=0
	while ! port_listening "$1"; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			return 1
		fi
		sleep 0.1
	done
}

# pid_alive PID: true if the process exists and is not a zombie.
pid_alive() {
	[ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone SECONDS PID...: wait until none of the processes is alive.
wait_gone() {
	secs=$1
	shift
	i=0
	while :; do
		alive=""
		for p in "$@"; do
			if pid_alive "$p"; then alive="$alive $p"; fi
		done
		[ -z "$alive" ] && return 0
		i=$((i + 1))
		[ $i -gt $((secs * 10)) ] && return 1
		sleep 0.1
	done
}

# descendants PID: all descendant process ids of PID.
descendants() {
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# kill_pids PID...: TERM, wait, then KILL whatever is left of these exact pids.
kill_pids() {
	[ $# -eq 0 ] && return 0
	kill -TERM "$@" 2>/dev/null || true
	if ! wait_gone 5 "$@"; then
		kill -KILL "$@" 2>/dev/null || true
		wait_gone 5 "$@" || true
	fi
}

# same_file A B: true if both exist with identical content.
same_file() {
	[ -f "$1" ] && [ -f "$2" ] && cmp -s "$1" "$2"
}
