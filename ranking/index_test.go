package ranking

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTopN_MatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 5, 100, 1000} {
		s := make([]float64, 300)
		for i := range s {
			s[i] = float64(rng.IntN(50)) // ties
		}
		got := topN(s, n)
		idx := make([]int32, len(s))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(s[b], s[a]) })
		want := idx[:min(n, len(s))]
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d results, want %d", n, len(got), len(want))
		}
		for k := range got {
			if s[got[k]] != s[want[k]] {
				t.Fatalf("n=%d: position %d has score %v, want %v", n, k, s[got[k]], s[want[k]])
			}
		}
	}
}

// The index finds most of what an exact scan finds while scanning a
// fraction of the catalog.
func TestIndex_RecallAgainstExactScan(t *testing.T) {
	s := newShop(t, 3000, 1500, 3)
	m, err := Train(context.Background(), s.d, TrainConfig{ALS: ALSConfig{Factors: 16, Iterations: 5, Seed: 1}, IndexClusters: 60, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := m.Data.NumItems()
	total, hit := 0, 0
	for u := int32(0); u < 200; u++ {
		x := m.Factors.UserVec(u, nil)
		exact := m.Index.Search(m.Factors, x, 50, 0, 0, nil) // probe 0: nothing
		if len(exact) != 0 {
			t.Fatalf("probe 0 returned %d items", len(exact))
		}
		var nilIndex *Index
		exact = nilIndex.Search(m.Factors, x, 50, 0, 0, nil)
		approx := m.Index.Search(m.Factors, x, 50, 16, n/4, nil)
		in := map[int32]bool{}
		for _, i := range approx {
			in[i] = true
		}
		for _, i := range exact {
			total++
			if in[i] {
				hit++
			}
		}
	}
	if recall := float64(hit) / float64(total); recall < 0.8 {
		t.Errorf("index recall@50 = %.2f scanning a quarter of the catalog, want ≥ 0.8", recall)
	} else {
		t.Logf("index recall@50 = %.2f scanning a quarter of the catalog", recall)
	}
}

func TestSelectTop_KeepsTheKHighestScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		n := rng.IntN(300)
		k := rng.IntN(n + 20)
		s := make([]scored, n)
		for i := range s {
			// Few distinct values in some trials: ties at the boundary.
			v := rng.Float64()
			if trial%3 == 0 {
				v = float64(rng.IntN(5))
			}
			s[i] = scored{item: int32(i), score: v}
		}
		want := slices.Clone(s)
		slices.SortStableFunc(want, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
		want = want[:min(k, n)]
		got := selectTop(slices.Clone(s), k)
		if len(got) != len(want) {
			t.Fatalf("trial %d: selectTop(%d scores, %d) kept %d, want %d", trial, n, k, len(got), len(want))
		}
		// The same multiset of scores, and every item at most once.
		gs := make([]float64, len(got))
		items := map[int32]bool{}
		for i, g := range got {
			gs[i] = g.score
			if items[g.item] || s[g.item].score != g.score {
				t.Fatalf("trial %d: item %d kept twice or with a score not its own", trial, g.item)
			}
			items[g.item] = true
		}
		slices.Sort(gs)
		ws := make([]float64, len(want))
		for i, w := range want {
			ws[i] = w.score
		}
		slices.Sort(ws)
		if !slices.Equal(gs, ws) {
			t.Fatalf("trial %d: selectTop(%d scores, %d) kept scores %v, want %v", trial, n, k, gs, ws)
		}
	}
}
