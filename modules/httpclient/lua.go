package httpclient

import (
	"context"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
)

// typeName names the client userdata's metatable in each state.
const typeName = "msys.http.client"

// client is the per-script state behind a client userdata. It belongs to
// one Lua state and is only touched by that state's goroutine.
type client struct {
	timeout time.Duration // zero: the library default
	headers []header
	resp    *response // last successful request, nil otherwise
}

// Open implements luart.Library: the table holds new(), and the client
// metatable is registered in the state.
func (l *Library) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	mt := L.NewTypeMetatable(typeName)
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"set_timeout":   l.setTimeout,
		"set_header":    l.setHeader,
		"do_request":    l.doRequest,
		"get_status":    l.getStatus,
		"get_body":      l.getBody,
		"get_headers":   l.getHeaders,
		"parse_headers": l.parseHeaders,
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(typeName))
		return 1
	}))
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"new": l.newClient})
}

func (l *Library) newClient(L *lua.LState) int {
	ud := L.NewUserData()
	ud.Value = &client{}
	L.SetMetatable(ud, L.GetTypeMetatable(typeName))
	L.Push(ud)
	return 1
}

func self(L *lua.LState, method string) *client {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*client); ok {
			return c
		}
	}
	L.RaiseError("msys.http.client: %s must be called as client:%s(...)", method, method)
	return nil
}

// setTimeout implements client:set_timeout([seconds]); no argument
// restores the default.
func (l *Library) setTimeout(L *lua.LState) int {
	c := self(L, "set_timeout")
	switch n := L.Get(2).(type) {
	case *lua.LNilType:
		c.timeout = 0
	case lua.LNumber:
		if n <= 0 {
			L.RaiseError("msys.http.client: set_timeout: timeout must be positive, got %v", n)
		}
		c.timeout = time.Duration(float64(n) * float64(time.Second))
	default:
		L.RaiseError("msys.http.client: set_timeout: number expected, got %s", n.Type())
	}
	return 0
}

// setHeader implements client:set_header(["Name: value"]); each call adds
// a header, no argument removes them all.
func (l *Library) setHeader(L *lua.LState) int {
	c := self(L, "set_header")
	switch h := L.Get(2).(type) {
	case *lua.LNilType:
		c.headers = nil
	case lua.LString:
		hd, err := parseHeader(string(h))
		if err != nil {
			L.RaiseError("msys.http.client: set_header: %v", err)
		}
		c.headers = append(c.headers, hd)
	default:
		L.RaiseError("msys.http.client: set_header: string expected, got %s", h.Type())
	}
	return 0
}

// doRequest implements client:do_request(method, url[, data]) → true, or
// false plus a message ("timeout", "canceled" or the transport error).
// HTTP error statuses are successful requests; see get_status.
func (l *Library) doRequest(L *lua.LState) int {
	c := self(L, "do_request")
	method, ok := L.Get(2).(lua.LString)
	if !ok {
		L.RaiseError("msys.http.client: do_request: bad argument #1 method (string expected, got %s)", L.Get(2).Type())
	}
	m := strings.ToUpper(string(method))
	if !slices.Contains(methods, m) {
		L.RaiseError("msys.http.client: do_request: unsupported method '%s' (want %s)", string(method), strings.Join(methods, ", "))
	}
	rawURL, ok := L.Get(3).(lua.LString)
	if !ok {
		L.RaiseError("msys.http.client: do_request: bad argument #2 url (string expected, got %s)", L.Get(3).Type())
	}
	u, err := checkURL(string(rawURL))
	if err != nil {
		L.RaiseError("msys.http.client: do_request: %v", err)
	}
	var data *string
	switch d := L.Get(4).(type) {
	case *lua.LNilType:
	case lua.LString:
		s := string(d)
		data = &s
	default:
		L.RaiseError("msys.http.client: do_request: bad argument #3 data (string expected, got %s)", d.Type())
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = l.opts.Timeout
	}
	c.resp = nil
	headers := c.headers
	var resp *response
	luactx.Wait(L, func(ctx context.Context) { resp, err = l.do(ctx, timeout, m, u, data, headers) })
	if err != nil {
		l.log.Debug("http request failed", "method", m, "url", u.Redacted(), "error", err)
		L.Push(lua.LFalse)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	c.resp = resp
	L.Push(lua.LTrue)
	return 1
}

// getStatus implements client:get_status() → code, reason phrase; nil
// before a successful request.
func (l *Library) getStatus(L *lua.LState) int {
	c := self(L, "get_status")
	if c.resp == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(c.resp.code))
	L.Push(lua.LString(c.resp.text))
	return 2
}

// getBody implements client:get_body() → body string, or nil.
func (l *Library) getBody(L *lua.LState) int {
	c := self(L, "get_body")
	if c.resp == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(c.resp.body))
	return 1
}

// getHeaders implements client:get_headers() → {"Name: value", ...}.
func (l *Library) getHeaders(L *lua.LState) int {
	c := self(L, "get_headers")
	if c.resp == nil {
		L.Push(lua.LNil)
		return 1
	}
	t := L.CreateTable(len(c.resp.headers), 0)
	for _, h := range c.resp.headers {
		t.Append(lua.LString(h))
	}
	L.Push(t)
	return 1
}

// parseHeaders implements client:parse_headers(lines) → {Name = value}.
// Repeated headers are joined with ", "; lines without a colon, such as a
// status line, are skipped.
func (l *Library) parseHeaders(L *lua.LState) int {
	self(L, "parse_headers")
	lines, ok := L.Get(2).(*lua.LTable)
	if !ok {
		L.RaiseError("msys.http.client: parse_headers: table expected, got %s", L.Get(2).Type())
	}
	out := L.NewTable()
	for i := 1; i <= lines.Len(); i++ {
		line, ok := lines.RawGetInt(i).(lua.LString)
		if !ok {
			continue
		}
		name, value, found := strings.Cut(string(line), ":")
		if !found {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if prev, ok := out.RawGetString(name).(lua.LString); ok {
			value = string(prev) + ", " + value
		}
		out.RawSetString(name, lua.LString(value))
	}
	L.Push(out)
	return 1
}
