package matching

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

var benchModel = sync.OnceValue(func() *Model {
	// 10,000 influencers, 20 categories, 0–30 lives each (about 150,000
	// lives), 100 brands of 2–13 products.
	in := randomInputs(rand.New(rand.NewPCG(1, 2)), 10000, 20, 30, false)
	m, err := Build(in)
	if err != nil {
		panic(err)
	}
	return m
})

// BenchmarkRank ranks all 10,000 influencers for the brand with the most
// categories, for each sort order with the default limit of 20, and by
// P10 with the largest limit (the least pruning).
func BenchmarkRank(b *testing.B) {
	m := benchModel()
	var brand *Brand
	for _, br := range m.brands {
		if brand == nil || len(br.Mix) > len(brand.Mix) || len(br.Mix) == len(brand.Mix) && br.ID < brand.ID {
			brand = br
		}
	}
	for _, q := range []Query{{Sort: SortP50}, {Sort: SortP10}, {Sort: SortGMV}, {Sort: SortROI}, {Sort: SortP10, Limit: MaxLimit}} {
		name := q.Sort
		if q.Limit != 0 {
			name += fmt.Sprintf("/limit=%d", q.Limit)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := m.Rank(context.Background(), brand.ID, q)
				if err != nil || r.Matched != m.NumInfluencers() || len(r.Items) != cmp.Or(q.Limit, 20) {
					b.Fatalf("rank: %v, %d matched", err, r.Matched)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/op")
		})
	}
}
