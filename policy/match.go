package policy

import (
	"context"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/modules/msysfuncs"
	"github.com/luamilter/luamilter/txn"
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
	p *txn.Part // nil: the whole message
}

// checkSubject returns the message or part behind arg 1.
func checkSubject(L *lua.LState, method string, part, write bool) subject {
	if part {
		p := checkPart(L, method, write)
		if p.Top {
			return subject{m: owner(p)}
		}
		return subject{m: owner(p), p: p}
	}
	return subject{m: checkMessage(L, method, true)}
}

func (s subject) body() (string, error) {
	if s.p == nil {
		return s.m.CurrentBody()
	}
	if !s.p.Container() {
		return s.p.Body, nil
	}
	var b strings.Builder
	err := s.p.WriteBody(&b)
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
		if sp, err := s.m.UnreadSpool(); err != nil || sp != nil {
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
	err := s.p.WritePart(&b)
	return b.String(), err
}

// texts lists the text parts below the subject.
func (s subject) texts() ([]*txn.Part, error) {
	p := s.p
	if p == nil {
		t, err := s.m.mimeTree()
		if err != nil {
			return nil, err
		}
		p = t
	}
	var out []*txn.Part
	p.Walk(func(c *txn.Part) {
		if c.IsText() {
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
				if match(p.Text(), nil) {
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
			ok, err := p.ReplaceText(ctx, rx, pattern, repl)
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
		return s.m.SetBody(out)
	}
	if s.p.Container() {
		s.p.Reparse(s.p.HeaderBlock() + out)
		return nil
	}
	s.p.Body = out
	s.p.Touch()
	return nil
}

// setRaw replaces what raw returns: the whole message, or the part with
// its headers (re-parsed).
func (s subject) setRaw(out string) error {
	if s.p == nil {
		return s.m.setRaw(out)
	}
	s.p.Reparse(out)
	return nil
}

// addressHeaderMethod: address_header(name[, component]) → the component
// ("all", "localpart", "user", "detail" or "domain") of every address in
// every field of that name.
func addressHeaderMethod(part bool) lua.LGFunction {
	return func(L *lua.LState) int {
		var hs []txn.Field
		if part {
			hs = checkPart(L, "address_header", false).HeaderList()
		} else {
			hs = checkMessage(L, "address_header", true).Headers
		}
		name := L.CheckString(2)
		component := strings.ToLower(L.OptString(3, "all"))
		t := L.CreateTable(1, 0)
		for _, h := range hs {
			if !strings.EqualFold(h.Name, name) {
				continue
			}
			addrs, err := msysfuncs.ParseAddressComponents(txn.DecodeHeader(h.Value), component)
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
		if err := t.SetText(L.CheckString(2), L.OptString(3, ""), L.OptString(4, "")); err != nil {
			L.RaiseError("msg:text: %s", err.Error())
		}
		L.Push(lua.LTrue)
		return 1
	}
	var texts []string
	t.Walk(func(p *txn.Part) {
		if p.IsText() {
			texts = append(texts, p.Text())
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
