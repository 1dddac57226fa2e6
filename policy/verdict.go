package policy

import (
	"net"
	"strconv"
	"strings"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
)

// verdict turns the reply the scripts set into a milter verdict; the
// code's class decides the action (milter.CodeAction).
func (s *session) verdict() milter.Verdict {
	r := s.reply
	if r.disconnect {
		return s.disconnectVerdict(r)
	}
	switch milter.CodeAction(r.code) {
	case milter.Reject:
		return milter.Reply(r.code, textOr(r.text, "5.7.1 Rejected by policy"))
	case milter.TempFail:
		return milter.Reply(r.code, textOr(r.text, "4.7.1 Temporarily rejected by policy"))
	}
	if r.code != 0 {
		s.logger().Debug("success reply text can't be passed through a milter", "code", r.code, "text", r.text)
	}
	return milter.Verdict{Action: milter.Continue}
}

// disconnectVerdict ends the SMTP session. The MTAs close the session only
// on a 421 reply, so another code becomes 421 with the script's text and
// the enhanced code's class adjusted to match.
func (s *session) disconnectVerdict(r reply) milter.Verdict {
	text := textOr(r.text, "4.7.0 Closing connection")
	if r.code != 421 {
		if r.code != 0 {
			s.logger().Info("disconnect sends 421: a milter can close the session only with 421", "requested_code", r.code)
		}
		if len(text) > 2 && (text[0] == '5' || text[0] == '2') && text[1] == '.' {
			text = "4" + text[1:]
		}
	}
	return milter.Reply(421, text)
}

func textOr(text, def string) string {
	if strings.TrimSpace(text) == "" {
		return def
	}
	return text
}

// scriptFailed logs a script error and returns the --on-error verdict.
func (s *session) scriptFailed(err error) milter.Verdict {
	s.logScriptError(err)
	reason := "policy script error"
	if se, ok := luart.AsScriptError(err); ok {
		switch se.Kind {
		case luart.KindTimeout:
			reason = "policy script timeout"
		case luart.KindLimit:
			reason = "policy script resource limit"
		}
	}
	return s.errorVerdict(reason)
}

// errorVerdict is the --on-error verdict, with reason in the reply.
func (s *session) errorVerdict(reason string) milter.Verdict {
	switch s.gen.onError {
	case ErrorAccept:
		return milter.Verdict{Action: milter.Continue}
	case ErrorReject:
		return milter.Reply(554, "5.3.0 Message rejected: "+reason)
	}
	return milter.Reply(451, "4.3.0 Temporary failure: "+reason+", try again later")
}

func (s *session) logScriptError(err error) {
	attrs := []any{"err", err.Error()}
	module := s.info.Module
	if se, ok := luart.AsScriptError(err); ok {
		module = se.Module
		attrs = []any{"callout", se.Callout, "kind", se.Kind.String(), "file", se.File, "line", se.Line, "error", se.Msg}
		if se.Stack != "" {
			attrs = append(attrs, "stack", se.Stack)
		}
	}
	s.modLog(module).Error("script error", attrs...)
}

// fillConnMacros copies what the MTA told us into the connection
// dictionary under Momentum's predefined names.
func (s *session) fillConnMacros(m milter.Macros) {
	set := func(key, macro string) {
		if v, ok := m.GetEx(macro); ok && v != "" {
			s.conn[key] = v
		}
	}
	set("tls_version", "{tls_version}")
	set("tls_cipher", "{cipher}")
	set("tls_cipher_algbits", "{cipher_bits}")
	set("tls_cipher_usebits", "{cipher_bits}")
	set("tls_client_cert_subject", "{cert_subject}")
	set("tls_client_cert_issuer", "{cert_issuer}")
	set("auth_user", "{auth_authen}")
	set("auth_name", "{auth_type}") // Momentum's auth_name is the mechanism, not the user
	set("auth_type", "{auth_type}")
	set("reverse_dns", "{client_ptr}")
	if _, ok := s.conn["tls_version"]; ok {
		s.conn["tls"] = "true"
	}
	// The MTA's {verify} is OK when the client's certificate verified;
	// Momentum then has tls_client_verified = "yes", else no such key.
	if v, ok := m.GetEx("{verify}"); ok && v != "" {
		if v == "OK" {
			s.conn["tls_client_verified"] = "yes"
		} else {
			delete(s.conn, "tls_client_verified")
		}
	}
	if s.conn["auth_user"] != "" {
		s.conn["auth_status"] = "pass"
	}
	if s.conn["auth_user"] != "" || s.inRelayNetworks(s.peer.IP) {
		s.conn["can_relay"] = "true"
	}
}

func (s *session) inRelayNetworks(ip net.IP) bool {
	for _, n := range s.gen.relay {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

func strconvCode(c int) string {
	if c == 0 {
		return ""
	}
	return strconv.Itoa(c)
}
