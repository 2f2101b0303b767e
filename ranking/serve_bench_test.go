package ranking

import (
	"context"
	"testing"
	"time"
)

// benchRanker trains on a shop of 50,000 users and 24,000 products with
// k=64, as served; exact selects a full scan instead of the index.
func benchRanker(b *testing.B, exact bool) (*Ranker, *Model) {
	b.Helper()
	s := newShop(b, 50_000, 6000, 9)
	cfg := TrainConfig{ALS: ALSConfig{Factors: 64, Iterations: 3, Seed: 1}, Seed: 1}
	if exact {
		cfg.IndexClusters = -1
	}
	m, err := Train(context.Background(), s.d, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return newTestRanker(m, time.Unix(m.Reference+60, 0)), m
}

func benchFeed(b *testing.B, r *Ranker, users func(i int) uint64) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f, err := r.Feed(ctx, FeedRequest{UserID: users(i), Limit: 20})
		if err != nil {
			b.Fatal(err)
		}
		f.Release() // as the API does once the feed is encoded
	}
}

func BenchmarkFeed(b *testing.B) {
	for _, exact := range []bool{false, true} {
		name := "index"
		if exact {
			name = "exact"
		}
		r, m := benchRanker(b, exact)
		b.Run(name+"/personal", func(b *testing.B) {
			benchFeed(b, r, func(i int) uint64 { return uint64(1 + i%50_000) })
		})
		b.Run(name+"/session", func(b *testing.B) {
			// Every request follows a new event of its user: a fold-in each time.
			ctx := context.Background()
			_ = ctx
			benchFeed(b, r, func(i int) uint64 {
				u := uint64(1 + i%50_000)
				r.Observe(Event{UserID: u, ProductID: m.Data.Items[i%m.Data.NumItems()].ID, Kind: View, Unix: m.Reference + int64(i)})
				return u
			})
		})
		b.Run(name+"/cold", func(b *testing.B) {
			benchFeed(b, r, func(i int) uint64 { return uint64(10_000_000 + i) })
		})
	}
}
