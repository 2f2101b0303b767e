package ingest

import "hash/maphash"

// window remembers the event ids of recent events of one partition, so that
// a producer retrying an event shortly after is counted once. It remembers
// at least the last n ids and at most the last 2n.
//
// It keeps two generations of 64-bit id hashes in open-addressing tables
// (linear probing, at most half full): new ids go into the current
// generation; when that holds n ids it becomes the previous one and the old
// previous one is cleared for reuse. A lookup costs one or two cache misses
// and nothing is allocated after start-up: this runs once per event on the
// hot path. Memory is 32n bytes. A false match (a distinct id taken for a
// duplicate) has probability about 2n/2^64 per event.
type window struct {
	seed      maphash.Seed
	n         int
	cur, prev []uint64 // 0 marks an empty slot
	curLen    int
	mask      uint64
}

func newWindow(n int, seed maphash.Seed) *window {
	if n <= 0 {
		return nil
	}
	size := 1
	for size < 2*n {
		size <<= 1
	}
	return &window{seed: seed, n: n, cur: make([]uint64, size), prev: make([]uint64, size), mask: uint64(size - 1)}
}

// seen reports whether id is in the window; if not, it adds it. A nil
// window remembers nothing.
func (w *window) seen(id string) bool {
	if w == nil {
		return false
	}
	h := maphash.String(w.seed, id)
	if h == 0 {
		h = 1
	}
	if contains(w.prev, w.mask, h) {
		return true
	}
	i := h & w.mask
	for {
		switch w.cur[i] {
		case h:
			return true
		case 0:
			w.cur[i] = h
			w.curLen++
			if w.curLen >= w.n {
				w.prev, w.cur = w.cur, w.prev
				clear(w.cur)
				w.curLen = 0
			}
			return false
		}
		i = (i + 1) & w.mask
	}
}

func contains(table []uint64, mask, h uint64) bool {
	i := h & mask
	for {
		switch table[i] {
		case h:
			return true
		case 0:
			return false
		}
		i = (i + 1) & mask
	}
}
