package dialect

import (
	"errors"
	"strings"
	"testing"
)

// short names keep the expected outputs readable
var helperAbbrev = strings.NewReplacer(
	HelperAnd, "AND", HelperOr, "OR", HelperXor, "XOR", HelperShl, "SHL",
	HelperShr, "SHR", HelperNot, "NOT", HelperIntDiv, "IDIV", HelperMerge, "MERGE",
)

func TestTranslateOutput(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ne", `if a != b then end`, `if a ~= b then end`},
		{"ne docs", `if string.find(str, "x") != nil then`, `if string.find(str, "x") ~= nil then`},
		{"tilde ne untouched", `if a ~= b then end`, `if a ~= b then end`},
		{"bang not", `x = !y`, `x = not y`},
		{"bang not glued", `x = a and!y`, `x = a and not y`},
		{"and", `x = a & b`, `x = AND(a , b)`},
		{"or chain", `local flags = msys.core.O_CREAT | msys.core.O_APPEND | msys.core.O_WRONLY`,
			`local flags = OR(OR(msys.core.O_CREAT , msys.core.O_APPEND) , msys.core.O_WRONLY)`},
		{"docs mask", `if (a & 0x0F) != 0 then end`, `if (AND(a , 0x0F)) ~= 0 then end`},
		{"mask without parens", `if a & 0x0F != 0 then end`, `if AND(a , 0x0F) ~= 0 then end`},
		{"xor", `x = a ^^ b`, `x = XOR(a , b)`},
		{"pow untouched", `x = a ^ b`, `x = a ^ b`},
		{"shifts", `x = a << 2 >> b`, `x = SHR(SHL(a , 2) , b)`},
		{"shift binds like mul", `x = 1 << 2 + 3`, `x = SHL(1 , 2) + 3`},
		{"or binds like add", `x = a + b | c * d`, `x = OR(a + b , c * d)`},
		{"left assoc with add", `x = a | b + c`, `x = OR(a , b) + c`},
		{"intdiv", `x = a \ b`, `x = IDIV(a , b)`},
		{"unary not", `x = ~a`, `x = NOT(a)`},
		{"unary not pow", `x = ~a ^ 2`, `x = NOT(a ^ 2)`},
		{"unary not then op", `x = ~a + 1`, `x = NOT(a) + 1`},
		{"double not", `x = ~~a`, `x = NOT(NOT(a))`},
		{"concat", `x = a .. b & c`, `x = a .. AND(b , c)`},
		{"minus", `x = -a | b`, `x = OR(-a , b)`},
		{"call args", `f(a|b, g(c&d))`, `f(OR(a,b), g(AND(c,d)))`},
		{"method and index", `x = o:m(1)[k] & t.f`, `x = AND(o:m(1)[k] , t.f)`},
		{"constructor", `t = {a|b, k = c&d, [e^^f] = 1}`, `t = {OR(a,b), k = AND(c,d), [XOR(e,f)] = 1}`},
		{"function", `f = function(x) return x & 1 end`, `f = function(x) return AND(x , 1) end`},
		{"table operand", `x = {1} | 2`, `x = OR({1} , 2)`},
		{"glued keyword", `return(a)|b`, `return OR((a),b)`},
		{"glued string call", `x = f"s" & 1`, `x = AND(f"s" , 1)`},
		{"hex escape", `s = "\x41\x7a"`, `s = "\065\122"`},
		{"hex escape then digit", `s = "\x411"`, `s = "\0651"`},
		{"unicode 4", `s = "\u00e9"`, `s = "\195\169"`},
		{"unicode 6", `s = '\u01F600'`, `s = '\240\159\152\128'`},
		{"unicode braces", `s = "\u{41}"`, `s = "\065"`},
		{"escaped backslash", `s = "\\x41"`, `s = "\\x41"`},
		{"other escapes", `s = "\n\65\"\x41"`, `s = "\n\65\"\065"`},
		{"octal", `x = 0644`, `x = 420`},
		{"octal zeros", `x = 00`, `x = 0`},
		{"hex number", `x = 0x1F`, `x = 0x1F`},
		{"zero point", `x = 0.5 + 0`, `x = 0.5 + 0`},
		{"shebang", "#!/usr/bin/lua a & b\nx = 1", "#!/usr/bin/lua a & b\nx = 1"},
		// thrLua syntax inside strings and comments stays as it is
		{"in string", `s = "a != b & c | 0644 \\u"`, `s = "a != b & c | 0644 \\u"`},
		{"in long string", "s = [[a != b \\x41 ~c]]", "s = [[a != b \\x41 ~c]]"},
		{"in level long string", "s = [==[ ]] a | b ]=] \\x ]==]", "s = [==[ ]] a | b ]=] \\x ]==]"},
		{"in comment", "x = 1 -- a != b & c \\x41 0644", "x = 1 -- a != b & c \\x41 0644"},
		{"in long comment", "--[[ a != b\n & c ]] x = 1", "--[[ a != b\n & c ]] x = 1"},
		{"in level long comment", "--[=[ ]] a | b ]=] x = a|b", "--[=[ ]] a | b ]=] x = OR(a,b)"},
		{"comment in expression", "x = a & --[[ c | d ]] b", "x = AND(a , --[[ c | d ]] b)"},
		{"plain", "local t = {1, 2}\nprint(#t)\n", "local t = {1, 2}\nprint(#t)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Translate("t", []byte(tc.in))
			if err != nil {
				t.Fatalf("Translate(%q): %v", tc.in, err)
			}
			if got := helperAbbrev.Replace(string(out)); got != tc.want {
				t.Errorf("Translate(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"bad hex escape", "x = 1\ns = \"\\xZZ\"", 2, `'\xZZ': \x needs two hex digits`},
		{"short hex escape", "s = '\\x4'", 1, `'\x4': \x needs two hex digits`},
		{"unicode 5 digits", "\n\ns = '\\u00e9a'", 3, "4, 6 or 8 hex digits"},
		{"unicode too large", "s = '\\u{80000000}'", 1, "too large"},
		{"bad octal", "x = 1\ny = 089", 2, "malformed number near '089'"},
		{"octal fraction", "y = 01.5", 1, "malformed number near '01.5'"},
		{"unfinished string", "x = 1\ns = 'abc\n", 2, "unfinished string"},
		{"unfinished long string", "x = 1\ns = [[abc\n\n", 2, "unfinished long string"},
		{"unfinished long comment", "--[==[ abc\n", 1, "unfinished long comment"},
		{"bad long delimiter", "s = [==x", 1, "invalid long string delimiter"},
		{"binary tilde", "x = 1\ny = a ~ b", 2, "near '~'"},
		{"missing operand", "x = 1 &\n", 2, "unexpected symbol near '<eof>'"},
		{"missing end", "if a & b then\nx = 1\n", 3, "'end' expected (to close 'if' at line 1)"},
		{"deep nesting", "x = " + strings.Repeat("(", 2000) + "1 & 2" + strings.Repeat(")", 2000), 1, "too many syntax levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Translate("policy.lua", []byte(tc.in))
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Translate(%q) error = %v, want *Error", tc.in, err)
			}
			if de.Chunk != "policy.lua" || de.Line != tc.line || !strings.Contains(de.Msg, tc.msg) {
				t.Errorf("Translate(%q) error = %q (line %d), want line %d containing %q", tc.in, err, de.Line, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "policy.lua:") {
				t.Errorf("error %q does not start with the chunk name", err)
			}
		})
	}
}
