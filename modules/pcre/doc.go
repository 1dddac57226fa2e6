// Package pcre implements the msys.pcre Lua library (match, replace, split)
// on PCRE2 itself, Debian's libpcre2-8 through cgo with its JIT compiler,
// and exports the same engine to Go code such as msg:body_match. Patterns
// are handed to PCRE2 unchanged, so they mean what they mean to PCRE.
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
// split return nil, an error string and PCRE2's compile error number (always
// positive), as the Momentum reference documents; replace raises a Lua error
// instead because it has only one documented return value. Wrong argument
// types, timeouts ("pcre: match timed out") and PCRE2's limits ("pcre: match
// limit exceeded") always raise a Lua error, so that a hostile subject can
// not silently look like "no match".
//
// split returns the pieces between matches as a 1-based array. Like Perl's
// split, an empty match at the start or the end of the subject, or right
// after the previous match, does not split, trailing empty pieces are
// removed and captures are not included.
//
// replace replaces every match, moving from one match to the next as
// pcre2_substitute does. The replacement may use $0 or $& (whole match),
// $1..$99, ${n}, ${name} and $$ for a literal dollar sign. A reference to a
// group that did not take part in the match is empty.
//
// # Bytes and UTF-8
//
// Lua strings are bytes and PCRE2 matches them as bytes, as Momentum's PCRE
// does: "." and negated classes take one byte, \xHH is a byte, and \w, \d,
// \s and \b know ASCII only. A pattern asks for UTF-8 mode with a leading
// (*UTF) (PCRE1's spelling (*UTF8) is accepted too), and for Unicode
// properties in \w and friends with (*UCP). In UTF mode the pattern is
// compiled with PCRE2_MATCH_INVALID_UTF, so bytes of a subject that are not
// valid UTF-8 (8-bit mail) are never matched instead of making the search
// fail.
//
// # Cost
//
// Every match runs under PCRE2's match limit and depth limit (defaults are
// PCRE2's own, 10,000,000 each) and a heap limit for the interpreter's
// backtracking frames (256 MiB). The match limit counts backtracking steps
// from one start position, so it does not bound a search through a long
// subject; for that, an unanchored search through a subject longer than
// 1 MiB runs as several pcre2_match calls, each allowed to start matches
// only in a slice of the subject (PCRE2's offset limit, with the pattern
// compiled a second time with PCRE2_USE_OFFSET_LIMIT, because the JIT's
// code for it is slower), and between two calls the deadline is checked:
// Options.MatchTimeout (default 1s) for the whole call and the context of
// the Lua call (the callout's deadline). Slices start at 256 Ki positions,
// grow while calls return within a millisecond and shrink when they take
// over ten; once the rest of the subject would take, at the speed seen,
// under 50 ms and under a quarter of the time left (to MatchTimeout or
// the callout's deadline, whichever comes first), it is searched in one
// call with the code compiled without the offset limit. Patterns whose meaning depends on where a call starts or that
// can end the whole search (\G, (*COMMIT), (*SKIP), CRLF newline
// conventions) are searched in one call. Global replace and split check
// the deadline every 64 matches as well. A search of up to 1 MiB is one
// call, bounded only by the limits.
//
// The subject is passed to PCRE2 in place, never copied; captures are
// substrings of it. Each thread keeps one match data and match context,
// so a match costs one cgo call and no malloc. Compiled patterns (and compile errors, so that a bad
// pattern in a hot callout is not compiled again for every message) live in
// a bounded LRU cache owned by the Engine; a pattern dropped from the cache
// is freed once no search uses it. An Engine is safe for concurrent use by
// many Lua states. The JIT compiler is used where PCRE2 has one; a match
// that outgrows the JIT's stack is run again by the interpreter, which gives
// the same answer.
//
// # Building
//
// The package needs cgo and PCRE2's headers: on Debian, gcc and
// libpcre2-dev (scripts/install-deps.sh installs them). Without cgo it
// does not build.
package pcre
