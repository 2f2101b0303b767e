package ingest

import (
	"fmt"
	"hash/maphash"
	"testing"
)

func TestWindow_RemembersAtLeastNAtMost2N(t *testing.T) {
	const n = 1000
	w := newWindow(n, maphash.MakeSeed())
	for i := range 10 * n {
		id := fmt.Sprint(i)
		if w.seen(id) {
			t.Fatalf("%s reported as seen before it was added", id)
		}
		// Everything among the last n ids must be remembered.
		for _, back := range []int{1, n / 2, n - 1} {
			if i-back >= 0 && !w.seen(fmt.Sprint(i-back)) {
				t.Fatalf("after %d ids, id %d (%d back) forgotten", i+1, i-back, back)
			}
		}
	}
	// Nothing older than 2n is remembered.
	forgotten := 0
	for i := range 7 * n {
		if !w.seen(fmt.Sprint(i)) {
			forgotten++
		}
	}
	if forgotten == 0 {
		t.Fatal("ids older than 2n still remembered")
	}
}

func TestWindow_NilRemembersNothing(t *testing.T) {
	var w *window
	if w.seen("x") || w.seen("x") {
		t.Fatal("nil window reported a duplicate")
	}
}

func BenchmarkWindowSeen(b *testing.B) {
	w := newWindow(1<<16, maphash.MakeSeed())
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("e-1-%x", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.seen(ids[i&(len(ids)-1)])
	}
}
