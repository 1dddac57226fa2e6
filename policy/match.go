package policy

import (
	"context"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/msysfuncs"
)

// The pattern methods of msg and msgpart use Config.Regex, the msys.pcre
// engine: body_* see the encoded body, raw_* the header and body, text_*
// the decoded UTF-8 of every text part. A match returns msys.pcre.match's
// table (the first matching text part for text_match), no match false.
// A replace returns true, or false when nothing matched; text_replace
// writes each changed part back in its charset and transfer encoding.
//
// Cost: PCRE2 matches the body's bytes in place. A body spooled to disk
// that no method has read into memory yet is mapped for each body_match
// and body_replace instead of read (subject.bodyView), so a large body
// scanned by patterns costs no copy on the heap at all; otherwise the
// body is read into memory once per message (message.currentBody) and
// shared by every later call and by Lua. A match allocates only its
// result table, a replace the new body. raw_match and raw_replace join
// the header block and the body for every call. Every search is
// bounded by the engine's match limits and ends when the Lua call's
// context (the callout deadline) does.

// subject is what one kind of pattern method looks at.
type subject struct {
	m *message
	p *mimePart // nil: the whole message
}

// checkSubject returns the message or part behind arg 1.
func checkSubject(L *lua.LState, method string, part, write bool) subject {
	if part {
		p := checkPart(L, method, write)
		if p.top {
			return subject{m: p.msg}
		}
		return subject{m: p.msg, p: p}
	}
	return subject{m: checkMessage(L, method, true)}
}

func (s subject) body() (string, error) {
	if s.p == nil {
		return s.m.currentBody()
	}
	if !s.p.container() {
		return s.p.body, nil
	}
	var b strings.Builder
	err := s.p.writeBody(&b)
	return b.String(), err
}

// bodyView is body for one search. A whole message's body that is on
// disk and has not been read into memory yet is mapped instead of read
// (milter.Spool.Map): a search reads every byte once, so reading the file
// into a string first would only add a copy of the body to the heap.
// done unmaps it; nothing may refer to the text after done, so callers
// detach what they keep. Any other body is body's string and done does
// nothing.
func (s subject) bodyView() (text string, done func(), err error) {
	if s.p == nil {
		if sp, err := s.m.unreadSpool(); err != nil || sp != nil {
			if err != nil {
				return "", nil, err
			}
			b, unmap, err := sp.Map()
			if err != nil {
				return "", nil, err
			}
			return unsafe.String(unsafe.SliceData(b), len(b)), func() { _ = unmap() }, nil
		}
	}
	text, err = s.body()
	return text, func() {}, err
}

// unreadSpool returns the body's spool when it is on disk and not yet
// read into m.cur, as message.currentBody would read it; nil when the
// body is in memory, already read, or empty.
func (m *message) unreadSpool() (*milter.Spool, error) {
	if m.bodyOmitted {
		return nil, errBodyOmitted
	}
	if err := m.flushTree(); err != nil {
		return nil, err
	}
	if m.curOK {
		return nil, nil
	}
	sp := m.newBody
	if sp == nil {
		sp = m.body
	}
	if sp == nil || !sp.OnDisk() {
		return nil, nil
	}
	return sp, nil
}

// detached returns s, copied when it shares memory with view: a string
// that outlives a mapped view must not point into it.
func detached(s, view string) string {
	if len(s) == 0 || len(view) == 0 {
		return s
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(view)))
	if p >= lo && p < lo+uintptr(len(view)) {
		return strings.Clone(s)
	}
	return s
}

// detachTable replaces the strings of a match table (msys.pcre.match's
// groups and names are substrings of the subject) with copies of those
// that point into view.
func detachTable(v lua.LValue, view string) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return
	}
	var keys []lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		if _, ok := v.(lua.LString); ok {
			keys = append(keys, k)
		}
	})
	for _, k := range keys {
		str := string(t.RawGet(k).(lua.LString))
		if d := detached(str, view); unsafe.StringData(d) != unsafe.StringData(str) {
			t.RawSet(k, lua.LString(d))
		}
	}
}

func (s subject) raw() (string, error) {
	if s.p == nil {
		return s.m.raw()
	}
	var b strings.Builder
	err := s.p.writePart(&b)
	return b.String(), err
}

// texts lists the text parts below the subject.
func (s subject) texts() ([]*mimePart, error) {
	p := s.p
	if p == nil {
		t, err := s.m.mimeTree()
		if err != nil {
			return nil, err
		}
		p = t
	}
	var out []*mimePart
	p.walk(func(c *mimePart) {
		if c.isText() {
			out = append(out, c)
		}
	})
	return out, nil
}

func (s subject) regex(L *lua.LState, method string) Regex {
	rx := s.m.s.eng.cfg.Regex
	if rx == nil {
		L.RaiseError("%s: no regular expression engine is configured", method)
	}
	return rx
}

func methodName(kind, suffix string, part bool) string {
	if part {
		return "msgpart:" + kind + "_" + suffix
	}
	return "msg:" + kind + "_" + suffix
}

// matchMethod builds body_match, raw_match and text_match.
func matchMethod(kind string, part bool) lua.LGFunction {
	return func(L *lua.LState) int {
		name := methodName(kind, "match", part)
		s := checkSubject(L, kind+"_match", part, false)
		pattern := L.CheckString(2)
		rx := s.regex(L, name)
		// match pushes the match table and reports whether subj matched.
		match := func(subj string, err error) bool {
			var v lua.LValue = lua.LNil
			if err == nil {
				v, err = rx.MatchTable(L, subj, pattern)
			}
			if err != nil {
				L.RaiseError("%s: %s", name, err.Error())
			}
			if v == lua.LNil {
				return false
			}
			L.Push(v)
			return true
		}
		switch kind {
		case "body":
			if matchView(L, s, match) {
				return 1
			}
		case "raw":
			if match(s.raw()) {
				return 1
			}
		default:
			parts, err := s.texts()
			if err != nil {
				L.RaiseError("%s: %s", name, err.Error())
			}
			// Each part is decoded only when the ones before it did not
			// match.
			for _, p := range parts {
				if match(p.text(), nil) {
					return 1
				}
			}
		}
		L.Push(lua.LFalse)
		return 1
	}
}

// matchView runs match on the body's view and, when it matched, detaches
// the pushed table from the view before the view goes away.
func matchView(L *lua.LState, s subject, match func(string, error) bool) bool {
	text, done, err := s.bodyView()
	if done != nil {
		defer done()
	}
	if !match(text, err) {
		return false
	}
	detachTable(L.Get(-1), text)
	return true
}

// replaceMethod builds body_replace, raw_replace and text_replace.
func replaceMethod(kind string, part bool) lua.LGFunction {
	return func(L *lua.LState) int {
		name := methodName(kind, "replace", part)
		s := checkSubject(L, kind+"_replace", part, true)
		pattern, repl := L.CheckString(2), L.CheckString(3)
		rx := s.regex(L, name)
		matched, err := s.replace(callContext(L), rx, kind, pattern, repl)
		if err != nil {
			L.RaiseError("%s: %s", name, err.Error())
		}
		L.Push(lua.LBool(matched))
		return 1
	}
}

// callContext is the context of the Lua call on L, so that a replace
// ends with the callout's deadline.
func callContext(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func (s subject) replace(ctx context.Context, rx Regex, kind, pattern, repl string) (bool, error) {
	if kind == "text" {
		parts, err := s.texts()
		if err != nil {
			return false, err
		}
		any := false
		for _, p := range parts {
			ok, err := p.replaceText(ctx, rx, pattern, repl)
			if err != nil {
				return false, err
			}
			any = any || ok
		}
		return any, nil
	}
	if kind == "raw" {
		old, err := s.raw()
		if err != nil {
			return false, err
		}
		out, ok, err := rx.ReplaceContext(ctx, old, pattern, repl)
		if err != nil || !ok {
			return false, err
		}
		return true, s.setRaw(out)
	}
	old, done, err := s.bodyView()
	if err != nil {
		return false, err
	}
	defer done()
	out, ok, err := rx.ReplaceContext(ctx, old, pattern, repl)
	if err != nil || !ok {
		return false, err
	}
	// The result becomes the body, kept past done.
	return true, s.setBody(detached(out, old))
}

// setBody replaces what body returns: the message body, a multipart's
// children (re-parsed below its own headers) or a leaf part's body.
func (s subject) setBody(out string) error {
	if s.p == nil {
		return s.m.setBody(out)
	}
	if s.p.container() {
		s.p.reparse(s.p.headerBlock() + out)
		return nil
	}
	s.p.body = out
	s.p.touch()
	return nil
}

// setRaw replaces what raw returns: the whole message, or the part with
// its headers (re-parsed).
func (s subject) setRaw(out string) error {
	if s.p == nil {
		return s.m.setRaw(out)
	}
	s.p.reparse(out)
	return nil
}

// headerBlock renders a part's header fields and the blank line.
func (p *mimePart) headerBlock() string {
	if p.top {
		return p.msg.headerBlock() + "\r\n"
	}
	var b strings.Builder
	for _, h := range p.headers {
		b.WriteString(h.name)
		b.WriteByte(':')
		b.WriteString(crlf(h.value))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// reparse replaces a (non-top) part's contents with a parse of raw,
// keeping its identity and place in the tree.
func (p *mimePart) reparse(raw string) {
	n := parsePart(p.msg, raw, 0, 0)
	p.headers, p.body, p.boundary = n.headers, n.body, n.boundary
	p.preamble, p.epilogue, p.unterminated = n.preamble, n.epilogue, n.unterminated
	p.children = n.children
	for _, c := range p.children {
		c.parent = p
		c.walk(func(d *mimePart) { d.bodyStart, d.bodyEnd = -1, -1 })
	}
	p.bodyStart, p.bodyEnd = -1, -1
	p.raw = ""
	p.touch()
}

// addressHeaderMethod: address_header(name[, component]) → the component
// ("all", "localpart", "user", "detail" or "domain") of every address in
// every field of that name.
func addressHeaderMethod(part bool) lua.LGFunction {
	return func(L *lua.LState) int {
		var hs []hdr
		if part {
			hs = checkPart(L, "address_header", false).headerList()
		} else {
			hs = checkMessage(L, "address_header", true).headers
		}
		name := L.CheckString(2)
		component := strings.ToLower(L.OptString(3, "all"))
		t := L.CreateTable(1, 0)
		for _, h := range hs {
			if !strings.EqualFold(h.name, name) {
				continue
			}
			addrs, err := msysfuncs.ParseAddressComponents(decodeHeader(h.value), component)
			if err != nil {
				L.ArgError(3, err.Error())
			}
			for _, a := range addrs {
				t.Append(lua.LString(a))
			}
		}
		L.Push(t)
		return 1
	}
}

// msgText: msg:text() → the decoded UTF-8 text of the text parts (a string
// for one, a table for several, nil for none); msg:text(value[, type,
// charset]) replaces the whole body with text.
func msgText(L *lua.LState) int {
	m := checkMessage(L, "text", true)
	t, err := m.mimeTree()
	if err != nil {
		L.RaiseError("msg:text: %s", err.Error())
	}
	if L.GetTop() >= 2 {
		if err := t.setText(L.CheckString(2), L.OptString(3, ""), L.OptString(4, "")); err != nil {
			L.RaiseError("msg:text: %s", err.Error())
		}
		L.Push(lua.LTrue)
		return 1
	}
	var texts []string
	t.walk(func(p *mimePart) {
		if p.isText() {
			texts = append(texts, p.text())
		}
	})
	switch len(texts) {
	case 0:
		L.Push(lua.LNil)
	case 1:
		L.Push(lua.LString(texts[0]))
	default:
		tab := L.CreateTable(len(texts), 0)
		for _, s := range texts {
			tab.Append(lua.LString(s))
		}
		L.Push(tab)
	}
	return 1
}
