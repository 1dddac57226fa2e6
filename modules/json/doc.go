// Package json implements Momentum's "json" Lua library (require("json")).
//
//	obj = json.new()                  -- empty JSON object
//	obj, code, err = json.decode(str) -- on failure: nil, code, message
//	val = json.encode(v)              -- JSON value for v
//	str = json.strerror(code)
//	json.null                         -- the JSON null value
//	json.ERROR_DEPTH, json.ERROR_PARSE_EOF, ... -- error codes (json-c numbering)
//
// JSON objects and arrays are ordinary Lua tables carrying a metatable, so
// they index, iterate (pairs/ipairs) and measure (#) like tables; tostring()
// and the .. operator turn them into compact JSON text with object keys
// sorted, which keeps output deterministic. Arrays are 1-based.
//
// json.encode follows Momentum, where it returns a JSON object rather than
// a string (scripts write tostring(json.encode(t))): a table becomes a JSON
// object or array (a table that is already one is returned as is), which
// can be assigned into another object or turned into text with tostring.
// Any other value is returned as its JSON text, e.g. json.encode(42) == "42".
//
// Plain Lua tables are mapped as Momentum documents: a table with a value at
// index 1 is an array of its values 1..n up to the first nil, any other
// table is an object whose keys are converted to strings. Assigning a plain
// table to a new key of a JSON object converts it at once, so that
// obj.list[1] keeps working afterwards. Functions, coroutines and foreign
// userdata can not be assigned or encoded and raise a Lua error, as do
// cycles, NaN/Inf and values nested deeper than Options.MaxDepth.
//
// JSON null decodes to the sentinel json.null (a userdata whose tostring is
// "null") instead of nil, so that keys and array positions survive a
// decode/encode round trip; test for it with v == json.null.
//
// Decoding accepts what json-c accepts in its default mode: any JSON value
// at the top level, /* */ and // comments, and bytes that are not valid
// UTF-8 inside strings (passed through unchanged). Trailing non-blank text
// is an error. Input larger than Options.MaxSize or nested deeper than
// Options.MaxDepth fails with ERROR_SIZE / ERROR_DEPTH. When encoding,
// string bytes that are not valid UTF-8 are written as \u00XX, i.e. read as
// Latin-1, so the output is always valid JSON.
package json
