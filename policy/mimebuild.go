package policy

import (
	"fmt"
	"mime"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/hdrblock"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/txn"
)

// ecMessageNew implements msys.core.ec_message_new(nil): an empty message
// not tied to the SMTP transaction, to fill with msg:build or msg:raw(v).
// msg:inject submits it to the MTA over SMTP (see inject.go); it can
// also serve to compose text, e.g. for msg:raw(v) of the real message.
func ecMessageNew(L *lua.LState) int {
	s, ok := luart.CallInfoFrom(L.Context()).Host.(*session)
	if !ok {
		L.RaiseError("msys.core.ec_message_new can only be called from a callout")
	}
	m := newMessage(s, "", "")
	m.detached, m.Content = true, true
	// Detached messages stay in memory: nothing would remove a spool file.
	m.Body = milter.NewSpool("", 1<<62, 0)
	ud := L.NewUserData()
	ud.Value = m
	ud.Metatable = s.gen.metas.message
	L.Push(ud)
	return 1
}

// msgBuild implements msg:build(headers, parts[, attachments]) on an empty
// message from ec_message_new:
//
//	headers      {Name = "value" or {"v1", "v2"}} or {"Name: value", ...}
//	parts        Momentum's {["content type"] = content, ...} (text/*
//	             without a charset quoted-printable, else base64), a
//	             string (text/plain), or a list of strings or
//	             {content=..., type="text/html", charset="utf-8"}; several
//	             become multipart/alternative
//	attachments  list of {content=..., type=..., filename=...}, base64
//
// With attachments the message is multipart/mixed.
func msgBuild(L *lua.LState) int {
	m := checkMessage(L, "build", true)
	if !m.detached {
		L.RaiseError("msg:build fills a new message from msys.core.ec_message_new(nil), not the message being received")
	}
	if err := m.build(L, L.Get(2), L.Get(3), L.Get(4)); err != nil {
		L.RaiseError("msg:build: %s", err.Error())
	}
	L.Push(lua.LTrue)
	return 1
}

func (m *message) build(L *lua.LState, headers, parts, attachments lua.LValue) error {
	if err := m.buildHeaders(headers); err != nil {
		return err
	}
	var texts []*txn.Part
	add := func(v lua.LValue) error {
		p, err := m.buildText(v)
		if err == nil {
			texts = append(texts, p)
		}
		return err
	}
	switch v := parts.(type) {
	case lua.LString:
		if err := add(v); err != nil {
			return err
		}
	case *lua.LTable:
		for i := 1; i <= v.Len(); i++ {
			if err := add(v.RawGetInt(i)); err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
		}
		// Momentum's own form: content type → content.
		for _, typ := range partTypes(v) {
			p, err := m.buildTyped(typ, lua.LVAsString(v.RawGetString(typ)))
			if err != nil {
				return fmt.Errorf("part %q: %w", typ, err)
			}
			texts = append(texts, p)
		}
	case *lua.LNilType:
	default:
		return fmt.Errorf("parts must be a string or a table, got %s", parts.Type())
	}
	var body *txn.Part
	switch len(texts) {
	case 0:
		body, _ = m.NewPart("text/plain; charset=utf-8", "", 0)
	case 1:
		body = texts[0]
	default:
		c, err := m.NewContainer("multipart/alternative", "")
		if err != nil {
			return err
		}
		for _, t := range texts {
			_ = c.Link(t, len(c.Children))
		}
		body = c
	}
	if att, ok := attachments.(*lua.LTable); ok && att.Len() > 0 {
		mixed, err := m.NewContainer("multipart/mixed", "")
		if err != nil {
			return err
		}
		_ = mixed.Link(body, 0)
		for i := 1; i <= att.Len(); i++ {
			p, err := m.buildAttachment(att.RawGetInt(i))
			if err != nil {
				return fmt.Errorf("attachment %d: %w", i, err)
			}
			_ = mixed.Link(p, len(mixed.Children))
		}
		body = mixed
	}
	// The top part's header fields go into the message's header.
	for _, h := range body.Headers {
		m.SetHeader(h.Name, []string{h.Value}, "replace")
	}
	if len(m.HeaderValues("MIME-Version")) == 0 {
		m.SetHeader("MIME-Version", []string{" 1.0"}, "append")
	}
	var b strings.Builder
	if err := body.WriteBody(&b); err != nil {
		return err
	}
	return m.SetBody(b.String())
}

func (m *message) buildHeaders(v lua.LValue) error {
	t, ok := v.(*lua.LTable)
	if !ok {
		if v == lua.LNil {
			return nil
		}
		return fmt.Errorf("headers must be a table, got %s", v.Type())
	}
	var err error
	set := func(name string, value lua.LValue) {
		if !hdrblock.ValidName(name) {
			err = fmt.Errorf("invalid header name %q", name)
			return
		}
		switch value := value.(type) {
		case *lua.LTable:
			for i := 1; i <= value.Len(); i++ {
				m.SetHeader(name, []string{txn.EncodeHeader(lua.LVAsString(value.RawGetInt(i)))}, "append")
			}
		default:
			m.SetHeader(name, []string{txn.EncodeHeader(lua.LVAsString(value))}, "append")
		}
	}
	for i := 1; i <= t.Len() && err == nil; i++ {
		name, value, found := strings.Cut(lua.LVAsString(t.RawGetInt(i)), ":")
		if !found {
			return fmt.Errorf("header %d: want \"Name: value\"", i)
		}
		set(strings.TrimSpace(name), lua.LString(strings.TrimSpace(value)))
	}
	var names []string
	t.ForEach(func(k, _ lua.LValue) {
		if name, ok := k.(lua.LString); ok {
			names = append(names, string(name))
		}
	})
	sort.Strings(names) // a Lua table has no order; make it stable
	for _, name := range names {
		if err == nil {
			set(name, t.RawGetString(name))
		}
	}
	return err
}

// partTypes are the content types keying a parts table, in the order
// the alternatives are written: a Lua table has none, and in
// multipart/alternative the plainest comes first, so text/plain leads,
// then text/html, then the rest by name.
func partTypes(t *lua.LTable) []string {
	var types []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			types = append(types, string(s))
		}
	})
	rank := func(typ string) int {
		mt, _, _ := mime.ParseMediaType(typ)
		switch mt {
		case "text/plain":
			return 0
		case "text/html":
			return 1
		}
		return 2
	}
	sort.Slice(types, func(i, j int) bool {
		if ri, rj := rank(types[i]), rank(types[j]); ri != rj {
			return ri < rj
		}
		return types[i] < types[j]
	})
	return types
}

// buildTyped makes a part of a parts table entry "type" = content. As
// Momentum's msg:build documents, text/* without a charset is written
// quoted-printable, anything else base64.
func (m *message) buildTyped(typ, content string) (*txn.Part, error) {
	mt, params, err := mime.ParseMediaType(typ)
	if err != nil {
		return nil, fmt.Errorf("invalid content type: %w", err)
	}
	cte := 3 // EC_MIME_TE_BASE64
	if strings.HasPrefix(mt, "text/") && params["charset"] == "" {
		cte = 4 // EC_MIME_TE_QUOTED_PRINTABLE
	}
	return m.NewPart(typ, content, cte)
}

// buildText makes a text part from a string or {content, type, charset}.
func (m *message) buildText(v lua.LValue) (*txn.Part, error) {
	content, typ, charset := "", "text/plain", "utf-8"
	switch v := v.(type) {
	case lua.LString:
		content = string(v)
	case *lua.LTable:
		content = lua.LVAsString(v.RawGetString("content"))
		if s := lua.LVAsString(v.RawGetString("type")); s != "" {
			typ = s
		}
		if s := lua.LVAsString(v.RawGetString("charset")); s != "" {
			charset = s
		}
	default:
		return nil, fmt.Errorf("want a string or {content=..., type=...}, got %s", v.Type())
	}
	p := m.NewLeaf()
	if err := p.SetText(content, typ, charset); err != nil {
		return nil, err
	}
	return p, nil
}

// buildAttachment makes a base64 attachment from {content, type, filename}.
func (m *message) buildAttachment(v lua.LValue) (*txn.Part, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("want {content=..., type=..., filename=...}, got %s", v.Type())
	}
	typ := lua.LVAsString(t.RawGetString("type"))
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := lua.LVAsString(t.RawGetString("filename"))
	if name == "" {
		name = lua.LVAsString(t.RawGetString("name"))
	}
	p, err := m.NewPart(typ, lua.LVAsString(t.RawGetString("content")), 3)
	if err != nil {
		return nil, err
	}
	disp := "attachment"
	if name != "" {
		disp = mime.FormatMediaType("attachment", map[string]string{"filename": name})
	}
	p.Headers = append(p.Headers, txn.Field{Name: "Content-Disposition", Value: " " + disp, Orig: -1})
	return p, nil
}
