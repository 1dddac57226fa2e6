package milter

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	gomilter "github.com/d--j/go-milter"
)

// DefaultMacros are the macros luamilter asks the MTA for at each stage:
// what Momentum's predefined context variables, msg:listener_addr and the
// log lines need. Postfix and Sendmail both honour the request list sent
// at negotiation; the queue id "i" is asked for at every stage because
// Postfix assigns it only after the first accepted RCPT.
var DefaultMacros = map[byte][]string{
	gomilter.StageConnect: {"j", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}", "{if_addr}",
		"{client_addr}", "{client_port}", "{client_name}", "{client_ptr}"},
	gomilter.StageHelo: {"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}", "{verify}"},
	gomilter.StageMail: {"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"},
	gomilter.StageRcpt: {"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"},
	gomilter.StageData: {"i"},
	gomilter.StageEOM:  {"i"},
}

// RouteProtocolWarnings sends go-milter's own warnings (malformed packets,
// MTAs that hang up mid-command) to log instead of the standard logger.
// go-milter reports them through a package variable, so the program calls
// this once at start; it is not per Server.
func RouteProtocolWarnings(log *slog.Logger) {
	gomilter.LogWarning = func(format string, v ...any) {
		if loggedByTheGuard(v) {
			return
		}
		log.Warn("milter protocol: " + fmt.Sprintf(format, v...))
	}
}

// loggedByTheGuard reports whether a go-milter warning is about an error
// the connection has logged itself, with the MTA's address: a refused
// packet or a timeout.
func loggedByTheGuard(args []any) bool {
	for _, a := range args {
		err, ok := a.(error)
		if !ok {
			continue
		}
		var perr *ProtocolError
		var nerr net.Error
		if errors.As(err, &perr) || (errors.As(err, &nerr) && nerr.Timeout()) {
			return true
		}
	}
	return false
}
