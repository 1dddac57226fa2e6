package store

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Shared is the Store the Lua libraries are built on, together with the
// rule for what an unreachable back end means to a script.
type Shared struct {
	Store
	failOpen bool
	log      *slog.Logger
	warn     *limiter
}

// NewShared wraps s; failOpen selects FailOpen, otherwise FailClosed. The
// fail-open warning is logged at most once a minute, Config's default.
func NewShared(s Store, failOpen bool, log *slog.Logger) *Shared {
	return newShared(s, failOpen, log, defaultWarnEvery)
}

func newShared(s Store, failOpen bool, log *slog.Logger, warnEvery time.Duration) *Shared {
	if log == nil {
		log = slog.Default()
	}
	return &Shared{Store: s, failOpen: failOpen, log: log, warn: newLimiter(warnEvery)}
}

// Check turns a store error into what the fail mode says. It returns nil
// when err is nil, or when the store fails open (logging a warning at most
// once per WarnEvery); otherwise an error whose text starts with lib, e.g.
// "msys.audit_series: store unavailable: ...".
func (s *Shared) Check(lib string, err error) error {
	if err == nil {
		return nil
	}
	if !IsUnavailable(err) {
		return fmt.Errorf("%s: %w", lib, err)
	}
	if s.failOpen {
		if n, ok := s.warn.allow(); ok {
			s.log.Warn("counter store unavailable, failing open", "lib", lib, "err", err, "suppressed", n)
		}
		return nil
	}
	return fmt.Errorf("%s: store unavailable: %w", lib, err)
}

// limiter lets one event through per period and counts the ones it holds back.
type limiter struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func newLimiter(every time.Duration) *limiter { return &limiter{every: every} }

func (l *limiter) allow() (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
