//go:build !race

// The race detector's sync.Pool drops items at random and its
// instrumentation allocates: allocation counts mean nothing under it.

package ranking

import (
	"context"
	"testing"
	"time"
)

// A released feed's memory serves the next: without Release each feed
// allocated its page (about 3 KiB in 6 allocations).
func TestFeed_ReleasedFeedAllocatesAlmostNothing(t *testing.T) {
	s := newShop(t, 400, 40, 1)
	m := trainShop(t, s)
	r := newTestRanker(m, time.Unix(m.Reference, 0))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		f, err := r.Feed(ctx, FeedRequest{UserID: 8, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	})
	if allocs > 3 {
		t.Errorf("%.1f allocations per released feed, want at most 3", allocs)
	}
}
