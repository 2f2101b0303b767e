package ingest

import (
	"fmt"
	"hash/maphash"
	"testing"
)

func TestWindow_RemembersLastNOnly(t *testing.T) {
	w := newWindow(3, maphash.MakeSeed())
	for _, id := range []string{"a", "b", "c"} {
		if w.seen(id) {
			t.Fatalf("%s seen before it was added", id)
		}
	}
	if !w.seen("a") || !w.seen("c") {
		t.Fatal("ids within the window not remembered")
	}
	w.seen("d") // evicts a
	if w.seen("a") {
		t.Fatal("a should have left the window after d")
	}
	// a was re-added by the check above, evicting b.
	if w.seen("b") {
		t.Fatal("b should have left the window")
	}
	if len(w.count) > 3 {
		t.Fatalf("window holds %d ids, want at most 3", len(w.count))
	}
}

func TestWindow_NilRemembersNothing(t *testing.T) {
	var w *window
	if w.seen("x") || w.seen("x") {
		t.Fatal("nil window reported a duplicate")
	}
}

func TestWindow_BoundedMemory(t *testing.T) {
	w := newWindow(1000, maphash.MakeSeed())
	for i := range 100_000 {
		w.seen(fmt.Sprint(i))
	}
	if len(w.count) != 1000 || len(w.ring) != 1000 {
		t.Fatalf("window holds %d ids in a ring of %d, want 1000", len(w.count), len(w.ring))
	}
}
