// Package retry holds the exponential backoff Vetrina's retry loops share:
// the ingester's fetches and inserts, and waiting for ClickHouse at
// start-up.
package retry

import (
	"context"
	"time"
)

// Backoff is an exponential backoff: each sleep waits twice as long as
// the one before, from initial up to max, until Reset.
type Backoff struct {
	initial, max time.Duration
	wait         time.Duration // the next sleep
}

// NewBackoff returns a Backoff whose first sleep waits initial.
func NewBackoff(initial, maxWait time.Duration) Backoff {
	return Backoff{initial: initial, max: maxWait, wait: initial}
}

// Next is how long the next Sleep waits.
func (b *Backoff) Next() time.Duration { return b.wait }

// Sleep waits for the current delay, or until ctx ends (then it returns
// ctx.Err() at once), and doubles the delay for next time.
func (b *Backoff) Sleep(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	b.wait = min(b.wait*2, b.max)
	return nil
}

// Reset makes the next Sleep wait the initial delay again.
func (b *Backoff) Reset() { b.wait = b.initial }

// Do calls f until it succeeds or ctx ends, backing off from initial to
// maxWait between calls; it returns ctx's error when ctx ends first.
func Do(ctx context.Context, initial, maxWait time.Duration, f func() error) error {
	b := NewBackoff(initial, maxWait)
	for {
		if f() == nil {
			return nil
		}
		if err := b.Sleep(ctx); err != nil {
			return err
		}
	}
}
