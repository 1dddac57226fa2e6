package policy

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/hdrblock"
	"github.com/luamilter/luamilter/txn"
)

// The msgpart methods. In every method that places a part (addFirstChild,
// addLastChild, insertBefore, insertAfter) the argument is the part being
// placed and the receiver the reference: parent:addLastChild(new),
// sibling:insertBefore(new). A part placed again is moved.
var partMethods = map[string]lua.LGFunction{
	"header":         partHeader,
	"content_type":   partContentType,
	"text":           partText,
	"body_match":     matchMethod("body", true),
	"raw_match":      matchMethod("raw", true),
	"text_match":     matchMethod("text", true),
	"body_replace":   replaceMethod("body", true),
	"raw_replace":    replaceMethod("raw", true),
	"text_replace":   replaceMethod("text", true),
	"address_header": addressHeaderMethod(true),
	"addFirstChild":  partPlace("addFirstChild"),
	"addLastChild":   partPlace("addLastChild"),
	"insertBefore":   partPlace("insertBefore"),
	"insertAfter":    partPlace("insertAfter"),
	"unlink":         partUnlink,
}

func partMeta(L *lua.LState) *lua.LTable {
	mt := methodMeta(L, "msgpart", partMethods, partField)
	mt.RawSetString("__newindex", L.NewFunction(partSetField))
	return mt
}

// partSetField assigns .body_start or .body_end, as Momentum's
// add-disclaimer example does after msg:makePart.
func partSetField(L *lua.LState) int {
	key := L.CheckString(2)
	if key != "body_start" && key != "body_end" {
		L.RaiseError("msgpart has no settable field '%s'", key)
	}
	p := checkPart(L, key, false)
	n := L.CheckInt(3)
	start, end := p.BodyStart, p.BodyEnd
	if p.Made != nil && start < 0 {
		start, end = 0, len(p.Made.Data) // not set yet: the whole content
	}
	if key == "body_start" {
		start = n
	} else {
		end = n
	}
	if err := p.SetBounds(start, end); err != nil {
		L.RaiseError("msgpart.%s: %s", key, err.Error())
	}
	return 0
}

// partUD returns p's userdata, one per part so parts compare equal.
func (m *message) partUD(L *lua.LState, p *txn.Part) *lua.LUserData {
	if ud, ok := p.Handle.(*lua.LUserData); ok {
		return ud
	}
	ud := L.NewUserData()
	ud.Value = p
	ud.Metatable = m.s.gen.metas.part
	p.Handle = ud
	return ud
}

func partField(L *lua.LState, ud *lua.LUserData, key string) (lua.LValue, bool) {
	p := ud.Value.(*txn.Part)
	switch key {
	case "thread":
		if n := p.Next(); n != nil {
			return owner(p).partUD(L, n), true
		}
		return lua.LNil, true
	case "parts":
		if !p.Container() {
			return lua.LNil, true
		}
		t := L.CreateTable(len(p.Children), 0)
		for _, c := range p.Children {
			t.Append(owner(p).partUD(L, c))
		}
		return t, true
	case "parent":
		if p.Parent == nil {
			return lua.LNil, true
		}
		return owner(p).partUD(L, p.Parent), true
	case "body_start", "body_end":
		if p.BodyStart < 0 {
			return lua.LNil, true
		}
		if key == "body_start" {
			return lua.LNumber(p.BodyStart), true
		}
		return lua.LNumber(p.BodyEnd), true
	}
	return nil, false
}

// checkPart returns the part behind arg 1. A part of a tree whose body
// was replaced since (msg:body(v), msg:raw(v), msg:text(v)) is stale;
// write requires msg:mime(false).
func checkPart(L *lua.LState, method string, write bool) *txn.Part {
	ud := L.CheckUserData(1)
	p, ok := ud.Value.(*txn.Part)
	if !ok {
		L.ArgError(1, "msgpart expected")
	}
	m := owner(p)
	if !m.detached && m.s.msg != m {
		L.RaiseError("msgpart:%s: its message is finished", method)
	}
	root := p.Root()
	if root.Top && root != m.Tree {
		L.RaiseError("msgpart:%s: the message body was replaced after msg:mime(); call msg:mime() again", method)
	}
	if write && root.Top && !m.TreeWritable {
		L.RaiseError("msgpart:%s: %s", method, txn.ErrReadOnly.Error())
	}
	return p
}

// mimeTree returns the message's MIME tree, parsing it on first use.
func (m *message) mimeTree() (*txn.Part, error) {
	if m.Tree == nil {
		t, err := m.ParseTree()
		if err != nil {
			return nil, err
		}
		m.Tree, m.TreeWritable = t, false
	}
	return m.Tree, nil
}

// msgMime: msg:mime([readonly]) → top part. readonly defaults to true;
// msg:mime(false) makes the tree editable.
func msgMime(L *lua.LState) int {
	m := checkMessage(L, "mime", true)
	t, err := m.mimeTree()
	if err != nil {
		L.RaiseError("msg:mime: %s", err.Error())
	}
	if L.GetTop() >= 2 && !lua.LVAsBool(L.Get(2)) {
		m.TreeWritable = true
	}
	L.Push(m.partUD(L, t))
	return 1
}

// partHeader: like msg:header; nil as value deletes, default mode replace.
func partHeader(L *lua.LState) int {
	write := L.GetTop() >= 3
	p := checkPart(L, "header", write)
	name := L.CheckString(2)
	if !hdrblock.ValidName(name) {
		L.ArgError(2, "invalid header name '"+name+"'")
	}
	if !write {
		L.Push(headerTable(L, p.HeaderList(), name))
		return 1
	}
	values, mode := headerArgs(L)
	p.SetHeader(name, values, mode)
	L.Push(lua.LTrue)
	return 1
}

// partContentType → {mimetype, charset, encoding, is_attachment, filename},
// both by name and at 1..5.
func partContentType(L *lua.LState) int {
	p := checkPart(L, "content_type", false)
	mt, params := p.MediaType()
	att, filename := p.Disposition()
	t := L.CreateTable(5, 5)
	vals := []lua.LValue{lua.LString(mt), lua.LString(params["charset"]), lua.LString(p.Encoding()), lua.LBool(att), lua.LString(filename)}
	if params["charset"] == "" {
		vals[1] = lua.LNil
	}
	if filename == "" {
		vals[4] = lua.LNil
	}
	for i, k := range []string{"mimetype", "charset", "encoding", "is_attachment", "filename"} {
		t.RawSetString(k, vals[i])
		t.RawSetInt(i+1, vals[i])
	}
	L.Push(t)
	return 1
}

// partText: text() → decoded UTF-8 or nil; text(value[, type, charset])
// replaces the part's content.
func partText(L *lua.LState) int {
	if L.GetTop() < 2 {
		p := checkPart(L, "text", false)
		if !p.IsText() {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(p.Text()))
		return 1
	}
	p := checkPart(L, "text", true)
	if err := p.SetText(L.CheckString(2), L.OptString(3, ""), L.OptString(4, "")); err != nil {
		L.RaiseError("msgpart:text: %s", err.Error())
	}
	L.Push(lua.LTrue)
	return 1
}

// partPlace implements the four ways to put a part into the tree.
func partPlace(method string) lua.LGFunction {
	return func(L *lua.LState) int {
		ref := checkPart(L, method, true)
		ud := L.CheckUserData(2)
		part, ok := ud.Value.(*txn.Part)
		if !ok || part.Msg() != ref.Msg() {
			L.ArgError(2, "msgpart of the same message expected")
		}
		if r := part.Root(); r.Top && r == owner(ref).Tree && !owner(ref).TreeWritable {
			L.RaiseError("msgpart:%s: %s", method, txn.ErrReadOnly.Error())
		}
		var err error
		switch method {
		case "addFirstChild":
			err = ref.Link(part, 0)
		case "addLastChild":
			if ref.Container() {
				err = ref.Link(part, len(ref.Children))
			} else {
				err = ref.Link(part, 0)
			}
		default:
			if ref.Parent == nil {
				err = fmt.Errorf("the reference part has no parent")
				break
			}
			if part == ref {
				err = fmt.Errorf("a part can't be placed next to itself")
				break
			}
			if ref.Parent.Container() && part.IsAncestorOf(ref) {
				err = fmt.Errorf("a part can't become its own descendant")
				break
			}
			part.Unlink()
			i := ref.Index()
			if method == "insertAfter" {
				i++
			}
			err = ref.Parent.Link(part, i)
		}
		if err != nil {
			L.RaiseError("msgpart:%s: %s", method, err.Error())
		}
		L.Push(lua.LTrue)
		return 1
	}
}

func partUnlink(L *lua.LState) int {
	p := checkPart(L, "unlink", true)
	if p.Top {
		L.RaiseError("msgpart:unlink: the message's top part can't be unlinked")
	}
	p.Unlink()
	L.Push(lua.LTrue)
	return 1
}

// msgMakePart: msg:makePart(type[, content[, cte]]) → new unlinked part.
// content is the decoded content (a string or an ec_string); cte is an
// msys.core.EC_MIME_TE_* number, default 7bit.
func msgMakePart(L *lua.LState) int {
	m := checkMessage(L, "makePart", true)
	data := ""
	switch v := L.Get(3).(type) {
	case lua.LString:
		data = string(v)
	case *lua.LUserData:
		s, ok := v.Value.(fmt.Stringer)
		if !ok {
			L.ArgError(3, "string or ec_string expected")
		}
		data = s.String()
	case *lua.LNilType:
	default:
		L.ArgError(3, "string or ec_string expected")
	}
	p, err := m.NewPart(L.CheckString(2), data, L.OptInt(4, 0))
	if err != nil {
		L.RaiseError("msg:makePart: %s", err.Error())
	}
	L.Push(m.partUD(L, p))
	return 1
}

// msgMakeContainer: msg:makeContainer(type[, boundary[, add_terminator]]).
// The close delimiter is always written, so add_terminator is accepted
// and ignored.
func msgMakeContainer(L *lua.LState) int {
	m := checkMessage(L, "makeContainer", true)
	p, err := m.NewContainer(L.CheckString(2), L.OptString(3, ""))
	if err != nil {
		L.RaiseError("msg:makeContainer: %s", err.Error())
	}
	L.Push(m.partUD(L, p))
	return 1
}

func msgMakeBoundary(L *lua.LState) int {
	checkMessage(L, "makeBoundary", false)
	L.Push(lua.LString(txn.MakeBoundary()))
	return 1
}
