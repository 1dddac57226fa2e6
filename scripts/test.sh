#!/bin/sh
# test.sh — install what the tests need and run the whole test suite,
# including the end-to-end tests through real Postfix and Sendmail.
# Run as root on Debian 12 from anywhere inside the repository.
set -eu
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
scripts/install-deps.sh
export LUAMILTER_E2E=1
go vet ./...
go test -count=1 -timeout 25m ./...
# A short run of each hostile-session fuzzer and of the text round-trip
# fuzzer; the long runs are in the README.
go test -run X -fuzz FuzzRawSession -fuzztime 15s ./milter/
go test -run X -fuzz FuzzStructuredSession -fuzztime 15s ./milter/
go test -run X -fuzz FuzzTextRoundTrip -fuzztime 15s ./policy/
