package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// paceGC bounds the heap's growth between collections to about headroom
// bytes. A serving process holds a large, long-lived model (a gigabyte at
// a million users) and makes little garbage per request. Go's default
// (GOGC=100) lets the heap double before collecting, so for minutes every
// request's garbage lands on pages never touched before: the benchmark
// measured 4,700 page faults a second at 2,000 feeds/s, about 8 % of the
// server's CPU. Collecting after headroom bytes reuses
// touched memory instead, and the collections are cheap because the model
// is made of pointer-free arrays (marking 1 GB took 30 ms). Each time the
// pacing changes it also prefaults the headroom, so that even the first
// cycle after a start or a new model reuses mapped pages. An explicit
// GOGC in the environment wins; headroom 0 keeps Go's default.
func paceGC(ctx context.Context, headroom uint64, log *slog.Logger) error {
	if headroom == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	current := 100
	for {
		metrics.Read(live)
		if b := live[0].Value.Uint64(); b > 0 {
			if pct := gcPercent(b, headroom); pct != current {
				debug.SetGCPercent(pct)
				start := time.Now()
				if pct < 100 {
					prefault(headroom)
				}
				log.Info("gc: pacing the heap", "live_mib", b>>20, "gogc", pct, "headroom_mib", headroom>>20,
					"prefault", time.Since(start).Round(time.Millisecond))
				current = pct
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// prefault maps n bytes of heap: it allocates them, writes each page and
// collects them again. The pages stay with the process as free heap (Go's
// scavenger keeps up to a tenth more than the heap goal), so request
// garbage lands on them without a page fault each, which on a virtual
// machine costs several microseconds.
func prefault(n uint64) {
	b := make([]byte, n)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
}

// gcPercent is the GOGC that lets a heap of live bytes grow by about
// headroom: Go's 100 for small heaps, at least 10.
func gcPercent(live, headroom uint64) int {
	return int(max(10, min(100, 100*headroom/live)))
}
