package pcre

import "github.com/luamilter/luamilter/internal/lru"

// cacheEntry is a pattern's compiled form or its compile error; errors are
// cached too so that a bad pattern in a hot callout is not re-parsed for
// every message.
type cacheEntry struct {
	re  *compiled
	err error
}

// patternCache maps pattern text to its cacheEntry.
type patternCache = lru.Cache[string, cacheEntry]

func newPatternCache(max int) *patternCache {
	return lru.New[string, cacheEntry](max)
}
