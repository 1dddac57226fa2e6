package milter

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	gomilter "github.com/d--j/go-milter"
	"github.com/d--j/go-milter/milterutil"

	"github.com/luamilter/luamilter/internal/hdrblock"
)

// PlayDirect plays tx through the server in process, as Play does over
// a socket: the server's adapter gets the same commands, macros and
// negotiated options from a directSession as it would from go-milter,
// and the Trace comes out the same. What it leaves out is the wire: the
// packet guard, the read and write timeouts, go-milter's framing. Tests
// of the policy use it; tests of those keep the socket.
func (s *Server) PlayDirect(tx Transaction) (*Trace, error) {
	offered := gomilter.AllClientSupportedActionMasks
	if tx.Actions != nil {
		offered = *tx.Actions
	}
	macros := txMacros(tx)
	d, err := newDirectSession(s, offered, macros)
	if err != nil {
		return nil, err
	}
	defer d.close()
	return play(d, macros, tx)
}

// clientProtocol is what go-milter's client offers (SMFI_CURR_PROT), as
// Postfix offers it.
const clientProtocol = gomilter.OptNoConnect | gomilter.OptNoHelo | gomilter.OptNoMailFrom | gomilter.OptNoRcptTo |
	gomilter.OptNoBody | gomilter.OptNoHeaders | gomilter.OptNoEOH | gomilter.OptNoUnknown | gomilter.OptNoData |
	gomilter.OptSkip | gomilter.OptRcptRej | gomilter.OptNoHeaderReply | gomilter.OptNoConnReply |
	gomilter.OptNoHeloReply | gomilter.OptNoMailReply | gomilter.OptNoRcptReply | gomilter.OptNoDataReply |
	gomilter.OptNoUnknownReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptHeaderLeadingSpace

// clientMacros are the macros go-milter's client sends at each stage when
// the milter asks for none.
var clientMacros = [][]string{
	gomilter.StageConnect: {gomilter.MacroMTAFQDN, gomilter.MacroDaemonName, gomilter.MacroIfName, gomilter.MacroIfAddr},
	gomilter.StageHelo:    {gomilter.MacroTlsVersion, gomilter.MacroCipher, gomilter.MacroCipherBits, gomilter.MacroCertSubject, gomilter.MacroCertIssuer},
	gomilter.StageMail: {gomilter.MacroAuthType, gomilter.MacroAuthAuthen, gomilter.MacroAuthSsf, gomilter.MacroAuthAuthor,
		gomilter.MacroMailMailer, gomilter.MacroMailHost, gomilter.MacroMailAddr},
	gomilter.StageRcpt: {gomilter.MacroRcptMailer, gomilter.MacroRcptHost, gomilter.MacroRcptAddr},
	gomilter.StageData: nil,
	gomilter.StageEOM:  {gomilter.MacroQueueId},
	gomilter.StageEOH:  nil,
}

// macroOrder is the order of the macro stages in a session; a command
// drops the macros of its stage and the later ones, as go-milter's
// server does (the numbering of the stages is not their order).
var macroOrder = []gomilter.MacroStage{gomilter.StageConnect, gomilter.StageHelo, gomilter.StageMail, gomilter.StageRcpt,
	gomilter.StageData, gomilter.StageEOH, gomilter.StageEOM, gomilter.StageEndMarker}

// directSession plays both ends of one milter connection in process: the
// MTA's, as go-milter's ClientSession would (the mtaSession play drives),
// and go-milter's server's, handing each command to an adapter with
// itself as the Modifier. Modifications are recorded as the client would
// have parsed them from the wire.
type directSession struct {
	a       *adapter
	id      uint64
	actions gomilter.OptAction
	proto   gomilter.OptProtocol
	bag     *gomilter.MacroBag
	ask     [][]string                                     // macro names sent per stage
	stages  [gomilter.StageEndMarker + 1]map[string]string // what the server holds
	mods    []gomilter.ModifyAction
}

// newDirectSession negotiates as go-milter would between its client
// offering offered and the server, then starts the adapter's session.
func newDirectSession(s *Server, offered gomilter.OptAction, bag *gomilter.MacroBag) (*directSession, error) {
	_, actions, proto, _, err := negotiator(s.cfg.Needs)(gomilter.MaxClientProtocolVersion, gomilter.MaxServerProtocolVersion,
		offered, 0, clientProtocol, 0, gomilter.DataSize64K)
	if err != nil {
		return nil, err
	}
	d := &directSession{a: newAdapter(s), id: s.directIDs.Add(1), actions: actions, proto: proto, bag: bag, ask: clientMacros}
	if len(s.cfg.Macros) > 0 && offered&gomilter.OptSetMacros != 0 {
		// The milter's request replaces the client's list, stage by stage.
		d.ask = make([][]string, gomilter.StageEndMarker)
		for stage, names := range s.cfg.Macros {
			if int(stage) < len(d.ask) {
				d.ask[stage] = names
			}
		}
	}
	if err := d.a.NewConnection(d); err != nil {
		d.a.Cleanup(d)
		return nil, err
	}
	return d, nil
}

// close ends the connection as the MTA's QUIT does.
func (d *directSession) close() { d.a.Cleanup(d) }

// sendMacros hands the server the stage's macros the bag defines, before
// the stage's command; none defined, nothing is sent.
func (d *directSession) sendMacros(stage gomilter.MacroStage) {
	if int(stage) >= len(d.ask) {
		return
	}
	var kv map[string]string
	for _, name := range d.ask[stage] {
		if v, ok := d.bag.GetEx(name); ok {
			if kv == nil {
				kv = map[string]string{}
			}
			kv[name] = v
		}
	}
	if kv != nil {
		d.dropFrom(stage)
		d.stages[stage] = kv
	}
}

// dropFrom forgets the macros of stage and the stages after it.
func (d *directSession) dropFrom(stage gomilter.MacroStage) {
	for i, st := range macroOrder {
		if st == stage {
			for _, later := range macroOrder[i:] {
				d.stages[later] = nil
			}
			return
		}
	}
}

// reply is the MTA's view of the adapter's answer: none when the reply
// was negotiated away (noReply), which the MTA takes as continue.
func (d *directSession) reply(resp *gomilter.Response, err error, noReply gomilter.OptProtocol) (*gomilter.Action, error) {
	if err != nil {
		return nil, err
	}
	if d.proto&noReply != 0 {
		return &gomilter.Action{Type: gomilter.ActionContinue}, nil
	}
	return clientAction(resp)
}

// clientAction parses a response as go-milter's client does.
func clientAction(resp *gomilter.Response) (*gomilter.Action, error) {
	if resp == nil {
		return nil, fmt.Errorf("milter: no response")
	}
	msg := resp.Response()
	act := &gomilter.Action{SMTPCode: 250, SMTPReply: "250 accept"}
	switch byte(msg.Code) {
	case 'a':
		act.Type = gomilter.ActionAccept
	case 'c':
		act.Type = gomilter.ActionContinue
	case 'd':
		act.Type = gomilter.ActionDiscard
	case 's':
		act.Type = gomilter.ActionSkip
	case 'r':
		act.Type, act.SMTPCode, act.SMTPReply = gomilter.ActionReject, 550, "550 5.7.1 Command rejected"
	case 't':
		act.Type, act.SMTPCode, act.SMTPReply = gomilter.ActionTempFail, 451, "451 4.7.1 Service unavailable - try again later"
	case 'y':
		reply := strings.TrimRight(string(bytes.TrimSuffix(msg.Data, []byte{0})), "\r\n")
		code, err := strconv.Atoi(reply[:min(3, len(reply))])
		if err != nil || code < 400 || code > 599 {
			return nil, fmt.Errorf("action read: malformed SMTP response: %q", msg.Data)
		}
		act.Type, act.SMTPCode, act.SMTPReply = gomilter.ActionRejectWithCode, uint16(code), reply
	default:
		return nil, fmt.Errorf("action read: unexpected code: %c", msg.Code)
	}
	return act, nil
}

var continued = &gomilter.Action{Type: gomilter.ActionContinue}

// The mtaSession side: what the MTA sends, then what go-milter's server
// does with it.

func (d *directSession) Conn(hostname string, family gomilter.ProtoFamily, port uint16, addr string) (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageConnect)
	if d.proto&gomilter.OptNoConnect != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageHelo)
	fam, addr, err := connFamily(family, addr)
	if err != nil {
		return nil, err
	}
	resp, err := d.a.Connect(hostname, fam, port, addr, d)
	return d.reply(resp, err, gomilter.OptNoConnReply)
}

// connFamily checks and names the client's address family as go-milter's
// server does; a bad address ends the session there.
func connFamily(family gomilter.ProtoFamily, addr string) (string, string, error) {
	switch family {
	case gomilter.FamilyUnknown:
		return "unknown", "", nil
	case gomilter.FamilyUnix:
		return "unix", addr, nil
	case gomilter.FamilyInet:
		if ip := net.ParseIP(addr); ip == nil || ip.To4() == nil {
			return "", "", fmt.Errorf("milter: conn: unexpected ip4 address: %q", addr)
		}
		return "tcp4", addr, nil
	case gomilter.FamilyInet6:
		a := strings.TrimPrefix(addr, "IPv6:")
		if len(a) > 2 && a[0] == '[' && a[len(a)-1] == ']' {
			a = a[1 : len(a)-1]
		}
		ip := net.ParseIP(a)
		if ip == nil {
			return "", "", fmt.Errorf("milter: conn: unexpected ip6 address: %q", addr)
		}
		return "tcp6", ip.String(), nil
	}
	return "", "", fmt.Errorf("milter: conn: unexpected protocol family: %c", family)
}

func (d *directSession) Helo(helo string) (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageHelo)
	if d.proto&gomilter.OptNoHelo != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageMail)
	resp, err := d.a.Helo(helo, d)
	return d.reply(resp, err, gomilter.OptNoHeloReply)
}

func (d *directSession) Mail(sender, esmtpArgs string) (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageMail)
	if d.proto&gomilter.OptNoMailFrom != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageRcpt)
	resp, err := d.a.MailFrom(gomilter.RemoveAngle("<"+sender+">"), esmtpArgs, d)
	return d.reply(resp, err, gomilter.OptNoMailReply)
}

func (d *directSession) Rcpt(rcpt, esmtpArgs string) (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageRcpt)
	if d.proto&gomilter.OptNoRcptTo != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageData)
	resp, err := d.a.RcptTo(gomilter.RemoveAngle("<"+rcpt+">"), esmtpArgs, d)
	return d.reply(resp, err, gomilter.OptNoRcptReply)
}

func (d *directSession) DataStart() (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageData)
	if d.proto&gomilter.OptNoData != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageEOH)
	resp, err := d.a.Data(d)
	return d.reply(resp, err, gomilter.OptNoDataReply)
}

func (d *directSession) HeaderField(key, value string, _ map[gomilter.MacroName]string) (*gomilter.Action, error) {
	if d.proto&gomilter.OptNoHeaders != 0 {
		return continued, nil
	}
	for _, nl := range []string{"\r\n", "\n", "\r"} {
		if len(value) > len(nl) && strings.HasSuffix(value, nl) {
			value = value[:len(value)-len(nl)]
			break
		}
	}
	resp, err := d.a.Header(key, value, d)
	d.dropFrom(gomilter.StageEndMarker)
	return d.reply(resp, err, gomilter.OptNoHeaderReply)
}

func (d *directSession) HeaderEnd() (*gomilter.Action, error) {
	d.sendMacros(gomilter.StageEOH)
	if d.proto&gomilter.OptNoEOH != 0 {
		return continued, nil
	}
	d.dropFrom(gomilter.StageEOM)
	resp, err := d.a.Headers(d)
	return d.reply(resp, err, gomilter.OptNoEOHReply)
}

func (d *directSession) BodyChunk(chunk []byte) (*gomilter.Action, error) {
	if d.proto&gomilter.OptNoBody != 0 {
		return continued, nil
	}
	if len(chunk) > int(gomilter.DataSize64K) {
		return nil, fmt.Errorf("milter: body: too big body chunk: %d > %d", len(chunk), gomilter.DataSize64K)
	}
	// The adapter keeps the chunk, as go-milter hands it a fresh packet.
	resp, err := d.a.BodyChunk(bytes.Clone(chunk), d)
	d.dropFrom(gomilter.StageEndMarker)
	return d.reply(resp, err, gomilter.OptNoBodyReply)
}

func (d *directSession) BodyReadFrom(r io.Reader) ([]gomilter.ModifyAction, *gomilter.Action, error) {
	if d.proto&gomilter.OptNoBody == 0 {
		buf := make([]byte, gomilter.DataSize64K)
		for {
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				act, err := d.BodyChunk(buf[:n])
				if err != nil {
					return nil, nil, err
				}
				if act.Type != gomilter.ActionContinue {
					return nil, act, nil
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return nil, nil, err
			}
		}
	}
	return d.End()
}

func (d *directSession) End() ([]gomilter.ModifyAction, *gomilter.Action, error) {
	d.sendMacros(gomilter.StageEOM)
	d.mods = nil
	resp, err := d.a.EndOfMessage(d)
	if err != nil {
		return nil, nil, err
	}
	if resp == nil || resp.Continue() {
		resp = gomilter.RespAccept
	}
	act, err := clientAction(resp)
	return d.mods, act, err
}

// The gomilter.Modifier side: what the adapter reads and sends back.

// Get implements gomilter.Macros: the latest stage's value wins.
func (d *directSession) Get(name gomilter.MacroName) string {
	v, _ := d.GetEx(name)
	return v
}

// GetEx implements gomilter.Macros.
func (d *directSession) GetEx(name gomilter.MacroName) (string, bool) {
	for i := len(d.stages) - 1; i >= 0; i-- {
		if v, ok := d.stages[i][name]; ok {
			return v, true
		}
	}
	return "", false
}

func (d *directSession) Version() uint32                { return gomilter.MaxClientProtocolVersion }
func (d *directSession) Protocol() gomilter.OptProtocol { return d.proto }
func (d *directSession) Actions() gomilter.OptAction    { return d.actions }
func (d *directSession) MaxDataSize() gomilter.DataSize { return gomilter.DataSize64K }
func (d *directSession) MilterId() uint64               { return d.id }
func (d *directSession) Progress() error                { return nil }

// allowed is go-milter's check that a modification was negotiated.
func (d *directSession) allowed(any gomilter.OptAction) error {
	if d.actions&any == 0 {
		return gomilter.ErrModificationNotAllowed
	}
	return nil
}

func (d *directSession) AddRecipient(r, esmtpArgs string) error {
	if err := d.allowed(gomilter.OptAddRcpt | gomilter.OptAddRcptWithArgs); err != nil {
		return err
	}
	if esmtpArgs != "" {
		if err := d.allowed(gomilter.OptAddRcptWithArgs); err != nil {
			return err
		}
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: gomilter.ActionAddRcpt,
		Rcpt: gomilter.AddAngle(milterutil.NewlineToSpace(r)), RcptArgs: milterutil.NewlineToSpace(esmtpArgs)})
	return nil
}

func (d *directSession) DeleteRecipient(r string) error {
	if err := d.allowed(gomilter.OptRemoveRcpt); err != nil {
		return err
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: gomilter.ActionDelRcpt, Rcpt: gomilter.AddAngle(milterutil.NewlineToSpace(r))})
	return nil
}

func (d *directSession) ReplaceBodyRawChunk(chunk []byte) error {
	if err := d.allowed(gomilter.OptChangeBody); err != nil {
		return err
	}
	if len(chunk) > int(gomilter.DataSize64K) {
		return fmt.Errorf("milter: body chunk too large: %d > %d", len(chunk), gomilter.DataSize64K)
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: gomilter.ActionReplaceBody, Body: bytes.Clone(chunk)})
	return nil
}

func (d *directSession) ReplaceBody(r io.Reader) error {
	buf := make([]byte, gomilter.DataSize64K)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := d.ReplaceBodyRawChunk(buf[:n]); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *directSession) Quarantine(reason string) error {
	if err := d.allowed(gomilter.OptQuarantine); err != nil {
		return err
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: gomilter.ActionQuarantine, Reason: milterutil.NewlineToSpace(reason)})
	return nil
}

func (d *directSession) AddHeader(name, value string) error {
	return d.header(gomilter.ActionAddHeader, gomilter.OptAddHeader, 0, name, value)
}

func (d *directSession) ChangeHeader(index int, name, value string) error {
	if index == 0 { // the client reads index 0 as 1, as Sendmail does
		index = 1
	}
	return d.header(gomilter.ActionChangeHeader, gomilter.OptChangeHeader, index, name, value)
}

func (d *directSession) InsertHeader(index int, name, value string) error {
	return d.header(gomilter.ActionInsertHeader, gomilter.OptChangeHeader|gomilter.OptAddHeader, index, name, value)
}

// header records a header change as the client gets it: line ends as LF
// and NULs as spaces on the wire.
func (d *directSession) header(typ gomilter.ModifyActionType, need gomilter.OptAction, index int, name, value string) error {
	if err := d.allowed(need); err != nil {
		return err
	}
	if index < 0 || int64(index) > int64(^uint32(0)) {
		return fmt.Errorf("milter: invalid header index: %d", index)
	}
	if !hdrblock.ValidName(name) {
		return fmt.Errorf("milter: invalid header name: %q", name)
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: typ, HeaderIndex: uint32(index), HeaderName: name,
		HeaderValue: milterutil.CrLfToLf(value)})
	return nil
}

func (d *directSession) ChangeFrom(value, esmtpArgs string) error {
	if err := d.allowed(gomilter.OptChangeFrom); err != nil {
		return err
	}
	d.mods = append(d.mods, gomilter.ModifyAction{Type: gomilter.ActionChangeFrom,
		From: gomilter.AddAngle(milterutil.NewlineToSpace(value)), FromArgs: milterutil.NewlineToSpace(esmtpArgs)})
	return nil
}
