package pcre

// This file is the only one that talks to libpcre2-8, Debian's PCRE2
// library, through its public C API. The C helpers below exist because
// the pcre2_* names are macros over the code-unit width, which cgo can
// not call, and so that one match costs one cgo call.

/*
#cgo CFLAGS: -DPCRE2_CODE_UNIT_WIDTH=8
#cgo LDFLAGS: -lpcre2-8
#include <stdlib.h>
#include <pcre2.h>

typedef struct {
	uint32_t capture_count;
	uint32_t name_count;
	uint32_t name_entry_size;
	PCRE2_SPTR name_table;
	uint32_t newline;
	uint32_t all_options;
	int jit;
} lm_info;

// lm_compile compiles pat with opts. A pattern that turns UTF mode on
// itself, with (*UTF), is compiled again with PCRE2_MATCH_INVALID_UTF:
// mail is full of invalid UTF-8, and without that option such a subject
// is an error instead of text the pattern does not match.
static pcre2_code *lm_compile(const char *pat, size_t len, uint32_t opts, int jit,
                              int *err, size_t *off, lm_info *info) {
	PCRE2_SIZE eo = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)(len ? pat : ""), len, opts, err, &eo, NULL);
	*off = eo;
	if (re == NULL)
		return NULL;
	pcre2_pattern_info(re, PCRE2_INFO_ALLOPTIONS, &info->all_options);
	if ((info->all_options & PCRE2_UTF) && !(opts & PCRE2_MATCH_INVALID_UTF)) {
		pcre2_code_free(re);
		return lm_compile(pat, len, opts | PCRE2_MATCH_INVALID_UTF, jit, err, off, info);
	}
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &info->capture_count);
	pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &info->name_count);
	pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &info->name_entry_size);
	pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &info->name_table);
	pcre2_pattern_info(re, PCRE2_INFO_NEWLINE, &info->newline);
	info->jit = jit && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
	return re;
}

static void lm_code_free(pcre2_code *re) { pcre2_code_free(re); }

static int lm_error_message(int code, char *buf, size_t len) {
	return pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, len);
}

// Each thread keeps one match data and one match context: a search makes
// one cgo call per pcre2_match, and the offsets are copied out before the
// call returns, so nothing is shared between two goroutines that run on
// the same thread one after the other, and no match costs a malloc.
static __thread pcre2_match_data *lm_md;
static __thread uint32_t lm_md_pairs;
static __thread pcre2_match_context *lm_mc;

// lm_exec runs one pcre2_match and copies the ovector to ov (2*pairs
// values). The JIT's stack is a fixed 32 KiB on the machine stack; a
// match that needs more is run again by the interpreter, whose frames
// live on the heap under the heap limit, so the answer never depends on
// which of the two ran. The interpreter keeps its frames in the match
// data, which is therefore dropped after it ran, so that one large match
// does not pin its frames to the thread.
static int lm_exec(const pcre2_code *re, int jit, const char *subj, size_t len, size_t start,
                   uint32_t opts, size_t offset_limit, uint32_t match_limit, uint32_t depth_limit,
                   uint32_t heap_kib, PCRE2_SIZE *ov, uint32_t pairs) {
	if (lm_mc == NULL && (lm_mc = pcre2_match_context_create(NULL)) == NULL)
		return PCRE2_ERROR_NOMEMORY;
	if (lm_md == NULL || lm_md_pairs < pairs) {
		pcre2_match_data_free(lm_md);
		lm_md_pairs = pairs < 16 ? 16 : pairs;
		if ((lm_md = pcre2_match_data_create(lm_md_pairs, NULL)) == NULL)
			return PCRE2_ERROR_NOMEMORY;
	}
	if (len == 0)
		subj = "";
	pcre2_set_match_limit(lm_mc, match_limit);
	pcre2_set_depth_limit(lm_mc, depth_limit);
	pcre2_set_heap_limit(lm_mc, heap_kib);
	pcre2_set_offset_limit(lm_mc, offset_limit);
	// An anchored match runs in the interpreter even on JIT code
	// (pcre2_match takes no anchoring into the JIT), so it is counted
	// as the interpreter's: its frames are dropped below.
	int interp = !jit || (opts & (PCRE2_NO_JIT | PCRE2_ANCHORED));
	// pcre2_jit_match skips pcre2_match's option checks, which cost as
	// much as the search itself on a short subject. It takes no
	// anchoring at match time; pcre2_match runs those in the
	// interpreter anyway.
	int rc = !interp
		? pcre2_jit_match(re, (PCRE2_SPTR)subj, len, start, opts, lm_md, lm_mc)
		: pcre2_match(re, (PCRE2_SPTR)subj, len, start, opts, lm_md, lm_mc);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		interp = 1;
		rc = pcre2_match(re, (PCRE2_SPTR)subj, len, start, opts | PCRE2_NO_JIT, lm_md, lm_mc);
	}
	if (rc > 0) {
		PCRE2_SIZE *src = pcre2_get_ovector_pointer(lm_md);
		for (uint32_t i = 0; i < 2 * pairs; i++)
			ov[i] = src[i];
	}
	if (interp) {
		pcre2_match_data_free(lm_md);
		lm_md = NULL;
	}
	return rc;
}

static const char *lm_version(void) {
	static char buf[64];
	if (buf[0] == 0)
		pcre2_config(PCRE2_CONFIG_VERSION, buf);
	return buf;
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// PCRE2 constants used outside this file.
const (
	optAnchored         = uint32(C.PCRE2_ANCHORED)
	optNotEmptyAtStart  = uint32(C.PCRE2_NOTEMPTY_ATSTART)
	optUseOffsetLimit   = uint32(C.PCRE2_USE_OFFSET_LIMIT)
	optionUTF           = uint32(C.PCRE2_UTF)
	errNoMatch          = int(C.PCRE2_ERROR_NOMATCH)
	newlineCRLF         = uint32(C.PCRE2_NEWLINE_CRLF)
	newlineAny          = uint32(C.PCRE2_NEWLINE_ANY)
	newlineAnyCRLF      = uint32(C.PCRE2_NEWLINE_ANYCRLF)
	defaultMatchLimit   = 10_000_000 // PCRE2's built-in default
	defaultDepthLimit   = 10_000_000 // PCRE2's built-in default
	defaultHeapLimitKiB = 256 << 10
)

// Version is the version of the PCRE2 library in use, such as
// "10.42 2022-12-11".
func Version() string { return C.GoString(C.lm_version()) }

// code is a compiled pattern in C memory. It is freed by a cleanup once
// the Go value is unreachable: the cache may drop a pattern while another
// goroutine is still matching with it.
type code struct {
	p   *C.pcre2_code
	jit bool // JIT-compiled
}

// codeInfo is what compilation learns about a pattern.
type codeInfo struct {
	groups  int      // capture groups, not counting group 0
	names   []string // names[i] is group i's name, "" when unnamed
	newline uint32
	options uint32 // PCRE2_INFO_ALLOPTIONS
	jit     bool
}

// compileCode compiles pattern; on failure it returns PCRE2's error code
// and the offset in the pattern where it was detected.
func compileCode(pattern string, opts uint32, jit bool) (*code, *codeInfo, int, int) {
	var errCode C.int
	var errOff C.size_t
	var info C.lm_info
	j := C.int(0)
	if jit {
		j = 1
	}
	p := C.lm_compile(cstr(pattern), C.size_t(len(pattern)), C.uint32_t(opts), j, &errCode, &errOff, &info)
	runtime.KeepAlive(pattern)
	if p == nil {
		return nil, nil, int(errCode), int(errOff)
	}
	c := &code{p: p, jit: info.jit != 0}
	runtime.AddCleanup(c, func(p *C.pcre2_code) { C.lm_code_free(p) }, p)
	ci := &codeInfo{
		groups:  int(info.capture_count),
		newline: uint32(info.newline),
		options: uint32(info.all_options),
		jit:     info.jit != 0,
	}
	ci.names = make([]string, ci.groups+1)
	size := int(info.name_entry_size)
	table := unsafe.Slice((*byte)(unsafe.Pointer(info.name_table)), int(info.name_count)*size)
	for i := 0; i < int(info.name_count); i++ {
		e := table[i*size : (i+1)*size]
		n := int(e[0])<<8 | int(e[1])
		name := e[2:]
		for k, b := range name {
			if b == 0 {
				name = name[:k]
				break
			}
		}
		ci.names[n] = string(name)
	}
	return c, ci, 0, 0
}

// errorMessage is PCRE2's text for an error code.
func errorMessage(code int) string {
	var buf [256]byte
	n := C.lm_error_message(C.int(code), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if n < 0 {
		return "unknown PCRE2 error"
	}
	return string(buf[:n])
}

// cstr points C at the bytes of s without copying them. PCRE2 only reads
// the subject during pcre2_match; the match data keeps the pointer, but
// nothing reads it after the call.
func cstr(s string) *C.char {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// matcher holds the limits of a search and the offsets of its last match.
type matcher struct {
	matchLimit, depthLimit, heapKiB uint32
	ov                              []C.size_t
}

// reset readies m for a pattern with groups capture groups.
func (m *matcher) reset(groups int, matchLimit, depthLimit, heapKiB uint32) {
	m.matchLimit, m.depthLimit, m.heapKiB = matchLimit, depthLimit, heapKiB
	n := 2 * (groups + 1)
	if cap(m.ov) < n {
		m.ov = make([]C.size_t, n)
	}
	m.ov = m.ov[:n]
}

// pair returns group i's offsets after a match that returned rc, and
// false when the group did not take part.
func (m *matcher) pair(i, rc int) (int, int, bool) {
	if i >= rc || 2*i+1 >= len(m.ov) || m.ov[2*i] == ^C.size_t(0) {
		return 0, 0, false
	}
	return int(m.ov[2*i]), int(m.ov[2*i+1]), true
}

// exec runs pcre2_match on subject from start; limit is the offset limit
// (a match must start at or before it), or -1 for none. It returns
// PCRE2's result code.
func (m *matcher) exec(c *code, subject string, start int, opts uint32, limit int) int {
	lim := ^C.size_t(0)
	if limit >= 0 {
		lim = C.size_t(limit)
	}
	j := C.int(0)
	if c.jit {
		j = 1
	}
	rc := C.lm_exec(c.p, j, cstr(subject), C.size_t(len(subject)), C.size_t(start), C.uint32_t(opts), lim,
		C.uint32_t(m.matchLimit), C.uint32_t(m.depthLimit), C.uint32_t(m.heapKiB),
		(*C.size_t)(unsafe.Pointer(&m.ov[0])), C.uint32_t(len(m.ov)/2))
	runtime.KeepAlive(subject)
	runtime.KeepAlive(c)
	return int(rc)
}
