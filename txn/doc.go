// Package txn is the model of one mail transaction as a milter sees it:
// the envelope (MAIL FROM and the recipients), the header fields and the
// body received at end of message, the MIME tree, every edit made to
// them, snapshots to undo edits (dry runs), per-recipient copies and
// their merge, and the diff of it all into milter changes. It knows
// nothing of Lua: the scripts' msg object (package policy) is a binding
// over it.
//
// A milter only sees a copy of the message and asks the MTA for changes
// at end of message. The model keeps the received header fields and body,
// edits a working copy, and Changes returns the smallest set of milter
// changes that turns one into the other:
//
//   - A header field keeps its received bytes (folding, RFC 2047 words,
//     8-bit text) unless an edit gives it a value that reads differently.
//     Changed and deleted fields become SMFIR_CHGHEADER with the field's
//     per-name index, from the last field to the first; added fields are
//     inserted at the top (prepend) or far past the end (append, replace).
//     An untouched message gets no modification at all.
//   - The body is sent again (SMFIR_REPLBODY) only if it differs from the
//     received one. A replaced or re-serialised body is written to a spool
//     (memory below the spool threshold, a file above) and streamed to the
//     MTA; spool files are removed once sent, when the message is refused,
//     and when it is closed for any reason.
//   - The MIME tree is parsed with go-message; parts nobody touched are
//     written back byte for byte, and a decode → edit → encode of a text
//     part keeps what it can't decode (textspan.go).
//
// Memory: the body is read into one Go string the first time it is
// needed (CurrentBody), and shared with the caller without a copy, so a
// 10 MB spooled message costs 10 MB while it is being looked at; a body
// still on disk can be searched in place (UnreadSpool).
package txn
