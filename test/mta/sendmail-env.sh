# sendmail-env.sh — paths of the private Sendmail (sourced after common.sh).
SENDMAIL_PREFIX=${SENDMAIL_PREFIX:-/opt/luamilter-test/sendmail}
SM_BIN=$SENDMAIL_PREFIX/usr/libexec/sendmail/sendmail
SM_CF_DIR=$SENDMAIL_PREFIX/usr/share/sendmail/cf
SM_DIR=$STATE/sendmail
SM_CF=$SM_DIR/sendmail.cf
SM_HOSTNAME=sendmail.harness.test

# sm_daemon_pid prints the pid of the running Sendmail daemon, or nothing.
sm_daemon_pid() {
	p=$(head -1 "$SM_DIR/sendmail.pid" 2>/dev/null | tr -dc 0-9 || true)
	if pid_alive "$p" && grep -q sendmail "/proc/$p/cmdline" 2>/dev/null; then
		echo "$p"
	fi
}
