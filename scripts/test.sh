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
# fuzzer (about 15 s each here); the long runs are in the README. The
# budgets are input counts, not durations: Go 1.26's fuzz coordinator can
# fail a run with a spurious "context deadline exceeded" when a duration
# ends while a worker is mid-input (golang/go#75804, fixed in Go 1.27).
go test -run X -fuzz FuzzRawSession -fuzztime 60000x ./milter/
go test -run X -fuzz FuzzStructuredSession -fuzztime 40000x ./milter/
go test -run X -fuzz FuzzTextRoundTrip -fuzztime 300000x ./txn/
