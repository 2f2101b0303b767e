// Package gcpace paces Go's garbage collector for a serving process that
// holds a large, long-lived model: collections after a fixed headroom of
// new heap instead of a doubling, with that headroom mapped in advance.
package gcpace

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Run bounds the heap's growth between collections to about headroom
// bytes. A serving process holds a large, long-lived model (a gigabyte at
// a million users) and makes little garbage per request. Go's default
// (GOGC=100) lets the heap double before collecting, so for minutes every
// request's garbage lands on pages never touched before: the benchmark
// measured 4,700 page faults a second at 2,000 feeds/s, about 8 % of the
// server's CPU. Collecting after headroom bytes reuses
// touched memory instead, and the collections are cheap because the model
// is made of pointer-free arrays (marking 1 GB took 30 ms).
//
// It also prefaults the headroom when the pacing changes and whenever the
// runtime has handed a lot of memory back to the OS since the last check
// (after a training or a matching refresh frees its working memory), so
// that request garbage lands on mapped pages. An explicit GOGC in the
// environment wins; headroom 0 keeps Go's default.
//
// The live heap is read every second, so the pacing settles within a
// second of a model arriving rather than under the first load; a change
// of under an eighth (GOGC 10 against 11) is not worth a prefault and is
// ignored. Released memory is compared over 15-second windows.
func Run(ctx context.Context, headroom uint64, log *slog.Logger) error {
	if headroom == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	current := 100
	var released uint64 // at the start of the window
	var checks int
	for {
		metrics.Read(m)
		live, rel := m[0].Value.Uint64(), m[1].Value.Uint64()
		windowEnd := checks%releaseWindow == 0
		checks++
		reason := ""
		if live > 0 {
			pct := gcPercent(live, headroom)
			if !paceChanged(pct, current) {
				pct = current
			}
			reason = prefaultReason(pct, current, rel, released, headroom)
			if !windowEnd && reason == "memory released" {
				reason = ""
			}
			if pct != current {
				debug.SetGCPercent(pct)
				current = pct
			}
			if reason != "" {
				start := time.Now()
				if pct < 100 {
					prefault(headroom)
					metrics.Read(m)
					rel = m[1].Value.Uint64()
				}
				log.Info("gc: pacing the heap", "reason", reason, "live_mib", live>>20, "gogc", pct, "headroom_mib", headroom>>20,
					"prefault", time.Since(start).Round(time.Millisecond))
			}
		}
		if windowEnd || reason != "" {
			released = rel
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// checkEvery is how often Run reads the live heap; releaseWindow, in
// checks, how often it compares the memory released to the OS.
const (
	checkEvery    = time.Second
	releaseWindow = 15
)

// paceChanged reports whether the GOGC pct differs enough from current to
// change the pacing: to or from Go's default, or by more than an eighth.
func paceChanged(pct, current int) bool {
	if pct == current {
		return false
	}
	if pct == 100 || current == 100 {
		return true
	}
	return 8*max(pct-current, current-pct) > current
}

// prefaultReason says why the pacing loop logs and, when the heap is paced
// (pct < 100), prefaults: the GOGC changed from current, or the runtime
// released more than a quarter of the headroom to the OS since the last
// check (released bytes then, rel now). "" means neither.
func prefaultReason(pct, current int, rel, released, headroom uint64) string {
	switch {
	case pct != current:
		return "pacing changed"
	case pct < 100 && rel > released+headroom/4:
		return "memory released"
	}
	return ""
}

// prefaultChunk is the size of prefault's allocations: each takes the
// lowest free run of the heap that fits, so small chunks also fill the
// holes the scavenger released among used pages.
const prefaultChunk = 64 << 10

// prefault maps n bytes of heap: it allocates them, writes each page and
// collects them again. The pages stay with the process as free heap (Go's
// scavenger keeps up to a tenth more than the heap goal and releases the
// highest addresses first, while allocation takes the lowest), so request
// garbage lands on them without a page fault each, which on a virtual
// machine costs several microseconds.
func prefault(n uint64) {
	chunks := make([][]byte, 0, n/prefaultChunk+1)
	page := os.Getpagesize()
	for left := int(n); left > 0; left -= prefaultChunk {
		b := make([]byte, min(left, prefaultChunk))
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
		chunks = append(chunks, b)
	}
	runtime.KeepAlive(chunks)
	runtime.GC()
}

// gcPercent is the GOGC that lets a heap of live bytes grow by about
// headroom: Go's 100 for small heaps, at least 10.
func gcPercent(live, headroom uint64) int {
	return int(max(10, min(100, 100*headroom/live)))
}
