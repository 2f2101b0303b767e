package gcpace

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{100 * mib, 256 * mib, 100}, // a small heap keeps Go's default
		{256 * mib, 256 * mib, 100},
		{1024 * mib, 256 * mib, 25}, // the benchmark's model
		{4096 * mib, 256 * mib, 10}, // never below 10
		{1024 * mib, 0, 10},
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d MiB live, %d MiB headroom) = %d, want %d", c.live/mib, c.headroom/mib, got, c.want)
		}
	}
}

func TestPrefault_LeavesTheHeadroomMappedAndFree(t *testing.T) {
	const n = 64 << 20
	free := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	// In the server the heap goal covers the headroom; here the live heap
	// is tiny, and the background scavenger, which keeps a tenth more than
	// the goal, would release the prefaulted pages while the test reads
	// them (53 of 64 MiB were left in one CI run). With the collector off
	// the scavenger has no goal to trim to.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	prefault(n)
	metrics.Read(free)
	// Free heap is mapped memory the runtime holds for reuse (released
	// memory is a separate class): the prefaulted pages must be in it.
	if got := free[0].Value.Uint64(); got < n*9/10 {
		t.Errorf("free mapped heap after prefault(%d MiB) = %d MiB, want about %d MiB", n>>20, got>>20, n>>20)
	}
}

func TestPrefaultReason(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		pct, current  int
		rel, released uint64
		want          string
	}{
		{24, 100, 0, 0, "pacing changed"},                 // the model arrived
		{24, 24, 10 * mib, 0, ""},                         // the scavenger's usual trickle
		{24, 24, 600 * mib, 500 * mib, "memory released"}, // a training's FreeOSMemory, a matching refresh
		{24, 24, 600 * mib, 550 * mib, ""},                // under a quarter of the headroom
		{100, 100, 900 * mib, 0, ""},                      // a small heap is not paced
		{100, 24, 0, 0, "pacing changed"},                 // back to Go's default: logged, not prefaulted
	} {
		if got := prefaultReason(c.pct, c.current, c.rel, c.released, 256*mib); got != c.want {
			t.Errorf("prefaultReason(%d, %d, %d MiB, %d MiB) = %q, want %q", c.pct, c.current, c.rel/mib, c.released/mib, got, c.want)
		}
	}
}

func TestPaceChanged_IgnoresSmallSteps(t *testing.T) {
	for _, c := range []struct {
		pct, current int
		want         bool
	}{
		{10, 10, false},
		{11, 10, false}, // a live heap wandering around 600 MiB
		{10, 11, false},
		{16, 100, true}, // the model arriving
		{10, 16, true},  // and finishing
		{100, 10, true}, // the heap shrank below the headroom
		{12, 10, true},
	} {
		if got := paceChanged(c.pct, c.current); got != c.want {
			t.Errorf("paceChanged(%d, %d) = %v, want %v", c.pct, c.current, got, c.want)
		}
	}
}
