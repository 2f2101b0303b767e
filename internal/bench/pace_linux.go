package bench

import (
	"syscall"
	"time"
	"unsafe"
)

// pacer sleeps its thread until each request is due. A Go timer cannot:
// while a process waits for a timer less than a millisecond away with
// nothing else to do, the runtime waits in epoll_wait, whose timeout is in
// whole milliseconds, so it wakes up to a millisecond late. At 4,000
// requests/s that made the median request half a millisecond late before
// it was sent, counted in its latency whatever the server did (a loop of
// time.Sleep until each due time, alone on the machine: late by 0.52 ms
// at the median, 1.1 ms at p99). clock_nanosleep with an absolute
// deadline on CLOCK_MONOTONIC, Go's monotonic clock, and a timer slack of
// 1 ns on the pacer's own thread wake it within tens of microseconds.
//
// A pacer must be made and used by one goroutine that has locked its OS
// thread and does not unlock it (the thread's slack is changed, so it ends
// with the goroutine).
type pacer struct {
	mono0 int64     // CLOCK_MONOTONIC at t0
	t0    time.Time // Go's clock at mono0
}

const (
	clockMonotonic  = 1
	timerAbstime    = 1
	prSetTimerslack = 29
)

func newPacer() *pacer {
	_, _, _ = syscall.Syscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0)
	var ts syscall.Timespec
	t0 := time.Now()
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return &pacer{mono0: ts.Nano(), t0: t0}
}

// sleepUntil returns at t or soon after (at once if t has passed).
func (p *pacer) sleepUntil(t time.Time) {
	d := t.Sub(p.t0)
	if time.Until(t) <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(p.mono0 + int64(d))
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_CLOCK_NANOSLEEP, clockMonotonic, timerAbstime, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}
