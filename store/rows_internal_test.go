package store

import (
	"slices"
	"testing"
)

func TestStrCol_KeepsCopiesAndRoundTrips(t *testing.T) {
	var c strCol
	src := []byte("abcdef")
	vals := []string{"", "x", string(src[:3]), "", "ünïcode", string(src)}
	for round := range 2 {
		c.reset()
		for _, v := range vals {
			c.add(v)
		}
		copy(src, "ZZZZZZ") // the caller reuses its buffer: the column holds copies
		if got := c.strings(); !slices.Equal(got, vals) {
			t.Fatalf("round %d: strings() = %q, want %q", round, got, vals)
		}
		for i, v := range vals {
			if got := c.at(i); got != v {
				t.Errorf("round %d: at(%d) = %q, want %q", round, i, got, v)
			}
		}
		if c.len() != len(vals) {
			t.Errorf("round %d: len %d, want %d", round, c.len(), len(vals))
		}
		copy(src, "abcdef")
	}
}
