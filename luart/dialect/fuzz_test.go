package dialect

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// compiles reports whether gopher-lua accepts src.
func compiles(src []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	chunk, err := parse.Parse(bytes.NewReader(src), "fuzz")
	if err != nil {
		return false
	}
	_, err = lua.Compile(chunk, "fuzz")
	return err == nil
}

// hasDialect reports whether src contains a thrLua token: an operator,
// "!=", an octal numeral or a \x or \u escape.
func hasDialect(src []byte) bool {
	toks, err := lex("fuzz", src)
	if err != nil {
		return true
	}
	for _, t := range toks {
		s := src[t.start:t.end]
		switch t.kind {
		case tBangEq, tBang, tAmp, tPipe, tXor, tShl, tShr, tBackslash, tTilde:
			return true
		case tNumber:
			if len(s) > 1 && s[0] == '0' && isDigit(s[1]) {
				return true
			}
		case tString:
			if _, changed, err := fixString(s); changed || err != nil {
				return true
			}
		}
	}
	return false
}

func FuzzTranslate(f *testing.F) {
	seeds := []string{
		"", "x = 1", "if a != b then end", "x = a & b | c ^^ d << 1 >> 2 \\ 3",
		"x = ~a", "x = !a", "s = '\\x41\\u00e9'", "x = 0644", "--[[ a & b ]] x = [==[ | ]==]",
		"local t = {1, 2, k = 3; [4] = 5, f(), ...}", "return{1}|f{2}",
		"local function f(...) return select('#', ...) end", "goto l ::l::",
		"x = a ~ b", "x = (((1 & 2)))", "for i = 1, 10 do x = i << 1 end",
		"local t = {" + strings.Repeat("1, ", 50) + "k = f()}",
		"#!/bin/lua\nx = 1", "x = '\\\n' .. \"\\\"\"", "a = 1\r\nb = a | 2\r\n",
		"for k, v in pairs(t) do end", "for k in(t)do end", "for k in f, s, c do for j in g() do end end",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, changed, err := translate("fuzz", src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		for _, c := range []string{"\n", "\r"} {
			if a, b := bytes.Count(src, []byte(c)), bytes.Count(out, []byte(c)); a != b {
				t.Fatalf("%q line breaks: input %d, output %d\n%q", c, a, b, out)
			}
		}
		again, err := Translate("fuzz", out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("translating the output again: %v\n%q\n%q", err, out, again)
		}
		// Plain Lua gets no rewrite but the HelperIter wrapper of a
		// generic for's explist (and the constructor split).
		if changed && !hasDialect(src) && !bytes.Contains(out, []byte(HelperMerge)) &&
			!slices.Equal(plainTokens(src), plainTokens(out)) {
			t.Fatalf("plain Lua was rewritten:\n%q\n%q", src, out)
		}
		if !bytes.Equal(out, src) && !hasDialect(src) && compiles(src) &&
			!bytes.Contains(out, []byte(HelperMerge)) {
			if !slices.Equal(plainTokens(src), plainTokens(out)) {
				t.Fatalf("compilable plain Lua changed:\n%q\n%q", src, out)
			}
			if !compiles(out) {
				t.Fatalf("compilable plain Lua no longer compiles:\n%q\n%q", src, out)
			}
		}
	})
}

// plainTokens returns the text of src's tokens without the HelperIter
// wrappers Translate puts around the explist of a generic for.
func plainTokens(src []byte) []string {
	toks, err := lex("tokens", src)
	if err != nil {
		return nil
	}
	drop := make([]bool, len(toks))
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != tName || string(src[toks[i].start:toks[i].end]) != HelperIter || toks[i+1].kind != tLParen {
			continue
		}
		depth := 0
		for j := i + 1; j < len(toks); j++ {
			if toks[j].kind == tLParen {
				depth++
			} else if toks[j].kind == tRParen {
				if depth--; depth == 0 {
					drop[i], drop[i+1], drop[j] = true, true, true
					break
				}
			}
		}
	}
	var out []string
	for i, t := range toks {
		if !drop[i] {
			out = append(out, string(src[t.start:t.end]))
		}
	}
	return out
}

// benchScript is a 2,000-line policy script in the shape of Momentum's
// examples: mostly plain Lua with thrLua operators here and there.
func benchScript() []byte {
	block := `do
local mod = {}
-- flags for the spool file, as in the msys.core examples
local flags = msys.core.O_CREAT | msys.core.O_APPEND | msys.core.O_WRONLY
function mod:validate_rcptto(msg, str, ac, vctx)
  local rcpt = tostring(str)
  if string.find(rcpt, "disconnect@example.com") != nil then
    vctx:disconnect(550, "no thanks")
    return msys.core.VALIDATE_DONE
  end
  local mask = vctx:get(msys.core.VCTX_MESS, "mask") or 0x0F
  if (mask & 0x0F) != 0 and (mask >> 4) ~= 0 then
    print("mask " .. mask .. " \x41\u00e9 " .. [[a & b]])
  end
  local t = {1, 2, 3, k = "v", [mask \ 2] = ~mask}
  for i = 1, #t do t[i] = t[i] << 1 end
  return msys.core.VALIDATE_CONT
end
local mode = 0644
msys.registerModule("policy%d", mod)
end
`
	var b bytes.Buffer
	for i := 0; b.Len() == 0 || bytes.Count(b.Bytes(), []byte("\n")) < 2000; i++ {
		fmt.Fprintf(&b, block, i)
	}
	return b.Bytes()
}

func BenchmarkTranslate(b *testing.B) {
	src := benchScript()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Translate("bench.lua", src); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchScriptRuns(t *testing.T) {
	out, err := Translate("bench.lua", benchScript())
	if err != nil {
		t.Fatal(err)
	}
	if !compiles(out) {
		t.Fatalf("translated benchmark script does not compile")
	}
}
