package callout

import "sort"

// Why each kind of Momentum hook has no place in a milter. A milter sees
// one SMTP reception through the MTA's eyes, between connect and the
// end-of-message reply; everything before the MTA hands it the session
// (TLS, AUTH) and after its reply (queueing, delivery, logging) is the
// MTA's own business.
const (
	whyDelivery = "Momentum calls it while delivering or queueing the message; with a milter the MTA delivers and queues after luamilter's end-of-message reply"
	whyLog      = "Momentum calls it when it writes a log record; the MTA keeps its own logs (luamilter logs every verdict itself)"
	whyAuth     = "SMTP AUTH is done by the MTA (SASL) before the milter hears of it; the result arrives in the {auth_authen} macro (msys.expandMacro, vctx connection context)"
	whyTLS      = "TLS is negotiated by the MTA; the milter never sees the handshake"
	whyEachRcpt = "Momentum calls it around each per-recipient copy it makes of the message; a milter sees one message for all recipients; use validate_data_spool_each_rcpt"
	whyFinal    = "Momentum calls it after core_final_validation, when it has signed and enqueued each message; a milter's last point is the end-of-message reply, where luamilter runs core_final_validation (sign there, or with the MTA's DKIM milter)"
)

// neverRun are Momentum's documented hooks that a module table may hold
// but a milter never calls, with why.
var neverRun = map[string]string{
	"core_final_validation2":                 whyFinal,
	"core_post_final_validation":             whyFinal,
	"core_pre_msg_each_rcpt":                 whyEachRcpt,
	"core_post_msg_each_rcpt":                whyEachRcpt,
	"msg_gen_data_spool":                     "it runs for messages Momentum generates itself (msg_gen, HTTP injection), which never pass through a milter",
	"core_log_delivery_v1":                   whyLog,
	"core_log_transient_failure_v1":          whyLog,
	"core_log_permanent_failure_v1":          whyLog,
	"core_log_reception_v1":                  whyLog,
	"core_log_rejection":                     whyLog,
	"core_log_attempt_v1":                    whyLog,
	"outbound_smtp_auth_config":              whyDelivery,
	"core_get_outbound_tls_parameters":       whyDelivery,
	"core_config_get_message_routing_domain": whyDelivery,
	"core_pre_mailq_message_requeue":         whyDelivery,
	"core_get_msg_expiration_params":         whyDelivery,
	"core_bounce_error_classify":             whyDelivery,
	"core_smtp_error_classify":               whyDelivery,
	"core_get_inbound_tls_parameters":        whyTLS,
	"ac_auth_perform_auth":                   whyAuth,
	"core_validate_auth":                     whyAuth,
	"core_pre_esmtp_auth":                    whyAuth,
	"core_get_received_header_text":          "the Received header is written by the MTA, not by the milter",
	"rsrc_setup":                             "it registers resources (HTTP endpoints) with Momentum's configuration; luamilter serves no such resources",
}

// NeverRuns reports whether name is a Momentum hook that luamilter
// accepts in a module table but never calls, and why.
func NeverRuns(name string) (why string, ok bool) {
	why, ok = neverRun[name]
	return why, ok
}

// KnownNames returns the callout and hook names a module function may
// carry on purpose, sorted, for suggestions on a misspelled one.
func KnownNames() []string {
	names := Names()
	for h := range neverRun {
		names = append(names, h)
	}
	sort.Strings(names)
	return names
}
