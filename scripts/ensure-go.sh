# ensure-go.sh — sourced by the other scripts: puts a Go toolchain on PATH
# and the C pieces msys.pcre's binding to PCRE2 builds with (cgo).
#
# Uses the go already on PATH or in /usr/local/go. On a fresh Debian 12
# without one, it installs golang-1.23-go from bookworm-backports (Debian's
# own Go 1.19 is too old to switch toolchains); that go then fetches the
# exact version go.mod names from the Go module proxy (GOTOOLCHAIN=auto).
export PATH="$PATH:/usr/local/go/bin:/usr/lib/go-1.23/bin"
if ! command -v go >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ensure-go.sh: Go is not installed; run as root to install it, or install Go $(sed -n 's/^go //p' go.mod) yourself" >&2
		exit 1
	fi
	echo "ensure-go.sh: installing golang-1.23-go from bookworm-backports" >&2
	list=/etc/apt/sources.list.d/luamilter-backports.list
	[ -e "$list" ] || echo "deb http://deb.debian.org/debian bookworm-backports main" >"$list"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
		-t bookworm-backports golang-1.23-go ca-certificates git >/dev/null
fi
# msys.pcre calls libpcre2-8 through cgo: building needs a C compiler,
# libc's headers and PCRE2's. Only what is missing is installed.
if [ ! -e /usr/include/pcre2.h ] || [ ! -e /usr/include/stdio.h ] || ! command -v gcc >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ensure-go.sh: building needs gcc, libc6-dev and libpcre2-dev; run as root to install them" >&2
		exit 1
	fi
	echo "ensure-go.sh: installing gcc, libc6-dev and libpcre2-dev" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends --no-upgrade \
		gcc libc6-dev libpcre2-dev >/dev/null
fi
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
go version >&2
