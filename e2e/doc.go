// Package e2e holds end-to-end tests that run luamilter between real MTAs
// and a delivery sink, all on 127.0.0.1.
//
// The tests start a private Postfix and a private Sendmail with the scripts
// in test/mta (configured from contrib/postfix/main.cf.snippet and
// contrib/sendmail/sendmail.mc.snippet), build cmd/luamilter, start it with
// scenario scripts and talk SMTP to both MTAs, checking reply lines
// verbatim and the delivered messages in the sink.
//
// They run only when LUAMILTER_E2E=1 is set (after scripts/install-deps.sh):
//
//	LUAMILTER_E2E=1 go test ./e2e/
//
// LUAMILTER_BIN=/path/to/luamilter tests a prebuilt binary instead of
// building cmd/luamilter. LUAMILTER_E2E_KEEP=1 keeps the MTAs running and the state directory
// (printed at start) for inspection.
package e2e
