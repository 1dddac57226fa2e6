#!/bin/sh
# run-example.sh — build and run luamilter with the example policy,
# listening for Postfix/Sendmail on 127.0.0.1:8891 (extra arguments are
# passed to `luamilter serve`). Run from anywhere inside the repository.
set -eu
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
exec go run ./cmd/luamilter serve --script examples/policy.lua --listen inet:127.0.0.1:8891 "$@"
