// SparkPost's public sample policies as a fixture of the test suite.
//
// testdata/momentum_sample_policy holds, unchanged, the Lua policy
// scripts SparkPost publishes for Momentum in
// github.com/SparkPost/momentum_sample_policy (commit and licence in
// SOURCE there): the 27 kitchen-sink scripts and the training policy
// (policy.lua with the inbound/ helpers it requires as "inbound.limits"
// and so on, found in the script's own directory). TestMomentumSamples
// serves each of them, byte for byte, in the real milter server (the
// msys.* libraries built as the daemon builds them, msys.audit counting
// the sessions) and plays SMTP transactions through the milter protocol:
// connect, HELO, MAIL FROM, one or two RCPT TO and a small message. Each
// play asserts what Momentum's documentation says the script does: the
// stage and reply that end the session, every other stage continuing,
// the exact message changes, and the log lines that show what ran.
// Scripts that need something from Momentum's configuration get it from
// the test: a stand-in for the spf_v1 module or a listener context, the
// files the training policy reads from fixed paths, a DNS server.
//
// Where luamilter cannot do what Momentum does, the expectation is a
// clear error naming what is missing or a logged no-op, never a silently
// different result. Where luamilter does not behave as Momentum yet, the
// entry or play keeps Momentum's expectation and carries a broken mark
// saying why; it is played and then skipped with "not yet as on
// Momentum: <why>". Fixing the gap means deleting the mark: a marked play
// that behaves as on Momentum fails until the mark is gone. Run with -v
// for a one-line summary per file.

package policy_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"
	"github.com/miekg/dns"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

const sampleDir = "testdata/momentum_sample_policy"

// sample is one published script and what Momentum does with it.
type sample struct {
	file     string // under sampleDir
	does     string // what the script is for
	momentum string // Momentum's documented outcome, for the summary
	// files are written at fixed paths the script reads, and put back
	// as they were afterwards.
	files map[string]string
	// dns answers "name. TYPE" questions; every other name is NXDOMAIN.
	dns map[string]string
	// loadErr, when set, says the script does not load on Momentum
	// either: the load error must contain every one of these.
	loadErr []string
	plays   []samplePlay
	broken  string // why luamilter does not behave as Momentum yet
}

// samplePlay is one SMTP transaction against a fresh server.
type samplePlay struct {
	name string
	tx   milter.Transaction
	with []standIn // loaded with the sample, as Momentum's configuration would
	hold []string  // client IPs with a session open during the play
	// final is the stage that ends the transaction, its action and its
	// reply ("eom accept", "mail reject 550 SPF HARD FAIL"); a reply of
	// "*" is any reply. Every other stage must continue.
	final string
	mods  []string // the message changes, exactly
	// logs must match server log lines in this order, one line each;
	// "…" separates parts that must all be in that one line.
	logs   []string
	noLogs []string // must appear in no log line
	broken string   // why luamilter does not behave as Momentum yet
}

// standIn is a script loaded before (or, with after, behind) the
// sample: a published companion file or a small Lua stand-in for what
// Momentum's configuration provides.
type standIn struct {
	name  string
	file  string // under sampleDir, or
	src   string // Lua source
	after bool
}

// spfV1 stands in for Momentum's spf_v1 module, which runs before the
// scriptlets and leaves its result in the message context as spf_status
// (mail from spf-fail.example fails, everything else passes).
var spfV1 = standIn{name: "spf_v1", src: `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  local domain = string.match(tostring(str), "@([^>]+)>")
  if domain == "spf-fail.example" then
    vctx:set(msys.core.VCTX_MESS, "spf_status", "fail")
  else
    vctx:set(msys.core.VCTX_MESS, "spf_status", "pass")
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("spf_v1", mod)
`}

// myNetworks stands in for an ESMTP_Listener peer context:
// Peer "127.0.0.0/8" { context = [ my_networks = "yes" ] }.
var myNetworks = standIn{name: "listener_context", src: `local mod = {}
function mod:validate_connect(ac, vctx)
  if string.match(tostring(ac.remote_addr), "^127%.") then
    vctx:set(msys.core.VCTX_CONN, "my_networks", "yes")
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("listener_context", mod)
`}

// observe prints the message's context variables in
// validate_set_binding, after the sample's own callouts: it shows what
// a later module (Momentum's binding or FBL configuration) would see.
func observe(ctx string, keys ...string) standIn {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	return standIn{name: "observer", after: true, src: fmt.Sprintf(`local mod = {}
function mod:validate_set_binding(msg)
  for _, k in ipairs({%s}) do
    print("observed " .. k .. "=" .. msg:context_get(msys.core.%s, k))
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("observer", mod)
`, strings.Join(quoted, ", "), ctx)}
}

// eachRcpt is the companion the kitchen-sink README pairs with
// set_binding.lua.
var eachRcpt = standIn{name: "each_rcpt", file: "kitchen-sink/src/each_rcpt.lua"}

// sampleTx is a transaction from ip with the given envelope and message.
func sampleTx(ip, from string, rcpts []string, msg []byte) milter.Transaction {
	return milter.Transaction{ClientIP: ip, ClientName: "client.example.net", Helo: "client.example.net",
		From: from, Rcpts: rcpts, Message: msg, QueueID: "4Xq1Wz"}
}

// sampleMsg is a small message with extra header fields; a Message-ID
// among them replaces the default one.
func sampleMsg(extra ...string) []byte {
	var b strings.Builder
	b.WriteString("From: Sender <sender@example.org>\r\nTo: Recipient <rcpt@example.com>\r\n" +
		"Subject: sample policy test\r\nDate: Tue, 03 Apr 2018 12:34:53 -0500\r\n")
	hasID := false
	for _, e := range extra {
		hasID = hasID || strings.HasPrefix(e, "Message-ID:")
	}
	if !hasID {
		b.WriteString("Message-ID: <20180403173453.1@example.org>\r\n")
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\nHello from the sample policy test.\r\n")
	return []byte(b.String())
}

func rcpts(r ...string) []string { return r }

var samples = []sample{
	{
		file: "kitchen-sink/src/action_based_on_connection_ip.lua",
		does: "validate_connect: disconnects a client with more simultaneous SMTP sessions than allowed (1 from 127.0.0.1, else 2)",
		momentum: "421 + disconnect at connect when msys.audit.inbound_session_count(\"/32\") is over the limit; " +
			"otherwise the session goes on",
		plays: []samplePlay{
			{name: "one session", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"IP: 192.0.2.10Sessions: 1"}},
			{name: "two sessions from a client allowed two", hold: []string{"192.0.2.10"},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"IP: 192.0.2.10Sessions: 1", "IP: 192.0.2.10Sessions: 2"}},
			{name: "third session from a client allowed two", hold: []string{"192.0.2.10", "192.0.2.10"},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail 421 Too many simultaneous connections from: 192.0.2.10",
				logs:  []string{"IP: 192.0.2.10Sessions: 3"}},
			{name: "second session from 127.0.0.1, allowed one", hold: []string{"127.0.0.1"},
				tx:    sampleTx("127.0.0.1", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail 421 Too many simultaneous connections from: 127.0.0.1",
				logs:  []string{"IP: 127.0.0.1Sessions: 1", "IP: 127.0.0.1Sessions: 2"}},
		},
	},
	{
		file:     "kitchen-sink/src/add_bcc_recipient.lua",
		does:     "validate_data: adds bcced_email@example.com when the recipient is someemail@example.com",
		momentum: "vctx:add_recipient adds the envelope recipient; the message is accepted",
		plays: []samplePlay{
			{name: "to someemail", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("someemail@example.com"), sampleMsg()),
				final: "eom accept", mods: []string{"add_rcpt <bcced_email@example.com>"},
				logs: []string{"Added the additional recipient to the oob"}},
			{name: "to someone else", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", noLogs: []string{"Added the additional recipient"}},
		},
	},
	{
		file: "kitchen-sink/src/add_recipient_based_on_localpart.lua",
		does: "validate_data: adds bounce_review@your.tld for mail to bounce@...; calls trim(), which it never defines",
		momentum: "the callout fails at line 14 (trim is nil), the error is logged with the callout's name " +
			"and the message is not accepted (4xx)",
		plays: []samplePlay{
			{name: "to bounce@", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("bounce@example.com"), sampleMsg()),
				final: "eom tempfail *",
				logs:  []string{"script error…callout=validate_data…add_recipient_based_on_localpart.lua line=14"}},
		},
	},
	{
		file:     "kitchen-sink/src/all_recipients_in_message.lua",
		does:     "validate_data: prints vctx:recipient_list()",
		momentum: "logs every recipient; the message is accepted unchanged",
		plays: []samplePlay{
			{name: "two recipients", tx: sampleTx("192.0.2.10", "sender@example.org",
				rcpts("someemail@example.com", "bounce@example.com"), sampleMsg()),
				final: "eom accept",
				logs:  []string{"Rcptto is currently set to…someemail@example.com…bounce@example.com"}},
		},
	},
	{
		file:     "kitchen-sink/src/check_spf.lua",
		does:     "validate_mailfrom: rejects when the spf_v1 module's spf_status is \"fail\"",
		momentum: "550 SPF HARD FAIL at MAIL FROM when SPF failed; otherwise (or with no SPF module) the session goes on",
		plays: []samplePlay{
			{name: "SPF fails", with: []standIn{spfV1},
				tx:    sampleTx("192.0.2.10", "someone@spf-fail.example", rcpts("rcpt@example.com"), sampleMsg()),
				final: "mail reject 550 SPF HARD FAIL"},
			{name: "SPF passes", with: []standIn{spfV1},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept"},
			{name: "no SPF module", tx: sampleTx("192.0.2.10", "someone@spf-fail.example", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept"},
		},
	},
	{
		file:     "kitchen-sink/src/custom_ad.lua",
		does:     "registers Adaptive Delivery rules with msys.adaptive.registerRules (outbound only, no callouts)",
		momentum: "loads; the rules shape outbound delivery; SMTP reception is unaffected",
		loadErr:  []string{"custom_ad.lua:34", "msys.adaptive"},
	},
	{
		file:     "kitchen-sink/src/discard_from_specific_address.lua",
		does:     "validate_data: silently discards mail from jdoe@example.com",
		momentum: "msg:discard: the client sees success, nothing is delivered, the reason is logged",
		plays: []samplePlay{
			{name: "from jdoe", tx: sampleTx("192.0.2.10", "jdoe@example.com", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom discard",
				logs:  []string{`message discarded by policy…reason="550 5.7.0 discarded due to OOB responses"`}},
			{name: "from someone else", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", noLogs: []string{"discarded"}},
		},
	},
	{
		file: "kitchen-sink/src/discard_message.lua",
		does: "validate_rcptto: meant to discard mail to yahoo.com, but its pattern [Lua Examples^@] " +
			"(mangled [^@]) never captures a domain yahoo.com",
		momentum: "every recipient passes and is logged as \"QA: Sending message to\"; nothing is discarded",
		plays: []samplePlay{
			{name: "to yahoo.com", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("someone@yahoo.com"), sampleMsg()),
				final: "eom accept", logs: []string{"QA: Sending message to…someone@yahoo.com"},
				noLogs: []string{"QA: Dropping"}},
		},
	},
	{
		file:     "kitchen-sink/src/dkim_sign.lua",
		does:     "core_final_validation: DKIM-signs with a domain from X-DkimDomain; a comment line is wrapped into code",
		momentum: "does not compile (line 11, near 'with'): the configuration is refused",
		loadErr:  []string{"dkim_sign.lua:11:", "near 'with'"},
	},
	{
		file:     "kitchen-sink/src/dynamically_create_new_message.lua",
		does:     "validate_rcptto: builds a new message with msg:build and sends it with msg:inject when the recipient is test@example.com",
		momentum: "the RCPT is accepted and a new message to test2@example.com is injected; other recipients pass",
		plays: []samplePlay{
			{name: "to someone else", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept"},
			{name: "to test@example.com", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("test@example.com"), sampleMsg()),
				final: "eom accept",
				logs:  []string{`msg:inject: message submitted"…callout=validate_rcptto…mailfrom=test@example.com rcptto=test2@example.com`}},
		},
	},
	{
		file:     "kitchen-sink/src/each_rcpt.lua",
		does:     "validate_data_spool_each_rcpt: copies X-Binding into the message context (binding) and deletes the header",
		momentum: "every recipient's copy loses X-Binding; binding=<value> is in its context for set_binding",
		plays:    eachRcptPlays(),
	},
	{
		file:     "kitchen-sink/src/friendly_from.lua",
		does:     "core_pre_msg_each_rcpt: puts Reply-To into mo_friendly_from for webhook events",
		momentum: "a delivery-side hook: SMTP reception is unchanged",
		plays: []samplePlay{
			{name: "with Reply-To", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
				sampleMsg("Reply-To: Replies <replies@example.org>")),
				final: "eom accept",
				logs:  []string{"no usable methods found for module in registerModule call…module=friendly_from"}},
		},
	},
	{
		file:     "kitchen-sink/src/hook_point_logger.lua",
		does:     "prints the name of every callout and hook as it runs",
		momentum: "prints connect, ehlo, mailfrom, rcptto, rcptto_list, rcptto_list_final, data, data_spool, each_rcpt, set_binding, core_final_validation in that order; accepts",
		plays: []samplePlay{
			{name: "SMTP callouts in phase order", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept",
				logs: []string{
					`XXXX STATE:  validate_connect (new connection)"`, `XXXX STATE: validate_ehlo"`,
					`XXXX STATE: validate_mailfrom"`, `XXXX STATE: validate_rcptto"`, `XXXX STATE: validate_rcptto_list"`,
					`XXXX STATE: validate_rcptto_list_final"`, `XXXX STATE: validate_data"`, `XXXX STATE: validate_data_spool"`,
					`XXXX STATE: validate_data_spool_each_rcpt"`, `XXXX STATE: validate_set_binding"`},
				noLogs: []string{"core_pre_mailq_message_requeue"}},
			{name: "core_final_validation after set_binding", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept",
				logs:  []string{`XXXX STATE: validate_set_binding"`, `XXXX STATE: core_final_validation"`}},
		},
	},
	{
		file: "kitchen-sink/src/limit_connections.lua",
		does: "validate_ehlo: outside my_networks, disconnects when msys.audit.connection(\"60,1\") is over current_limit; " +
			"msys.audit has connections, not connection",
		momentum: "clients in my_networks pass; for any other client the callout fails at line 19 (msys.audit.connection is nil) " +
			"and EHLO gets a 4xx",
		plays: []samplePlay{
			{name: "client in my_networks", with: []standIn{myNetworks},
				tx:    sampleTx("127.0.0.1", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"received EHLO client.example.net"}},
			{name: "other client", with: []standIn{myNetworks},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "helo tempfail *",
				logs: []string{"received EHLO client.example.net",
					"script error…callout=validate_ehlo…limit_connections.lua line=19"}},
		},
	},
	{
		file:     "kitchen-sink/src/log_reason_form_perm_fail.lua",
		does:     "core_log_*_failure_v1: keeps the last transient failure for the permanent-failure log; a stray line \"logger.lua\" is code",
		momentum: "does not compile (line 15, near 'require'): the configuration is refused",
		loadErr:  []string{"log_reason_form_perm_fail.lua:15:", "near 'require'"},
	},
	{
		file:     "kitchen-sink/src/messageid_on_delivery.lua",
		does:     "core_log_delivery_v1: prints the remote message id on delivery",
		momentum: "a delivery-log hook: SMTP reception is unchanged",
		plays: []samplePlay{
			{name: "a message", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept",
				logs:  []string{"no usable methods found for module in registerModule call…module=test"}},
		},
	},
	{
		file:     "kitchen-sink/src/meta_from_rest_transmission.lua",
		does:     "msg_gen_data_spool / each_rcpt / set_binding: binding group from REST metadata or X-Binding",
		momentum: "for SMTP mail, each recipient's copy is put in the X-Binding group (binding_group in its context); no SMTP-visible change",
		plays: []samplePlay{
			{name: "X-Binding, two recipients", with: []standIn{observe("ECMESS_CTX_MESS", "binding_group")},
				tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("someemail@example.com", "bounce@example.com"),
					sampleMsg("X-Binding: pool-b")),
				final: "eom accept",
				logs: []string{"msg:binding_group has no milter equivalent", "observed binding_group=pool-b",
					"msg:binding_group has no milter equivalent", "observed binding_group=pool-b"}},
		},
	},
	{
		file:     "kitchen-sink/src/replicate_is_valid_binding_of_seive.lua",
		does:     "validate_data_spool_each_rcpt: copies X-Binding into the message context (binding) and deletes the header (as each_rcpt.lua)",
		momentum: "every recipient's copy loses X-Binding; binding=<value> is in its context for set_binding",
		plays:    eachRcptPlays(),
	},
	{
		file:     "kitchen-sink/src/route_to_smart_host.lua",
		does:     "each_rcpt: routes smarthostdomain.tld to my.smart.host; set_binding: binding SMARTHOST or DNS",
		momentum: "routing domain and binding change; no SMTP-visible change",
		plays: []samplePlay{
			{name: "to smarthostdomain.tld", with: []standIn{observe("ECMESS_CTX_MESS", "SMART_HOST", "DNS_DOMAIN")},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("user@smarthostdomain.tld"), sampleMsg()),
				final: "eom accept",
				logs: []string{"msg:routing_domain has no milter equivalent", "msg:binding has no milter equivalent",
					"observed SMART_HOST=TRUE", "observed DNS_DOMAIN=FALSE"}},
			{name: "to another domain", with: []standIn{observe("ECMESS_CTX_MESS", "SMART_HOST", "DNS_DOMAIN")},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept",
				logs: []string{"msg:binding has no milter equivalent", `observed SMART_HOST="`,
					"observed DNS_DOMAIN=TRUE"}},
		},
	},
	{
		file: "kitchen-sink/src/set_binding.lua",
		does: "validate_set_binding: binding or binding group named by the context's binding, checked with " +
			"msys.core.config_get_binding_*, else \"fallthrough binding\"",
		momentum: "the binding is chosen (an unknown one leaves the message unbound); the message is accepted",
		plays: []samplePlay{
			{name: "alone", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"msg:binding has no milter equivalent"}},
			{name: "after each_rcpt.lua, X-Binding", with: []standIn{eachRcpt},
				tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
					sampleMsg("X-Binding: pool-b")),
				final: "eom accept", mods: []string{"delete_header X-Binding[1]"},
				logs: []string{"msg:binding has no milter equivalent"}},
		},
	},
	{
		file:     "kitchen-sink/src/set_binding_by_domain.lua",
		does:     "validate_set_binding: binding mydomain for senders whose domain matches mydomain.com",
		momentum: "binding mydomain for those senders; no SMTP-visible change",
		plays: []samplePlay{
			{name: "from mydomain.com", tx: sampleTx("192.0.2.10", "jdoe@mydomain.com", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"msg:binding has no milter equivalent"}},
			{name: "from another domain", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", noLogs: []string{"msg:binding has no milter equivalent"}},
		},
	},
	{
		file:     "kitchen-sink/src/set_binding_from_xheader.lua",
		does:     "validate_set_binding: binding group from X-Group, else binding from X-Binding",
		momentum: "binding group or binding as the headers say; no SMTP-visible change",
		plays: []samplePlay{
			{name: "X-Group", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg("X-Group: pool-g")),
				final: "eom accept", logs: []string{"msg:binding_group has no milter equivalent"},
				noLogs: []string{"msg:binding has no milter equivalent"}},
			{name: "X-Binding", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg("X-Binding: pool-b")),
				final: "eom accept", logs: []string{"msg:binding has no milter equivalent"},
				noLogs: []string{"msg:binding_group has no milter equivalent"}},
			{name: "neither", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", noLogs: []string{"no milter equivalent"}},
		},
	},
	{
		file:     "kitchen-sink/src/split_messageid.lua",
		does:     "validate_data: discards mail whose Message-ID domain is astramed-ms.ru",
		momentum: "msg:discard for that domain (client sees success), other mail accepted",
		plays: []samplePlay{
			{name: "Message-ID at astramed-ms.ru", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
				sampleMsg("Message-ID: <20180403173453.7@astramed-ms.ru>")),
				final: "eom discard",
				logs:  []string{`message discarded by policy…reason="550 5.7.0 discarded due to OOB responses"`}},
			{name: "other Message-ID", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept"},
		},
	},
	{
		file:     "kitchen-sink/src/test_fbl_stanza.lua",
		does:     "validate_data_spool_each_rcpt: sets the connection context variable FBL for an fbl stanza",
		momentum: "FBL=Mytestcontextvar in the connection context; no SMTP-visible change",
		plays: []samplePlay{
			{name: "a message", with: []standIn{observe("ECMESS_CTX_CONN", "FBL")},
				tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept", logs: []string{"observed FBL=Mytestcontextvar"}},
		},
	},
	{
		file:     "kitchen-sink/src/testing_arbitrary_bounces_on_sink_hole.lua",
		does:     "validate_data_spool: answers with the code and text in the X-Adaptive header (550 when it has no code)",
		momentum: "the final reply is X-Adaptive's code and text; without the header the callout returns nothing (logged) and mail is accepted",
		plays: []samplePlay{
			{name: "X-Adaptive 550", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
				sampleMsg("X-Adaptive: 550 5.1.1 mailbox unknown")),
				final: "eom reject 550 5.1.1 mailbox unknown",
				logs:  []string{"setting vctx code to:550 5.1.1 mailbox unknown"}},
			{name: "X-Adaptive 452", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
				sampleMsg("X-Adaptive: 452 4.2.2 mailbox full")),
				final: "eom tempfail 452 4.2.2 mailbox full"},
			{name: "X-Adaptive without a code", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"),
				sampleMsg("X-Adaptive: go away")),
				final: "eom reject 550 go away"},
			{name: "no X-Adaptive", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept",
				logs:  []string{"callout returned nothing…callout=validate_data_spool"}},
		},
	},
	{
		file:     "kitchen-sink/src/vctx_from_header.lua",
		does:     "validate_data_spool_each_rcpt: copies Reply-To into the message context (rtheader)",
		momentum: "rtheader=<Reply-To> in every recipient's context; no SMTP-visible change",
		plays: []samplePlay{
			{name: "two recipients", with: []standIn{observe("ECMESS_CTX_MESS", "rtheader")},
				tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("someemail@example.com", "bounce@example.com"),
					sampleMsg("Reply-To: replies@example.org")),
				final: "eom accept",
				logs:  []string{"observed rtheader=replies@example.org", "observed rtheader=replies@example.org"}},
		},
	},
	{
		file: "kitchen-sink/src/write_msg_to_jlog.lua",
		does: "validate_data_spool_each_rcpt: writes mail for |...@netlogmail.com to a jlog under a mutex made in init, " +
			"then discards it",
		momentum: "other recipients pass; that mail is journaled and discarded (luamilter: no jlog, so a clear error naming it)",
		plays: []samplePlay{
			{name: "ordinary recipient", tx: sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "eom accept"},
			{name: "to |bounces@netlogmail.com", tx: sampleTx("192.0.2.10", "sender@example.org",
				rcpts("|bounces@netlogmail.com"), sampleMsg()),
				final: "eom tempfail *", logs: []string{"script error…io_wrapper_open"}},
		},
	},
	{
		file: "training-policy/src/policy.lua",
		does: "module(..., package.seeall) helpers inbound.limits, inbound.rbl, inbound.fcdns: whitelist, " +
			"per-IP session limit, rbldnsd RBL, forward-confirmed reverse DNS",
		momentum: "whitelisted and FCDNS-clean clients pass; a 2nd session from one IP: 421 4.7.1 + disconnect; " +
			"RBL-listed: 554 + disconnect; no PTR: 554 5.5.4 + disconnect (milter: 421 + close)",
		files: map[string]string{
			"/var/tmp/good_guys.txt":          "192.0.2.20\n",
			"/opt/msys/ecelerity/etc/rbl.txt": "203.0.113.5\n",
		},
		dns: map[string]string{
			"7.100.51.198.in-addr.arpa. PTR": "mx.sender.example.",
			"mx.sender.example. A":           "198.51.100.7",
			"20.2.0.192.in-addr.arpa. PTR":   "good.example.net.",
			"good.example.net. A":            "192.0.2.20",
		},
		plays: []samplePlay{
			{name: "without msys.pbp, the failure names it", tx: sampleTx("198.51.100.7", "sender@example.org",
				rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail *", logs: []string{"script error…msys.pbp"}},
			{name: "whitelisted client", tx: sampleTx("192.0.2.20", "sender@example.org",
				rcpts("someemail@example.com", "bounce@example.com"), sampleMsg()),
				final: "eom accept", broken: trainingNeedsPBP},
			{name: "client with forward-confirmed reverse DNS", tx: sampleTx("198.51.100.7", "sender@example.org",
				rcpts("someemail@example.com", "bounce@example.com"), sampleMsg()),
				final: "eom accept", broken: trainingNeedsPBP},
			{name: "second session from one client", hold: []string{"198.51.100.7"},
				tx:    sampleTx("198.51.100.7", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail 421 4.7.1 - Connection refused - <198.51.100.7> -  Too many concurrent connections", broken: trainingNeedsPBP},
			{name: "client in the RBL", tx: sampleTx("203.0.113.5", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail 421 Listed in the RBL", broken: trainingNeedsPBP},
			{name: "client without reverse DNS", tx: sampleTx("192.0.2.99", "sender@example.org", rcpts("rcpt@example.com"), sampleMsg()),
				final: "connect tempfail 421 4.5.4 Relaying denied. IP name lookup failed for 192.0.2.99", broken: trainingNeedsPBP},
		},
	},
}

// trainingNeedsPBP is why the training policy's plays can't end as on
// Momentum: its helpers lean on Momentum's msys.pbp library.
const trainingNeedsPBP = "msys.pbp (check_whitelist, set_whitelist, fcdns_check, size_in_bytes) and ac:pbp_inbound_session_count_service missing"

// eachRcptPlays are the plays of each_rcpt.lua and its identical twin
// replicate_is_valid_binding_of_seive.lua.
func eachRcptPlays() []samplePlay {
	msg := sampleMsg("X-Binding: pool-b")
	return []samplePlay{
		{name: "one recipient", with: []standIn{observe("ECMESS_CTX_MESS", "binding")},
			tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("rcpt@example.com"), msg),
			final: "eom accept", mods: []string{"delete_header X-Binding[1]"},
			logs: []string{"observed binding=pool-b"}},
		{name: "two recipients", with: []standIn{observe("ECMESS_CTX_MESS", "binding")},
			tx:    sampleTx("192.0.2.10", "sender@example.org", rcpts("someemail@example.com", "bounce@example.com"), msg),
			final: "eom accept", mods: []string{"delete_header X-Binding[1]"},
			logs: []string{"observed binding=pool-b", "observed binding=pool-b"}},
	}
}

func TestMomentumSamples(t *testing.T) {
	dir, err := filepath.Abs(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, s := range samples {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(s.file, "kitchen-sink/src/"), ".lua"), func(t *testing.T) {
			rec := sampleRecord{now: "not run", status: "ok"}
			defer func() {
				now := strings.ReplaceAll(rec.now, dir+string(filepath.Separator), "")
				summary = append(summary, fmt.Sprintf("%s | now: %s | Momentum: %s | %s", s.file, now, s.momentum, rec.status))
			}()
			runSample(t, s, &rec)
		})
	}
	for _, line := range summary {
		t.Log(line)
	}
}

// sampleRecord is one file's line of the summary: luamilter's outcome
// now, and ok or broken.
type sampleRecord struct{ now, status string }

// runSample plays every transaction of s, recording the outcomes in rec.
func runSample(t *testing.T, s sample, rec *sampleRecord) {
	path, err := filepath.Abs(filepath.Join(sampleDir, s.file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if s.broken != "" {
		rec.status = "broken: " + s.broken
	}
	for _, p := range s.plays {
		if p.broken != "" && s.broken == "" {
			rec.status = "broken (" + p.name + "): " + p.broken
			break
		}
	}
	for p, content := range s.files {
		putFixedFile(t, p, content)
	}
	dnsAddr := startSampleDNS(t, s.dns)
	if s.loadErr != nil {
		_, err := startSample(t, dnsAddr, path, nil, true)
		rec.now = "loads"
		var problems []string
		if err == nil {
			problems = append(problems, "loads; want a load error containing "+strings.Join(s.loadErr, ", "))
		} else {
			rec.now = "load error: " + firstLine(err.Error())
			for _, want := range s.loadErr {
				if !strings.Contains(err.Error(), want) {
					problems = append(problems, fmt.Sprintf("load error %q does not contain %q", err, want))
				}
			}
		}
		verdict(t, s.broken, problems)
		return
	}
	var names, outs []string
	for _, p := range s.plays {
		broken := p.broken
		if broken == "" {
			broken = s.broken
		}
		t.Run(p.name, func(t *testing.T) {
			out, problems := playSample(t, dnsAddr, path, p)
			names, outs = append(names, p.name), append(outs, out)
			verdict(t, broken, problems)
		})
	}
	same := len(outs) > 1
	for _, o := range outs {
		same = same && o == outs[0]
	}
	if same {
		rec.now = "every play: " + outs[0]
		return
	}
	for i := range outs {
		outs[i] = names[i] + ": " + outs[i]
	}
	rec.now = strings.Join(outs, "; ")
}

// verdict fails on problems, or skips a broken entry; a broken entry
// without problems fails so that its mark gets deleted.
func verdict(t *testing.T, broken string, problems []string) {
	t.Helper()
	switch {
	case broken != "" && len(problems) > 0:
		for _, p := range problems {
			t.Log(p)
		}
		t.Skip("not yet as on Momentum: " + broken)
	case broken != "":
		t.Errorf("marked broken (%s) but behaves as on Momentum now: delete the mark", broken)
	default:
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// playSample serves the sample with p's stand-ins, plays p.tx and
// returns the outcome and every way it differs from p's expectation.
func playSample(t *testing.T, dnsAddr, path string, p samplePlay) (string, []string) {
	srv, err := startSample(t, dnsAddr, path, p.with, len(p.hold) == 0)
	if err != nil {
		return "load error: " + firstLine(err.Error()), []string{"load: " + err.Error()}
	}
	var problems []string
	for _, ip := range p.hold {
		if act := holdSession(t, srv, ip); act != "continue" {
			problems = append(problems, fmt.Sprintf("held session from %s: connect %s", ip, act))
		}
	}
	tr, err := srv.Play(p.tx)
	if err != nil {
		return "play error: " + err.Error(), append(problems, "play: "+err.Error())
	}
	final := strings.TrimSpace(tr.Final.Stage + " " + tr.Final.Action + " " + tr.Final.Reply)
	out := final
	if len(tr.Modifications) > 0 {
		out += " + " + strings.Join(tr.Modifications, ", ")
	}
	if want, any := strings.CutSuffix(p.final, " *"); any {
		if tr.Final.Stage+" "+tr.Final.Action != want {
			problems = append(problems, fmt.Sprintf("final %q, want %q", final, p.final))
		}
	} else if final != p.final {
		problems = append(problems, fmt.Sprintf("final %q, want %q", final, p.final))
	}
	for i, st := range tr.Stages {
		if (i < len(tr.Stages)-1 || st.Stage == "rcpt") && st.Action != "continue" {
			problems = append(problems, fmt.Sprintf("stage %s %s, want continue",
				st.Stage, strings.TrimSpace(st.Arg+" "+st.Action+" "+st.Reply)))
		}
	}
	if strings.Join(tr.Modifications, "|") != strings.Join(p.mods, "|") {
		problems = append(problems, fmt.Sprintf("modifications %q, want %q", tr.Modifications, p.mods))
	}
	problems = append(problems, checkLogs(srv.Logs(), p.logs, p.noLogs)...)
	if len(problems) > 0 {
		for _, line := range strings.Split(srv.Logs(), "\n") {
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
				t.Log(line)
			}
		}
	}
	return out, problems
}

// checkLogs matches want against the log lines in order, one line each,
// and checks that no line holds any of never.
func checkLogs(logs string, want, never []string) []string {
	var problems []string
	lines := strings.Split(logs, "\n")
	next := 0
	for _, w := range want {
		parts := strings.Split(w, "…")
		found := false
		for ; next < len(lines) && !found; next++ {
			found = true
			for _, part := range parts {
				found = found && strings.Contains(lines[next], part)
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("no log line (in order) with %q", parts))
			break
		}
	}
	for _, n := range never {
		if strings.Contains(logs, n) {
			problems = append(problems, fmt.Sprintf("log has %q", n))
		}
	}
	return problems
}

// startSample serves the sample file in place, with its stand-ins,
// on the msys.* libraries the daemon builds; in process when direct, on
// a socket when the test holds sessions open by hand.
func startSample(t *testing.T, dnsAddr, path string, with []standIn, direct bool) (*milttest.Server, error) {
	dir := t.TempDir()
	var before, after []string
	for i, w := range with {
		p := filepath.Join(sampleDir, w.file)
		if w.file == "" {
			p = filepath.Join(dir, fmt.Sprintf("standin%d_%s.lua", i, w.name))
			if err := os.WriteFile(p, []byte(w.src), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if w.after {
			after = append(after, p)
		} else {
			before = append(before, p)
		}
	}
	paths := append(append(before, path), after...)
	setup := func(cfg *daemon.Config) {
		cfg.DNS.Servers = []string{dnsAddr}
		// msg:inject and msg:forward submit to an SMTP listener of the
		// test's own, as Momentum would queue the new message.
		cfg.InjectRelay = startSMTPSink(t).addr
	}
	return milttest.StartWith(t, dir, milttest.Options{Modules: true, Direct: direct}, setup, paths...)
}

// holdSession opens a milter session from ip, as an MTA does for an
// SMTP client that stays connected, and returns the connect action.
// The session closes when the test ends.
func holdSession(t *testing.T, srv *milttest.Server, ip string) string {
	t.Helper()
	sess, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	act, err := sess.Conn("held.example.net", gomilter.FamilyInet, 26000, ip)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case act.Type == gomilter.ActionContinue:
		return "continue"
	case act.SMTPCode != 0:
		return "refused " + act.SMTPReply
	}
	return fmt.Sprintf("action %v", act.Type)
}

// putFixedFile writes content at path, a place the sample reads, and
// restores what was there when the test ends.
func putFixedFile(t *testing.T, path, content string) {
	t.Helper()
	var created []string
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append(created, d)
	}
	old, readErr := os.ReadFile(path)
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(content), 0o644)
	}
	t.Cleanup(func() {
		if readErr == nil {
			os.WriteFile(path, old, 0o644)
		} else {
			os.Remove(path)
		}
		for _, d := range created {
			os.Remove(d)
		}
	})
	if os.IsPermission(err) {
		t.Skipf("the sample reads %s at a fixed path, which this user can't write: %v", path, err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// startSampleDNS serves zone ("name. TYPE" → answer) on loopback; other
// names are NXDOMAIN.
func startSampleDNS(t *testing.T, zone map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			m.Rcode = dns.RcodeNameError
			if len(r.Question) == 1 {
				q := r.Question[0]
				typ := dns.TypeToString[q.Qtype]
				if v, ok := zone[strings.ToLower(q.Name)+" "+typ]; ok {
					if rr, err := dns.NewRR(q.Name + " 60 IN " + typ + " " + v); err == nil {
						m.Rcode = dns.RcodeSuccess
						m.Answer = append(m.Answer, rr)
					}
				}
			}
			w.WriteMsg(m)
		})}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
