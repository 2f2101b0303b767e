//go:build !linux

package bench

import "time"

// pacer sleeps until each request is due. Elsewhere than on Linux it
// uses Go's timers, which may wake it up to a millisecond late (see
// pace_linux.go): latencies are then overstated.
type pacer struct{}

func newPacer() *pacer { return &pacer{} }

func (*pacer) sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}
