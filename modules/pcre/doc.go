// Package pcre implements the msys.pcre Lua library (match, replace, split)
// on top of github.com/dlclark/regexp2, and exports the same engine to Go
// code such as msg:body_match.
//
// # Lua API
//
//	matches, errstr, errnum = msys.pcre.match(subject, pattern)
//	parts, errstr, errnum   = msys.pcre.split(subject, pattern)
//	result                  = msys.pcre.replace(subject, pattern, replacement)
//
// match returns nil when nothing matches, otherwise a table with [0] the
// whole match, [1..n] the captures and, for named groups written as
// (?P<name>...), (?<name>...) or (?'name'...), the name as an extra string
// key. A group that did not take part in the match is false (as in lrexlib),
// so the table has no holes. A pattern that does not compile makes match and
// split return nil, an error string and a positive error number, as the
// Momentum reference documents; replace raises a Lua error instead because it
// has only one documented return value. Wrong argument types and match
// timeouts always raise a Lua error ("pcre: match timed out"), so that a
// hostile pattern can not silently look like "no match".
//
// split returns the pieces between matches as a 1-based array. Like Perl's
// split, an empty leading piece produced by an empty match is skipped,
// trailing empty pieces are removed and captures are not included.
//
// replace replaces every match. The replacement may use $0 or $& (whole
// match), $1..$99, ${n}, ${name} and $$ for a literal dollar sign. A
// reference to a group that did not take part in the match is empty.
//
// # Pattern dialect
//
// Patterns follow PCRE numbering: every capturing group, named or not, is
// numbered from the left by its opening parenthesis. regexp2 itself numbers
// named groups after the unnamed ones (.NET rules), so this package rewrites
// named groups into plain ones before compiling and keeps the names itself;
// \k<name>, \k'name', \k{name}, \g{name}, (?P=name) and (?(name)...) are
// rewritten to their numbers. regexp2's RE2 compatibility flag is used
// because it makes \d, \s and \w ASCII-only and accepts [[:alpha:]] classes
// and unknown escapes such as \_ the way PCRE does; the one RE2 behaviour
// that differs from PCRE, "$" matching only at the very end, is undone by
// rewriting "$" outside classes to (?:$|(?=\n\z)). The (?x) extended mode is
// accepted, but "$", "(" and "[" inside its # comments are still rewritten.
//
// # Bytes and UTF-8
//
// Lua strings are bytes; regexp2 works on runes. Valid UTF-8 sequences
// become one rune each (so "." matches one character, as in PCRE's UTF
// mode). Every byte that is not part of valid UTF-8, such as 8-bit Latin-1
// mail, becomes the rune U+DC80+(byte-0x80), a code point that valid UTF-8
// can never produce; on the way back those runes become the original bytes,
// so captures, replacements and split pieces always return the exact input
// bytes. Such a byte can be matched by "." or by \uDCE9 (for 0xE9), but not
// by \xE9, which means the character U+00E9.
//
// # Safety
//
// Each match runs with a timeout (Options.MatchTimeout, default 1s).
// Compiled patterns live in a bounded LRU cache owned by the Engine; an
// Engine is safe for concurrent use by many Lua states.
package pcre
