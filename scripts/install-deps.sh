#!/bin/sh
# install-deps.sh — install everything the luamilter test suites need on a
# fresh Debian 12 host (run as root). Safe to run repeatedly.
#
# Installs Postfix (without configuring or starting the system instance), the
# tools and services used by integration tests, and unpacks Sendmail into a
# private prefix, because sendmail-bin conflicts with postfix as a package.
#
# Environment:
#   SENDMAIL_PREFIX  where Sendmail is unpacked (default /opt/luamilter-test/sendmail)
set -eu

SENDMAIL_PREFIX=${SENDMAIL_PREFIX:-/opt/luamilter-test/sendmail}
APT_OPTS="-o DPkg::Lock::Timeout=300"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# A policy-rc.d that exits 101 tells invoke-rc.d not to start services from
# maintainer scripts. Only install a temporary one if none exists, and
# remove only what we created.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=""
cleanup() {
	if [ -n "$CREATED_POLICY" ]; then
		rm -f "$POLICY"
	fi
	if [ -n "${DLDIR:-}" ]; then
		rm -rf "$DLDIR"
	fi
}
trap cleanup EXIT INT TERM
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	CREATED_POLICY=1
fi

# Only what is missing is installed, and nothing already installed is
# upgraded: a developer's or CI's machine keeps the versions it has.
# libpython3.11-testsuite ships CPython's email test corpus, which the
# offline `luamilter test` path is checked against.
PACKAGES="postfix swaks lua5.1 redis-server postgresql dnsmasq-base
	m4 make python3 iproute2 util-linux ca-certificates miltertest
	libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0
	gcc libc6-dev libpcre2-dev pcre2-utils spamassassin
	libpython3.11-testsuite systemd"
MISSING=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		MISSING="$MISSING $p"
	fi
done

# "No configuration" leaves /etc/postfix/main.cf absent (and untouched if it
# already exists): the test harness runs its own instance with postfix -c.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

NEED_SENDMAIL=""
SM_BIN="$SENDMAIL_PREFIX/usr/libexec/sendmail/sendmail"
if [ ! -x "$SM_BIN" ] || [ ! -f "$SENDMAIL_PREFIX/usr/share/sendmail/cf/m4/cf.m4" ]; then
	NEED_SENDMAIL=1
fi

if [ -n "$MISSING" ] || [ -n "$NEED_SENDMAIL" ]; then
	apt-get $APT_OPTS update
fi
if [ -n "$MISSING" ]; then
	echo "installing:$MISSING"
	# shellcheck disable=SC2086 # one word per package
	apt-get $APT_OPTS install -y --no-install-recommends --no-upgrade $MISSING
else
	echo "all packages the tests need are installed"
fi

# Package postinst scripts may have started daemons despite policy-rc.d on
# hosts without one; the tests start their own private instances.

if [ -z "$NEED_SENDMAIL" ]; then
	echo "sendmail already unpacked in $SENDMAIL_PREFIX"
else
	DLDIR=$(mktemp -d)
	# apt drops privileges to _apt for downloads; let it write here.
	chown _apt "$DLDIR" 2>/dev/null || true
	(cd "$DLDIR" && apt-get $APT_OPTS download sendmail-bin sendmail-base sendmail-cf)
	mkdir -p "$SENDMAIL_PREFIX"
	for f in "$DLDIR"/*.deb; do
		dpkg -x "$f" "$SENDMAIL_PREFIX"
	done
fi

missing=$(ldd "$SM_BIN" | grep 'not found' || true)
if [ -n "$missing" ]; then
	echo "install-deps.sh: sendmail is missing shared libraries:" >&2
	echo "$missing" >&2
	exit 1
fi

echo "postfix:  $(command -v postfix || echo /usr/sbin/postfix)"
echo "sendmail: $SM_BIN"
