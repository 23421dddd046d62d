package digicert

import (
	"net/http"
	"sync"
	"time"
)

// Enrollment codes are bearer credentials that any principal of the
// organization may try to redeem, and a chosen code may be as short as 8
// characters. So wrong codes are counted per principal: after
// maxBadAttempts within attemptWindow, every code lookup of that principal
// (redeem, get by code) is refused with 429 until the window ends, whether
// the code is right or not. (A refused attempt with an enrollment's own
// code also counts against that enrollment, in its stored record:
// enrollments.go, badAttempt.)
const (
	maxBadAttempts = 10
	attemptWindow  = 15 * time.Minute
	// maxTracked bounds the table; principals are authenticated, so it
	// only fills up with real principals' mistakes.
	maxTracked = 10000
)

type badAttempts struct {
	n     int
	since time.Time
}

// attempts counts wrong enrollment codes per principal, in this node's
// memory: a restart or another node starts afresh, which still bounds a
// guesser to a few codes a minute per principal and node.
type attempts struct {
	mu sync.Mutex
	by map[string]*badAttempts
}

func newAttempts() *attempts { return &attempts{by: map[string]*badAttempts{}} }

// check refuses a principal that has used up its attempts.
func (a *attempts) check(who string, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.by[who]
	if b == nil || now.Sub(b.since) >= attemptWindow {
		return nil
	}
	if b.n < maxBadAttempts {
		return nil
	}
	e := apiErr(http.StatusTooManyRequests, "too_many_attempts",
		"too many wrong enrollment codes; try again later")
	e.retryAfter = int((attemptWindow - now.Sub(b.since) + time.Second - 1) / time.Second)
	return e
}

// fail counts one wrong code.
func (a *attempts) fail(who string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.by[who]
	if b == nil || now.Sub(b.since) >= attemptWindow {
		if b == nil && len(a.by) >= maxTracked {
			a.prune(now)
		}
		b = &badAttempts{since: now}
		a.by[who] = b
	}
	b.n++
}

// prune drops windows that have ended; if none has, the oldest goes.
func (a *attempts) prune(now time.Time) {
	oldest, oldestAt := "", now
	for who, b := range a.by {
		if now.Sub(b.since) >= attemptWindow {
			delete(a.by, who)
			continue
		}
		if b.since.Before(oldestAt) {
			oldest, oldestAt = who, b.since
		}
	}
	if len(a.by) >= maxTracked {
		delete(a.by, oldest)
	}
}
