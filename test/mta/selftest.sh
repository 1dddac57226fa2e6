#!/bin/sh
# selftest.sh — check the MTA harness without luamilter: start both MTAs
# with no milter listening and milter_default_action=accept, send one
# message through each with swaks, check the sinks, stop everything.
# Uses its own STATE (a temporary directory) and ports 2625/2626 unless set.
set -eu
MTA_DIR=$(cd "$(dirname "$0")" && pwd)
OWN_STATE=""
if [ -z "${STATE:-}" ]; then
	STATE=$(mktemp -d /tmp/luamilter-mta-selftest.XXXXXX)
	OWN_STATE=1
fi
chmod 755 "$STATE"
export STATE MILTER_DEFAULT_ACTION=accept MILTER=inet:127.0.0.1:${MILTER_PORT:-2699}
PF_PORT=${PF_PORT:-2625}
SM_PORT=${SM_PORT:-2626}
rc=0

cleanup() {
	SMTP_PORT=$PF_PORT "$MTA_DIR/postfix-stop.sh" || true
	SMTP_PORT=$SM_PORT "$MTA_DIR/sendmail-stop.sh" || true
	if [ -n "$OWN_STATE" ]; then rm -rf "$STATE"; fi
}
trap cleanup EXIT

check() { # MTA PORT
	rcpt="selftest-$1-$$@example.com"
	swaks --silent 2 --server 127.0.0.1 --port "$2" --from sender@example.org --to "$rcpt" \
		--header "Subject: harness selftest" --body "selftest" >/dev/null
	i=0
	while ! grep -qlx "recipient=$rcpt" "$STATE/$1/sink/"*.env 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "FAIL: $1 did not deliver to $rcpt" >&2
			tail -20 "$STATE/$1/maillog" >&2
			rc=1
			return
		fi
		sleep 0.1
	done
	echo "ok: $1 delivered to $rcpt"
}

SMTP_PORT=$PF_PORT "$MTA_DIR/postfix-start.sh"
SMTP_PORT=$SM_PORT "$MTA_DIR/sendmail-start.sh"
check postfix "$PF_PORT"
check sendmail "$SM_PORT"
exit $rc
