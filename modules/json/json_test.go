package json

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
)

// newState opens the library in a runtime and requires it, as scripts
// must before json is a global.
func newState(t testing.TB, opts Options) *lua.LState {
	t.Helper()
	L := luatest.NewState(t, New(opts))
	luatest.Check(t, L, `require("json")`, "")
	return L
}

func TestLua(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		wantErr string
	}{
		{"decode doc example", `
			local obj, code, err = json.decode([[{ "hello": "world" }]])
			assert(obj and obj.hello == "world")
			obj.int = 4
			obj.num = 3.5
			assert(tostring(obj) == '{"hello":"world","int":4,"num":3.5}', tostring(obj))`, ""},
		{"new", `
			local o = json.new()
			o.name = "value"
			assert(tostring(o) == '{"name":"value"}')
			assert(tostring(json.new()) == '{}')`, ""},
		{"encode doc example", `
			local obj = json.decode([[{"foo": "bar"}]])
			obj.int = 4
			obj.arr = json.encode({ 0, 1, 3 })
			assert(tostring(obj) == '{"arr":[0,1,3],"foo":"bar","int":4}', tostring(obj))`, ""},
		{"sample: tostring(json.encode(obj))", `
			local data = json.new()
			data.type = "msg"
			data['message-id'] = "<x@y>"
			local sub = json.new(); sub.body = "hi\n"
			data.msg = sub
			assert(tostring(json.encode(data)) == '{"message-id":"<x@y>","msg":{"body":"hi\\n"},"type":"msg"}')`, ""},
		{"encode scalars give JSON text", `
			assert(json.encode(42) == "42" and json.encode("a\"b") == '"a\\"b"')
			assert(json.encode(true) == "true" and json.encode(nil) == "null" and json.encode(json.null) == "null")
			assert(json.encode(0.1) == "0.1" and json.encode(-3) == "-3")`, ""},
		{"plain table mapping rule", `
			assert(tostring(json.encode({1, 2, nil, 4})) == "[1,2]")
			assert(tostring(json.encode({a = 1, [2] = "x"})) == '{"2":"x","a":1}')
			assert(tostring(json.encode({})) == "{}")`, ""},
		{"assigning a plain table converts it", `
			local o = json.new()
			o.list = {"a", "b"}
			assert(o.list[2] == "b" and tostring(o.list) == '["a","b"]')
			o[5] = true
			assert(o["5"] == true)`, ""},
		{"arrays are 1-based with #", `
			local a = json.decode("[10, 20, null, 40]")
			assert(#a == 4 and a[1] == 10 and a[3] == json.null and a[4] == 40)
			assert(tostring(a) == "[10,20,null,40]")
			assert(tostring(json.decode("[]")) == "[]")`, ""},
		{"concat", `assert("x=" .. json.decode('{"a":[1]}') == 'x={"a":[1]}')`, ""},
		{"unicode and escapes", `
			local s = json.decode([["caf\u00e9 \ud83d\ude00 \/ \t"]])
			assert(s == "café 😀 / \t", s)
			assert(json.encode("é\1") == '"é\\u0001"')
			assert(json.encode("\233") == '"\\u00e9"')`, ""},
		{"comments accepted", `assert(json.decode("/* c */ [1, // two\n 2]")[2] == 2)`, ""},
		{"nested decode", `
			local o = json.decode('{"a":{"b":[{"c":true}]}}')
			assert(o.a.b[1].c == true)
			assert(tostring(o) == '{"a":{"b":[{"c":true}]}}')`, ""},
		{"strerror and constants", `
			assert(json.strerror(json.ERROR_DEPTH) == "nesting too deep")
			assert(json.ERROR_PARSE_EOF == 3 and json.ERROR_PARSE_COMMENT == 13)
			assert(json.strerror(999) == "unknown error 999")`, ""},
		{"decode errors", `
			local cases = {
				{"", json.ERROR_PARSE_EOF}, {"{", json.ERROR_PARSE_EOF},
				{"[1 2]", json.ERROR_PARSE_ARRAY}, {"{1:2}", json.ERROR_PARSE_OBJECT_KEY_NAME},
				{'{"a" 1}', json.ERROR_PARSE_OBJECT_KEY_SEP}, {'{"a":1 "b":2}', json.ERROR_PARSE_OBJECT_VALUE_SEP},
				{"nul", json.ERROR_PARSE_EOF}, {"nulx", json.ERROR_PARSE_NULL}, {"tru3", json.ERROR_PARSE_BOOLEAN},
				{"-x", json.ERROR_PARSE_NUMBER}, {'"a\\q"', json.ERROR_PARSE_STRING}, {"@", json.ERROR_PARSE_UNEXPECTED},
				{"1 2", json.ERROR_PARSE_UNEXPECTED}, {"/x", json.ERROR_PARSE_COMMENT},
				{string.rep("[", 70) .. string.rep("]", 70), json.ERROR_DEPTH},
			}
			for _, c in ipairs(cases) do
				local obj, code, err = json.decode(c[1])
				assert(obj == nil and code == c[2], c[1] .. " gave " .. tostring(code) .. " " .. tostring(err))
				assert(type(err) == "string" and err:find(json.strerror(code), 1, true), err)
			end`, ""},
		{"decode needs a string", `json.decode({})`, "string expected, got table"},
		{"cannot assign function", `local o = json.new(); o.f = print`, "json: cannot store a function in JSON"},
		{"cannot encode function in plain table", `json.encode({f = print})`, "cannot store a function"},
		{"cycle", `local t = {}; t.self = t; json.encode(t)`, "table contains itself"},
		{"cycle through raw assignment", `local o = json.new(); o.x = 1; rawset(o, "x", o); tostring(o)`, "table contains itself"},
		{"nan", `json.encode(0/0)`, "cannot encode NaN"},
		{"array index must be integer", `local a = json.decode("[]"); a.x = 1`, "array index must be a positive integer"},
		{"concat with table", `local x = json.new() .. {}`, "attempt to concatenate a table value"},
		{"strerror needs number", `json.strerror("x")`, "number expected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, newState(t, Options{}), tc.code, tc.wantErr)
		})
	}
}

func TestSizeLimit(t *testing.T) {
	L := newState(t, Options{MaxSize: 10})
	if err := L.DoString(`
		local obj, code = json.decode('["0123456789"]')
		assert(obj == nil and code == json.ERROR_SIZE and json.strerror(code) == "input too large")`); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeDepthLimit(t *testing.T) {
	L := newState(t, Options{MaxDepth: 3})
	err := L.DoString(`json.encode({{{{1}}}})`)
	if err == nil || !strings.Contains(err.Error(), "nested deeper than 3") {
		t.Fatalf("error = %v", err)
	}
}
