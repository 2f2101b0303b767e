package ingest

import "hash/maphash"

// window remembers the event ids of the last n events of one partition, so
// that a producer retrying an event within that window is counted once.
// It stores 64-bit hashes: memory is about 24 bytes per remembered id, and a
// false match (a distinct id dropped as a duplicate) has probability about
// n/2^64 per event.
type window struct {
	seed  maphash.Seed
	ring  []uint64 // grows to size, then is reused as a ring
	size  int
	next  int // oldest entry once the ring is full
	count map[uint64]uint32
}

func newWindow(n int, seed maphash.Seed) *window {
	if n <= 0 {
		return nil
	}
	return &window{seed: seed, ring: make([]uint64, 0, min(n, 4096)), size: n, count: make(map[uint64]uint32)}
}

// seen reports whether id is in the window; if not, it adds it, evicting
// the oldest id when full. A nil window remembers nothing.
func (w *window) seen(id string) bool {
	if w == nil {
		return false
	}
	h := maphash.String(w.seed, id)
	if w.count[h] > 0 {
		return true
	}
	w.add(h)
	return false
}

func (w *window) add(h uint64) {
	w.count[h]++
	if len(w.ring) < w.size {
		w.ring = append(w.ring, h)
		return
	}
	old := w.ring[w.next]
	if c := w.count[old]; c <= 1 {
		delete(w.count, old)
	} else {
		w.count[old] = c - 1
	}
	w.ring[w.next] = h
	w.next = (w.next + 1) % w.size
}
