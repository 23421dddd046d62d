package digicert

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestAttemptsWindow: the eleventh wrong code within the window is refused
// with a Retry-After up to the window's end; the window's end forgives;
// principals are counted apart; the table stays bounded.
func TestAttemptsWindow(t *testing.T) {
	a := newAttempts()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxBadAttempts {
		if err := a.check("p1", t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		a.fail("p1", t0.Add(time.Duration(i)*time.Second))
	}
	err := a.check("p1", t0.Add(5*time.Minute))
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != 429 || ae.Code != "too_many_attempts" || ae.retryAfter != 600 {
		t.Fatalf("after %d failures: %#v", maxBadAttempts, err)
	}
	if err := a.check("p2", t0.Add(5*time.Minute)); err != nil {
		t.Errorf("another principal refused: %v", err)
	}
	if err := a.check("p1", t0.Add(attemptWindow)); err != nil {
		t.Errorf("refused after the window: %v", err)
	}
	a.fail("p1", t0.Add(attemptWindow))
	if n := a.by["p1"].n; n != 1 {
		t.Errorf("a new window starts at 1, got %d", n)
	}

	for i := range maxTracked + 5 {
		a.fail("q"+strconv.Itoa(i), t0.Add(attemptWindow+time.Duration(i)*time.Millisecond))
	}
	if len(a.by) > maxTracked {
		t.Errorf("table holds %d principals, bound %d", len(a.by), maxTracked)
	}
}
