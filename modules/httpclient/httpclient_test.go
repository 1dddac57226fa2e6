package httpclient

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
)

// run executes a chunk that returns one value and renders it.
func run(L *lua.LState, code string) (string, error) {
	top := L.GetTop()
	if err := L.DoString(code); err != nil {
		return "", err
	}
	defer L.SetTop(top)
	if L.GetTop() == top {
		return "", nil
	}
	return L.Get(-1).String(), nil
}

// testServer serves the endpoints the tests use.
func testServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "a")
		w.Header().Add("Set-Cookie", "one=1")
		w.Header().Add("Set-Cookie", "two=2")
		io.WriteString(w, "hi")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s ct=%s x=%s host=%s ua=%s", r.Method, body,
			r.Header.Get("Content-Type"), strings.Join(r.Header.Values("X-Custom"), "+"), r.Host, r.UserAgent())
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the client gives up
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 2048))
	})
	mux.HandleFunc("/fits", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1024))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRequests(t *testing.T) {
	srv := testServer(t)
	lib := New(Options{MaxBody: 1024})
	defer lib.Close()
	L := luatest.NewState(t, lib)
	if err := L.DoString(fmt.Sprintf(`base = %q; c = msys.http.client.new()`, srv.URL)); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, code, want string }{
		{"get", `return tostring(c:do_request("GET", base .. "/hello"))`, "true"},
		{"status", `local code, text = c:get_status(); return code .. " " .. text`, "200 OK"},
		{"body", `return c:get_body()`, "hi"},
		{"raw headers", `local h = c:get_headers(); return h[1] .. "|" .. h[#h]`, "Content-Length: 2|X-Test: a"},
		{"parse headers", `local h = c:parse_headers(c:get_headers()); return h["X-Test"] .. "|" .. h["Set-Cookie"]`, "a|one=1, two=2"},
		{"parse status line", `return c:parse_headers({"HTTP/1.1 200 OK", "A: 1", 7})["A"]`, "1"},
		{"post", `c:do_request("post", base .. "/echo", "a=1"); return c:get_body()`,
			"POST a=1 ct=application/x-www-form-urlencoded x= host=" + strings.TrimPrefix(srv.URL, "http://") + " ua=luamilter"},
		{"headers", `c:set_header("Content-Type: text/xml"); c:set_header("X-Custom: 1"); c:set_header("X-Custom: 2")
			c:set_header("Host: example.test"); c:set_header("User-Agent: policy/1")
			c:do_request("PUT", base .. "/echo", "<a/>"); return c:get_body()`, "PUT <a/> ct=text/xml x=1+2 host=example.test ua=policy/1"},
		{"clear headers", `c:set_header(); c:do_request("DELETE", base .. "/echo"); return c:get_body()`,
			"DELETE  ct= x= host=" + strings.TrimPrefix(srv.URL, "http://") + " ua=luamilter"},
		{"404", `c:do_request("GET", base .. "/missing"); local code, text = c:get_status(); return code .. " " .. text`, "404 Not Found"},
		{"no redirect", `c:do_request("GET", base .. "/redirect"); return c:get_status() .. " " .. c:parse_headers(c:get_headers())["Location"]`, "302 /hello"},
		{"head", `c:do_request("HEAD", base .. "/hello"); return #c:get_body()`, "0"},
		{"body at limit", `c:do_request("GET", base .. "/fits"); return #c:get_body()`, "1024"},
		{"body too big", `local ok, err = c:do_request("GET", base .. "/big"); return tostring(ok) .. " " .. err`, "false response body exceeds 1024 bytes"},
		{"state cleared after failure", `return tostring(c:get_status()) .. tostring(c:get_body())`, "nilnil"},
		{"timeout", `c:set_timeout(0.2); local ok, err = c:do_request("GET", base .. "/slow"); c:set_timeout(); return tostring(ok) .. " " .. err`, "false timeout"},
		{"refused", `local ok, err = c:do_request("GET", "http://127.0.0.1:1/"); return tostring(ok) .. " " .. err`, `false Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`},
		{"before any request", `return tostring(msys.http.client.new():get_status())`, "nil"},
		{"tostring", `return tostring(c)`, "msys.http.client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(L, tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	L := luatest.NewState(t, New(Options{}))
	if err := L.DoString(`c = msys.http.client.new()`); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ code, want string }{
		{`c:set_header("no colon")`, `set_header: invalid header line "no colon"`},
		{`c:set_header("Bad Name: x")`, `invalid header line "Bad Name: x"`},
		{`c:set_header("X: a\r\nInjected: b")`, "invalid header line"},
		{`c:set_header(5)`, "set_header: string expected, got number"},
		{`c:set_timeout(-1)`, "set_timeout: timeout must be positive"},
		{`c:set_timeout("soon")`, "set_timeout: number expected, got string"},
		{`c:do_request("FETCH", "http://127.0.0.1/")`, "unsupported method 'FETCH'"},
		{`c:do_request(nil, "http://127.0.0.1/")`, "bad argument #1 method (string expected, got nil)"},
		{`c:do_request("GET", 5)`, "bad argument #2 url (string expected, got number)"},
		{`c:do_request("GET", "ftp://127.0.0.1/")`, `invalid url "ftp://127.0.0.1/"`},
		{`c:do_request("GET", "/relative")`, `invalid url "/relative"`},
		{`c:do_request("GET", "http://[::1")`, `invalid url "http://[::1"`},
		{`c:do_request("POST", "http://127.0.0.1/", {})`, "bad argument #3 data (string expected, got table)"},
		{`c.do_request("GET", "http://127.0.0.1/")`, "do_request must be called as client:do_request(...)"},
		{`c:parse_headers("x")`, "parse_headers: table expected, got string"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			err := L.DoString(tc.code)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"untrusted cert fails by default", Options{}, "false certificate signed by unknown authority"},
		{"trusted private CA", Options{RootCAs: pool}, "true secure"},
		{"verification disabled by config", Options{InsecureSkipVerify: true}, "true secure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			L := luatest.NewState(t, New(tc.opts))
			got, err := run(L, fmt.Sprintf(`local c = msys.http.client.new()
				local ok, err = c:do_request("GET", %q)
				if not ok then return "false " .. err end
				return "true " .. c:get_body()`, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			ok, _, _ := strings.Cut(tc.want, " ")
			if !strings.HasPrefix(got, ok+" ") || !strings.Contains(got, strings.TrimPrefix(tc.want, ok+" ")) {
				t.Errorf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// TestSessionCancel ends the session's context during a request that the
// server never answers: the request must stop, not wait for its timeout.
func TestSessionCancel(t *testing.T) {
	srv := testServer(t)
	L := luatest.NewState(t, New(Options{Timeout: time.Hour}))
	ctx, cancel := context.WithCancel(context.Background())
	L.SetContext(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := run(L, fmt.Sprintf(`local c = msys.http.client.new()
		local ok, err = c:do_request("GET", %q)
		return err`, srv.URL+"/slow"))
	if err == nil {
		t.Fatal("script went on after the session was canceled")
	}
}

func BenchmarkGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	L := luatest.NewState(b, New(Options{}))
	if err := L.DoString(fmt.Sprintf(`c = msys.http.client.new(); url = %q`, srv.URL)); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(`assert(c:do_request("GET", url)); return c:get_body()`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}

// TestConnectionReuse checks that clients of different states share the
// pooled transport: sequential requests use one connection.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lib := New(Options{})
	for range 3 {
		L := luatest.NewState(t, lib)
		got, err := run(L, fmt.Sprintf(`local c = msys.http.client.new()
			for i = 1, 3 do assert(c:do_request("GET", %q)) end
			return c:get_body()`, srv.URL))
		if err != nil || got != "ok" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("9 requests opened %d connections, want 1", n)
	}
}
