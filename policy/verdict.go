package policy

import (
	"net"
	"strconv"

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
	if v := milter.ScriptReply(r.code, r.text); v.Action != milter.Continue {
		return v
	}
	if r.code != 0 {
		s.logger().Debug("success reply text can't be passed through a milter", "code", r.code, "text", r.text)
	}
	return milter.Verdict{Action: milter.Continue}
}

// disconnectVerdict ends the SMTP session with the reply
// milter.DisconnectReply makes of the script's.
func (s *session) disconnectVerdict(r reply) milter.Verdict {
	v := milter.DisconnectReply(r.code, r.text)
	if r.code != 0 && r.code != v.Code {
		s.logger().Info("disconnect sends 421: a milter can close the session only with 421", "requested_code", r.code)
	}
	return v
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
		return milter.ErrorRejectReply(reason)
	}
	return milter.ErrorTempFailReply(reason)
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
