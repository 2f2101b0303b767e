package ranking

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// randomSignals builds a dataset of users×items where each pair exists
// with probability density, with random signals and times.
func randomSignals(t testing.TB, users, items int, density float64, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	b := NewBuilder()
	for i := range items {
		b.AddItem(Item{ID: uint64(i + 1), InStock: true})
	}
	for u := range users {
		for i := range items {
			if rng.Float64() >= density {
				continue
			}
			last := uint32(1_700_000_000 + rng.IntN(1_000_000))
			b.AddSignal(uint64(u+1), uint64(i+1), Signal{
				Views: uint16(rng.IntN(4)), Chats: uint16(rng.IntN(2)), Purchases: uint16(rng.IntN(5) / 4),
				DwellSec: uint16(rng.IntN(400)), First: last - 10, Last: last,
			})
		}
	}
	return b.Build()
}

// checkNeighbourLists checks the invariants every list must hold.
func checkNeighbourLists(t *testing.T, n *Neighbours, numItems, perItem int) {
	t.Helper()
	if n.NumItems() != numItems {
		t.Fatalf("lists for %d items, want %d", n.NumItems(), numItems)
	}
	for i := range int32(numItems) {
		items, sims := n.Of(i)
		if len(items) != len(sims) || len(items) > perItem {
			t.Fatalf("item %d: %d items %d sims, per item %d", i, len(items), len(sims), perItem)
		}
		if slices.Contains(items, i) {
			t.Errorf("item %d is its own neighbour", i)
		}
		seen := map[int32]bool{}
		for r, j := range items {
			if seen[j] {
				t.Errorf("item %d: neighbour %d twice", i, j)
			}
			seen[j] = true
			if sims[r] <= 0 {
				t.Errorf("item %d: similarity %g ≤ 0", i, sims[r])
			}
			if r > 0 && (sims[r] > sims[r-1] || sims[r] == sims[r-1] && j < items[r-1]) {
				t.Errorf("item %d: list not sorted at %d: %v %v", i, r, items, sims)
			}
		}
	}
}

func TestBuildNeighbours_CoConsumedItemsAreTopNeighbours(t *testing.T) {
	// Items come in twins (2m, 2m+1): every user who takes one takes the
	// other; users also take random other items.
	rng := rand.New(rand.NewPCG(9, 9))
	const items = 60
	b := NewBuilder()
	for u := range 400 {
		twin := rng.IntN(items / 2)
		b.AddSignal(uint64(u), uint64(2*twin), Signal{Views: 1, Last: 10})
		b.AddSignal(uint64(u), uint64(2*twin+1), Signal{Views: 1, Last: 11})
		for range 3 {
			b.AddSignal(uint64(u), uint64(rng.IntN(items)), Signal{Views: 1, Last: 5})
		}
	}
	d := b.Build()
	n, err := BuildNeighbours(context.Background(), d, NeighbourConfig{PerItem: 5, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkNeighbourLists(t, n, d.NumItems(), 5)
	for i := range int32(d.NumItems()) {
		id := d.Items[i].ID
		twin, _ := d.ItemIndex(id ^ 1)
		got, _ := n.Of(i)
		if len(got) == 0 || got[0] != twin {
			t.Errorf("item id %d: neighbours %v, want its twin %d first", id, got, twin)
		}
	}
}

// bruteCosine is the shrunk weighted cosine of every item pair of d.
func bruteCosine(d *Dataset, w Weights, shrink float64) [][]float64 {
	n := d.NumItems()
	vec := make([][]float64, n)
	for i := range vec {
		vec[i] = make([]float64, d.NumUsers())
	}
	for u := range int32(d.NumUsers()) {
		items, sigs := d.UserRow(u)
		for k, it := range items {
			vec[it][u] = w.Strength(sigs[k])
		}
	}
	sim := make([][]float64, n)
	for i := range sim {
		sim[i] = make([]float64, n)
		for j := range sim[i] {
			var dot, ni, nj float64
			for u := range vec[i] {
				dot += vec[i][u] * vec[j][u]
				ni += vec[i][u] * vec[i][u]
				nj += vec[j][u] * vec[j][u]
			}
			sim[i][j] = dot / (math.Sqrt(ni*nj) + shrink)
		}
	}
	return sim
}

func TestBuildNeighbours_MatchesBruteForceCosine(t *testing.T) {
	d := randomSignals(t, 80, 50, 0.15, 3)
	tests := []struct {
		name string
		cfg  NeighbourConfig
	}{
		{"defaults", NeighbourConfig{}},
		{"top 7, no shrink, 3 workers", NeighbourConfig{PerItem: 7, Shrink: 1e-12, Workers: 3}},
		{"custom weights", NeighbourConfig{PerItem: 10, Shrink: 2, Weights: Weights{View: 1, Purchase: 10}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := BuildNeighbours(context.Background(), d, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := tc.cfg.withDefaults()
			checkNeighbourLists(t, n, d.NumItems(), cfg.PerItem)
			sim := bruteCosine(d, cfg.Weights, cfg.Shrink)
			for i := range d.NumItems() {
				var want []float64
				for j, s := range sim[i] {
					if j != i && s > 0 {
						want = append(want, s)
					}
				}
				sort.Sort(sort.Reverse(sort.Float64Slice(want)))
				want = want[:min(len(want), cfg.PerItem)]
				items, sims := n.Of(int32(i))
				if len(items) != len(want) {
					t.Fatalf("item %d: %d neighbours, want %d", i, len(items), len(want))
				}
				for r, j := range items {
					if !close32(sims[r], sim[i][j]) || !close32(sims[r], want[r]) {
						t.Errorf("item %d rank %d: neighbour %d sim %g, brute force %g, want rank sim %g", i, r, j, sims[r], sim[i][j], want[r])
					}
				}
			}
		})
	}
}

func close32(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func TestBuildNeighbours_OnlyRecentUserItemsCount(t *testing.T) {
	// User 1 took items 1..10 in order; only the last 3 count. User 2
	// took items 1 and 2, so 1 and 2 still co-occur through user 2.
	b := NewBuilder()
	for i := uint64(1); i <= 10; i++ {
		b.AddSignal(1, i, Signal{Views: 1, Last: uint32(100 + i)})
	}
	b.AddSignal(2, 1, Signal{Views: 1, Last: 50})
	b.AddSignal(2, 2, Signal{Views: 1, Last: 50})
	d := b.Build()
	n, err := BuildNeighbours(context.Background(), d, NeighbourConfig{MaxUserItems: 3})
	if err != nil {
		t.Fatal(err)
	}
	idx := func(id uint64) int32 { i, _ := d.ItemIndex(id); return i }
	ids := func(items []int32) []uint64 {
		var out []uint64
		for _, i := range items {
			out = append(out, d.Items[i].ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		item uint64
		want []uint64
	}{
		{10, []uint64{8, 9}},
		{8, []uint64{9, 10}},
		{1, []uint64{2}},
		{5, nil},
	} {
		got, _ := n.Of(idx(tc.item))
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("item %d: neighbours %v, want %v", tc.item, ids(got), tc.want)
		}
	}
}

func TestBuildNeighbours_ItemUserCapSamples(t *testing.T) {
	// With the per-item user cap below every item's user count the lists
	// are estimates from the most recent users; they must stay well formed
	// and of the size of the exact similarities.
	d := randomSignals(t, 300, 30, 0.2, 4)
	n, err := BuildNeighbours(context.Background(), d, NeighbourConfig{PerItem: 8, MaxItemUsers: 20})
	if err != nil {
		t.Fatal(err)
	}
	checkNeighbourLists(t, n, d.NumItems(), 8)
	full, err := BuildNeighbours(context.Background(), d, NeighbourConfig{PerItem: 8})
	if err != nil {
		t.Fatal(err)
	}
	// The estimate is scaled to the full user count: on average the
	// sampled similarities must be of the same size as the full ones.
	var sampled, exact float64
	for i := range int32(d.NumItems()) {
		_, s := n.Of(i)
		_, f := full.Of(i)
		for _, v := range s {
			sampled += float64(v)
		}
		for _, v := range f {
			exact += float64(v)
		}
	}
	r := sampled / exact
	t.Logf("sampled/exact similarity mass %.3f", r)
	if r < 0.7 || r > 1.6 {
		t.Errorf("sampled similarities sum to %.3f× the full ones", r)
	}
}

func TestBuildNeighbours_Errors(t *testing.T) {
	d := randomSignals(t, 20, 10, 0.3, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildNeighbours(ctx, d, NeighbourConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	if _, err := BuildNeighbours(context.Background(), d, NeighbourConfig{PerItem: -1}); err == nil {
		t.Error("negative PerItem accepted")
	}
	n, err := BuildNeighbours(context.Background(), d, NeighbourConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if items, sims := n.Of(-1); items != nil || sims != nil {
		t.Error("item -1 has neighbours")
	}
	if items, _ := n.Of(int32(d.NumItems())); items != nil {
		t.Error("item past the end has neighbours")
	}
}
