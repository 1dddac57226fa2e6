#!/bin/sh
# build-deb.sh — build a Debian package of luamilter: the binary, the
# systemd unit (Postfix flavour), the example config and policy, the man
# page, shell completions, and a postinst that creates the luamilter user.
#
#   scripts/build-deb.sh [OUTDIR]      (default: dist)
#
# Prints the path of the .deb. Needs Go (scripts/ensure-go.sh) and dpkg-deb.
set -eu
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh

OUT=${1:-dist}
mkdir -p "$OUT"
# Debian versions must start with a digit: a tag v1.2.3 gives 1.2.3 (and
# 1.2.3+4+gCOMMIT past it), an untagged tree 0~git<commit>.
if DESC=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	VERSION=$(echo "$DESC" | sed 's/^v//; s/-/+/g')
else
	VERSION="0~git$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
ARCH=$(dpkg --print-architecture)

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT INT TERM
ROOT="$STAGE/root"

# -buildvcs=true: the commit goes into the build info that
# `luamilter version` prints, whatever GOFLAGS says.
go build -buildvcs=true -trimpath -ldflags "-s -w -X main.version=$VERSION" \
	-o "$ROOT/usr/bin/luamilter" ./cmd/luamilter

install -d "$ROOT/lib/systemd/system" "$ROOT/etc/luamilter" "$ROOT/usr/share/man/man8" \
	"$ROOT/usr/share/bash-completion/completions" "$ROOT/usr/share/fish/vendor_completions.d" \
	"$ROOT/usr/share/doc/luamilter" "$ROOT/DEBIAN"
# The unit in contrib/ expects a hand-installed binary in /usr/local/bin.
sed 's|/usr/local/bin/luamilter|/usr/bin/luamilter|' contrib/postfix/luamilter.service \
	>"$ROOT/lib/systemd/system/luamilter.service"
install -m 0644 examples/luamilter.toml "$ROOT/etc/luamilter/luamilter.toml"
install -m 0644 examples/policy.lua "$ROOT/etc/luamilter/policy.lua"
"$ROOT/usr/bin/luamilter" man | gzip -9n >"$ROOT/usr/share/man/man8/luamilter.8.gz"
"$ROOT/usr/bin/luamilter" completion bash >"$ROOT/usr/share/bash-completion/completions/luamilter"
"$ROOT/usr/bin/luamilter" completion fish >"$ROOT/usr/share/fish/vendor_completions.d/luamilter.fish"
install -m 0644 README.md "$ROOT/usr/share/doc/luamilter/README.md"
install -m 0644 contrib/postfix/main.cf.snippet "$ROOT/usr/share/doc/luamilter/postfix-main.cf.snippet"
install -m 0644 contrib/sendmail/sendmail.mc.snippet "$ROOT/usr/share/doc/luamilter/sendmail.mc.snippet"

cat >"$ROOT/DEBIAN/control" <<CONTROL
Package: luamilter
Version: $VERSION
Architecture: $ARCH
Maintainer: luamilter developers <luamilter@localhost>
Section: mail
Priority: optional
Depends: adduser, libc6, libpcre2-8-0
Suggests: postfix | sendmail
Installed-Size: $(du -sk "$ROOT" | cut -f1)
Description: milter running Momentum-style Lua policy scripts
 luamilter is a milter for Postfix and Sendmail that runs Lua policy
 scripts written for Momentum (msys.registerModule, vctx:set_code, ...)
 unchanged, turning their verdicts into milter actions.
CONTROL

cat >"$ROOT/DEBIAN/conffiles" <<'CONFFILES'
/etc/luamilter/luamilter.toml
/etc/luamilter/policy.lua
CONFFILES

# The service is neither enabled nor started: the policy and the MTA's
# milter settings come first (see README.md).
cat >"$ROOT/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	if ! getent passwd luamilter >/dev/null; then
		adduser --system --group --home /nonexistent --no-create-home \
			--shell /usr/sbin/nologin --gecos "luamilter milter" luamilter
	fi
	install -d -o luamilter -g luamilter -m 0700 /var/spool/luamilter
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
fi
exit 0
POSTINST

cat >"$ROOT/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /var/spool/luamilter
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
POSTRM
chmod 0755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/postrm"

DEB="$OUT/luamilter_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
