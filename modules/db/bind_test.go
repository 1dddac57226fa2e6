package db

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBind(t *testing.T) {
	named := map[string]any{"a": "A", "b_2": int64(2)}
	tests := []struct {
		in    string
		style int
		p     Params
		out   string
		args  string
		err   string
	}{
		{in: "SELECT ? , ?", p: Params{Positional: []any{int64(1), "x"}}, out: "SELECT ? , ?", args: "[1 x]"},
		{in: "SELECT ? , ?", style: styleDollar, p: Params{Positional: []any{int64(1)}}, out: "SELECT $1 , $2", args: "[1 <nil>]"},
		{in: "x = :a AND y = $b_2 AND z = :a", style: styleDollar, p: Params{Named: named}, out: "x = $1 AND y = $2 AND z = $3", args: "[A 2 A]"},
		{in: "x = :a AND y = ?", p: Params{Positional: []any{"p"}, Named: named}, out: "x = ? AND y = ?", args: "[A p]"},
		{in: "SELECT $2, $1", style: styleDollar, p: Params{Positional: []any{"one", "two"}}, out: "SELECT $1, $2", args: "[two one]"},
		{in: "SELECT '?', \":a\", x::int -- ?\n/* :a */ ?", p: Params{Positional: []any{"v"}}, out: "SELECT '?', \":a\", x::int -- ?\n/* :a */ ?", args: "[v]"},
		{in: "SELECT 'a''?'", out: "SELECT 'a''?'", args: "[]"},
		{in: "SELECT $$", out: "SELECT $$", args: "[]"},
		{in: "SELECT :nope", err: `no parameter named "nope"`},
		{in: "SELECT $0", err: "bad placeholder"},
		{in: "SELECT 'x", err: "unterminated ' quote"},
		{in: "SELECT /* x", err: "unterminated comment"},
	}
	for _, tt := range tests {
		out, args, err := bind(tt.in, tt.style, tt.p)
		if tt.err != "" {
			if err == nil || !contains(err.Error(), tt.err) {
				t.Errorf("bind(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || out != tt.out || fmt.Sprint(args) != tt.args && !(len(args) == 0 && tt.args == "[]") {
			t.Errorf("bind(%q) = %q, %v, %v; want %q, %s", tt.in, out, args, err, tt.out, tt.args)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(2, time.Minute, func() time.Time { return now })
	r := &Result{}
	c.put("a", r)
	c.put("b", r)
	c.get("a") // a is now the most recently used
	c.put("c", r)
	if _, ok := c.get("b"); ok {
		t.Error("b survived although least recently used")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a was evicted")
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("a"); ok {
		t.Error("a outlived cache_life")
	}
	if c.len() != 1 {
		t.Errorf("len = %d, want 1", c.len())
	}
	if cacheKey("q", []any{int64(1)}) == cacheKey("q", []any{"1"}) {
		t.Error("1 and \"1\" share a cache key")
	}
}
