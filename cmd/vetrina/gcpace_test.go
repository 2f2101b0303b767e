package main

import "testing"

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
