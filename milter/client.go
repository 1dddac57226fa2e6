package milter

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/hdrblock"
)

// Transaction is one SMTP session to play against a milter, as an MTA
// would: used by `luamilter test` and the test suites.
type Transaction struct {
	ClientIP   string
	ClientName string
	Helo       string
	From       string
	Rcpts      []string
	Message    []byte            // headers, blank line, body (CRLF or LF)
	Macros     map[string]string // extra macros, sent at every stage
	QueueID    string            // value of macro "i"
	// Actions, when set, are the modification actions the MTA offers
	// (an MTA may offer fewer than luamilter wants: Postfix with
	// milter_..._actions, Sendmail without some F= flags); nil offers
	// every one, as Postfix does by default.
	Actions *gomilter.OptAction

	// The fields below replay a recorded transaction exactly; their zero
	// values play a plain one.
	ClientPort uint16   // 0 plays port 25000
	MailArgs   string   // ESMTP args of MAIL FROM
	RcptArgs   []string // ESMTP args of each RCPT TO, by index
	// StageMacros are set before the named stage (connect, helo, mail,
	// data, eom) and RcptMacros before each RCPT TO, over Macros.
	StageMacros map[string]map[string]string
	RcptMacros  []map[string]string
	// Until, when set, is the last stage the client sends (connect,
	// helo, mail, rcpt or data): the session then ends as the MTA's did.
	Until string
	// Exact sends only Macros and StageMacros, none of the made-up
	// defaults (j, {daemon_name}, {client_addr}, ...).
	Exact bool
}

// StageResult is what the milter answered at one stage.
type StageResult struct {
	Stage  string `json:"stage"`
	Arg    string `json:"arg,omitempty"`
	Action string `json:"action"`
	Code   int    `json:"code,omitempty"`
	Reply  string `json:"reply,omitempty"`
}

// Trace is the outcome of a Transaction.
type Trace struct {
	Stages        []StageResult           `json:"stages"`
	Final         StageResult             `json:"final"`
	Modifications []string                `json:"modifications"`
	Raw           []gomilter.ModifyAction `json:"-"`
}

// Play connects to a milter at network/addr and plays tx through it,
// stopping where the milter rejects, as an MTA would.
func Play(network, addr string, tx Transaction) (*Trace, error) {
	macros := txMacros(tx)
	opts := []gomilter.Option{gomilter.WithReadTimeout(60 * time.Second), gomilter.WithWriteTimeout(60 * time.Second)}
	if tx.Actions != nil {
		opts = append(opts, gomilter.WithActions(*tx.Actions))
	}
	client := gomilter.NewClient(network, addr, opts...)
	sess, err := client.Session(macros)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	return play(sess, macros, tx)
}

// mtaSession is the MTA's side of one milter session: go-milter's
// ClientSession on a socket, or a directSession in process. play drives
// either the same way, so both give the same Trace.
type mtaSession interface {
	Conn(hostname string, family gomilter.ProtoFamily, port uint16, addr string) (*gomilter.Action, error)
	Helo(helo string) (*gomilter.Action, error)
	Mail(sender string, esmtpArgs string) (*gomilter.Action, error)
	Rcpt(rcpt string, esmtpArgs string) (*gomilter.Action, error)
	DataStart() (*gomilter.Action, error)
	HeaderField(key, value string, macros map[gomilter.MacroName]string) (*gomilter.Action, error)
	HeaderEnd() (*gomilter.Action, error)
	BodyChunk(chunk []byte) (*gomilter.Action, error)
	BodyReadFrom(r io.Reader) ([]gomilter.ModifyAction, *gomilter.Action, error)
	End() ([]gomilter.ModifyAction, *gomilter.Action, error)
}

// txMacros is the macro bag an MTA would fill for tx: its Macros, and
// unless tx.Exact the usual ones made up from its fields.
func txMacros(tx Transaction) *gomilter.MacroBag {
	macros := gomilter.NewMacroBag()
	for k, v := range tx.Macros {
		macros.Set(k, v)
	}
	set := func(k, v string) {
		if _, ok := tx.Macros[k]; !ok && v != "" && !tx.Exact {
			macros.Set(k, v)
		}
	}
	set("j", "luamilter.test")
	set("{daemon_name}", "luamilter-test")
	set("{daemon_addr}", "127.0.0.1")
	set("{daemon_port}", "25")
	set("{client_addr}", tx.ClientIP)
	set("{client_name}", tx.ClientName)
	set("i", tx.QueueID)
	set("{mail_addr}", tx.From)
	return macros
}

// play plays tx through sess, whose macros are read from macros: the
// stage's macros are set there before each command.
func play(sess mtaSession, macros *gomilter.MacroBag, tx Transaction) (*Trace, error) {
	tr := &Trace{}
	step := func(stage Stage, arg string, act *gomilter.Action, err error) (bool, error) {
		if err != nil {
			return false, fmt.Errorf("%s: %w", stage, err)
		}
		r := stageResult(stage, arg, act)
		tr.Stages = append(tr.Stages, r)
		if act.StopProcessing() || act.Type == gomilter.ActionAccept || act.Type == gomilter.ActionDiscard {
			if stage != StageRcpt {
				tr.Final = r
				return false, nil
			}
		}
		return true, nil
	}
	ip := net.ParseIP(tx.ClientIP)
	family := gomilter.FamilyInet
	if ip != nil && ip.To4() == nil {
		family = gomilter.FamilyInet6
	}
	setStage := func(stage Stage) {
		for k, v := range tx.StageMacros[stage.String()] {
			macros.Set(k, v)
		}
	}
	until := func(stage Stage) bool { return tx.Until == stage.String() }
	port := tx.ClientPort
	if port == 0 {
		port = 25000
	}
	setStage(StageConnect)
	act, err := sess.Conn(tx.ClientName, family, port, tx.ClientIP)
	if ok, err := step(StageConnect, tx.ClientIP, act, err); !ok || until(StageConnect) {
		return tr, err
	}
	setStage(StageHelo)
	act, err = sess.Helo(tx.Helo)
	if ok, err := step(StageHelo, tx.Helo, act, err); !ok || until(StageHelo) {
		return tr, err
	}
	setStage(StageMail)
	act, err = sess.Mail("<"+tx.From+">", tx.MailArgs)
	if ok, err := step(StageMail, tx.From, act, err); !ok || until(StageMail) {
		return tr, err
	}
	accepted := 0
	for i, r := range tx.Rcpts {
		if i < len(tx.RcptMacros) {
			for k, v := range tx.RcptMacros[i] {
				macros.Set(k, v)
			}
		}
		args := ""
		if i < len(tx.RcptArgs) {
			args = tx.RcptArgs[i]
		}
		act, err = sess.Rcpt("<"+r+">", args)
		if _, err := step(StageRcpt, r, act, err); err != nil {
			return tr, err
		}
		if !act.StopProcessing() {
			accepted++
		}
	}
	if accepted == 0 {
		tr.Final = StageResult{Stage: StageRcpt.String(), Action: Reject.String(), Reply: "no valid recipients"}
		return tr, nil
	}
	if until(StageRcpt) {
		return tr, nil
	}
	setStage(StageData)
	act, err = sess.DataStart()
	if ok, err := step(StageData, "", act, err); !ok || until(StageData) {
		return tr, err
	}
	setStage(StageEOM)
	hdr, body := splitMessage(tx.Message)
	for _, h := range hdr {
		act, err = sess.HeaderField(h.Name, h.Value, nil)
		if ok, err := step(StageHeader, h.Name, act, err); !ok {
			return tr, err
		}
	}
	act, err = sess.HeaderEnd()
	if ok, err := step(StageEOH, "", act, err); !ok {
		return tr, err
	}
	var mods []gomilter.ModifyAction
	if len(body) == 0 {
		// go-milter's client ends a message only after a body chunk;
		// an empty one stands for the empty body an MTA would send no
		// chunk for.
		if act, err = sess.BodyChunk(nil); err == nil && act.StopProcessing() {
			tr.Final = stageResult(StageBody, "", act)
			tr.Stages = append(tr.Stages, tr.Final)
			return tr, nil
		}
		if err == nil {
			mods, act, err = sess.End()
		}
	} else {
		mods, act, err = sess.BodyReadFrom(bytes.NewReader(body))
	}
	if err != nil {
		return tr, fmt.Errorf("%s: %w", StageEOM, err)
	}
	tr.Final = stageResult(StageEOM, "", act)
	tr.Stages = append(tr.Stages, tr.Final)
	tr.Raw = mods
	tr.Modifications = describeAll(mods)
	return tr, nil
}

func stageResult(stage Stage, arg string, act *gomilter.Action) StageResult {
	r := StageResult{Stage: stage.String(), Arg: arg}
	if act.StopProcessing() {
		r.Code, r.Reply = int(act.SMTPCode), act.SMTPReply
	}
	switch act.Type {
	case gomilter.ActionAccept:
		r.Action = Accept.String()
	case gomilter.ActionContinue, gomilter.ActionSkip:
		r.Action = Continue.String()
	case gomilter.ActionDiscard:
		r.Action = Discard.String()
	case gomilter.ActionTempFail:
		r.Action = TempFail.String()
	default:
		r.Action = Reject.String()
		if CodeAction(int(act.SMTPCode)) == TempFail {
			r.Action = TempFail.String()
		}
	}
	return r
}

// describe renders a modification as the MTA got it, in Change's
// layout (Change.Plain). A replacement body is quoted instead, by
// describeBody: only the client has its bytes.
func describe(m gomilter.ModifyAction) string {
	var c Change
	switch m.Type {
	case gomilter.ActionAddRcpt:
		return describeAddr(AddRcpt, m.Rcpt, m.RcptArgs)
	case gomilter.ActionDelRcpt:
		return describeAddr(DelRcpt, m.Rcpt, "")
	case gomilter.ActionChangeFrom:
		return describeAddr(ChangeFrom, m.From, m.FromArgs)
	case gomilter.ActionQuarantine:
		c = Change{Kind: Quarantine, Reason: m.Reason}
	case gomilter.ActionReplaceBody:
		return describeBody(m.Body, len(m.Body))
	case gomilter.ActionAddHeader:
		c = Change{Kind: AddHeader, Name: m.HeaderName, Value: m.HeaderValue}
	case gomilter.ActionChangeHeader:
		c = Change{Kind: ChangeHeader, Name: m.HeaderName, Index: int(m.HeaderIndex), Value: m.HeaderValue}
	case gomilter.ActionInsertHeader:
		c = Change{Kind: InsertHeader, Name: m.HeaderName, Index: int(m.HeaderIndex), Value: m.HeaderValue}
	default:
		return m.String()
	}
	return c.Plain()
}

// describeAddr renders an envelope change whose address came as addr.
// A milter sends addresses in angle brackets, as Change.Plain writes
// them; one that came without is shown as it came, not dressed up.
func describeAddr(kind ChangeKind, addr, args string) string {
	if len(addr) < 2 || addr[0] != '<' || addr[len(addr)-1] != '>' {
		c := Change{Kind: kind, Args: args}
		return strings.Replace(c.Plain(), "<>", addr, 1)
	}
	return Change{Kind: kind, Addr: addr[1 : len(addr)-1], Args: args}.Plain()
}

// describeAll describes each modification; the chunks of one body
// replacement are joined into a single entry.
func describeAll(mods []gomilter.ModifyAction) []string {
	var out []string
	for i := 0; i < len(mods); i++ {
		if mods[i].Type != gomilter.ActionReplaceBody {
			out = append(out, describe(mods[i]))
			continue
		}
		// Only the size and the quoted start are described: joining
		// the chunks would copy a large body again.
		var head []byte
		size := 0
		for ; i < len(mods) && mods[i].Type == gomilter.ActionReplaceBody; i++ {
			b := mods[i].Body
			size += len(b)
			if room := maxShownBody + 1 - len(head); room > 0 {
				head = append(head, b[:min(room, len(b))]...)
			}
		}
		i--
		out = append(out, describeBody(head, size))
	}
	return out
}

// maxShownBody is how much of a replacement body a trace quotes.
const maxShownBody = 512

// describeBody describes a replacement body of size bytes that starts
// with head (all of it, or more than maxShownBody bytes).
func describeBody(head []byte, size int) string {
	if size <= maxShownBody {
		return fmt.Sprintf("%s %q", ReplaceBody, head)
	}
	return fmt.Sprintf("%s %d bytes %q...", ReplaceBody, size, head[:maxShownBody])
}

// splitMessage splits a message into its header fields (in order,
// values raw with folding, less the space after the colon the MTA does
// not send) and its body with CRLF line ends, by hdrblock's rules: as
// Postfix does, a line that is neither a field nor a continuation ends
// the header block and is body.
func splitMessage(raw []byte) ([]Header, []byte) {
	// A message that already ends every line with CRLF is used as it
	// is: a copy would double what a large message costs the client.
	if bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) {
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	}
	fields, off := hdrblock.Split(raw)
	hs := make([]Header, len(fields))
	for i, f := range fields {
		hs[i] = Header{Name: f.Name, Value: strings.TrimPrefix(f.Value, " ")}
	}
	return hs, raw[off:]
}
