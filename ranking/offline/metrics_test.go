package offline

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// rankOf runs the harness's per-user path on explicit scores: exclusions,
// relevant items, top-k and the metrics.
func rankOf(scores []float64, excluded, relevant []int32) (ndcg, recall, rr float64, top []int32) {
	mark := make([]uint8, len(scores))
	for _, i := range excluded {
		mark[i] = markExcluded
	}
	for _, i := range relevant {
		mark[i] = markRelevant
	}
	list := topK(scores, mark, RecallAt, nil)
	rel := make([]bool, len(list))
	for j, r := range list {
		rel[j] = r.rel
		top = append(top, r.item)
	}
	return NDCG(rel, len(relevant), NDCGAt), Recall(rel, len(relevant), RecallAt), ReciprocalRank(scores, mark), top
}

func TestMetrics_HandComputed(t *testing.T) {
	// Item 5 is excluded (history) although it scores highest; the
	// relevant items 0 and 2 end up at ranks 1 and 3.
	scores := []float64{0.9, 0.8, 0.7, 0.1, 0.2, 5.0, 0.05}
	ndcg, recall, rr, top := rankOf(scores, []int32{5}, []int32{0, 2})
	// DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3).
	if want := 1.5 / (1 + 1/math.Log2(3)); !near(ndcg, want) {
		t.Errorf("NDCG@10 = %v, want %v", ndcg, want)
	}
	if !near(ndcg, 0.9197207891481876) {
		t.Errorf("NDCG@10 = %v, want 0.91972", ndcg)
	}
	if recall != 1 {
		t.Errorf("Recall@20 = %v, want 1 (both relevant items are in the top 20)", recall)
	}
	if rr != 1 {
		t.Errorf("RR = %v, want 1", rr)
	}
	if want := []int32{0, 1, 2, 4, 3, 6}; !slices.Equal(top, want) {
		t.Errorf("top = %v, want %v (excluded item 5 left out)", top, want)
	}

	// First relevant item at rank 3: RR 1/3, NDCG 0.5/1.
	ndcg, _, rr, _ = rankOf([]float64{3, 2, 1, 0}, nil, []int32{2})
	if !near(rr, 1.0/3) || !near(ndcg, 0.5) {
		t.Errorf("relevant at rank 3: RR %v NDCG %v, want 1/3 and 0.5", rr, ndcg)
	}

	// Recall counts hits out of min(k, relevant).
	rel := []bool{true, false, true}
	if r := Recall(rel, 4, 2); r != 0.5 {
		t.Errorf("Recall@2 with 1 hit of 4 relevant = %v, want 1/2", r)
	}
	if r := Recall(rel, 4, 3); !near(r, 2.0/3) {
		t.Errorf("Recall@3 with 2 hits of 4 relevant = %v, want 2/3", r)
	}
	if r := Recall(make([]bool, 30), 25, RecallAt); r != 0 {
		t.Errorf("Recall of no hits = %v", r)
	}
	// NDCG normalises by the ideal list of min(k, relevant) items.
	if n := NDCG([]bool{false, true}, 1, 10); !near(n, 1/math.Log2(3)) {
		t.Errorf("NDCG relevant at 2 of 1 = %v", n)
	}

	// Relevant item beyond the top 20: no NDCG or recall, but RR counts
	// its full rank.
	long := make([]float64, 100)
	for i := range long {
		long[i] = float64(100 - i)
	}
	ndcg, recall, rr, _ = rankOf(long, []int32{0, 1}, []int32{50})
	if ndcg != 0 || recall != 0 || !near(rr, 1.0/49) {
		t.Errorf("relevant at rank 49 (2 excluded above it): NDCG %v recall %v RR %v, want 0 0 1/49", ndcg, recall, rr)
	}
}

func TestMetrics_TiesCountAgainstTheModel(t *testing.T) {
	// A model that scores everything alike must not find the relevant
	// item by the luck of the item order.
	flat := make([]float64, 50)
	ndcg, recall, rr, _ := rankOf(flat, []int32{3}, []int32{0})
	if ndcg != 0 || recall != 0 || !near(rr, 1.0/49) {
		t.Errorf("constant scores: NDCG %v recall %v RR %v, want 0 0 1/49", ndcg, recall, rr)
	}
	nan := []float64{math.NaN(), 1, 0.5}
	_, _, rr, top := rankOf(nan, nil, []int32{0})
	if !near(rr, 1.0/3) || top[2] != 0 {
		t.Errorf("NaN score: RR %v top %v, want the item last", rr, top)
	}
}

func TestTopK_MatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		scores := make([]float64, n)
		mark := make([]uint8, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(8)) // many ties
			mark[i] = uint8(rng.IntN(3))
		}
		k := 1 + rng.IntN(25)
		got := topK(scores, mark, k, nil)
		var all []ranked
		for i, s := range scores {
			if mark[i] != markExcluded {
				all = append(all, ranked{item: int32(i), score: s, rel: mark[i] == markRelevant})
			}
		}
		slices.SortFunc(all, func(a, b ranked) int {
			if worse(a, b) {
				return 1
			}
			if worse(b, a) {
				return -1
			}
			return 0
		})
		want := all[:min(k, len(all))]
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: topK = %v, want %v", trial, got, want)
		}
	}
}

func TestCoverage(t *testing.T) {
	if c := Coverage([][]int32{{0, 1}, {1, 2}, {}}, 10); !near(c, 0.3) {
		t.Errorf("coverage = %v, want 3 of 10", c)
	}
	if c := Coverage(nil, 0); c != 0 {
		t.Errorf("empty catalog coverage = %v", c)
	}
}

func TestBootstrap_ContainsMeanAndNarrowsWithUsers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	width := func(users int) (Estimate, float64) {
		values := make([]float64, users)
		cluster := make([]int32, users)
		for i := range values {
			values[i] = rng.Float64() // true mean 0.5
			cluster[i] = int32(i)
		}
		e := NewBootstrap(users, 1000, 1).Mean(values, cluster)
		if !(e.Lo <= e.Mean && e.Mean <= e.Hi) {
			t.Errorf("%d users: CI [%v, %v] does not contain the mean %v", users, e.Lo, e.Hi, e.Mean)
		}
		return e, e.Hi - e.Lo
	}
	e100, w100 := width(100)
	e10k, w10k := width(10000)
	// The width shrinks like 1/sqrt(users): 10x here; allow slack.
	if !(w10k < w100/5) {
		t.Errorf("CI width %v with 10000 users, %v with 100: want it much narrower", w10k, w100)
	}
	// A uniform's standard error with 100 users is 0.029: the 95% CI is
	// about ±0.057.
	if w100 < 0.08 || w100 > 0.15 {
		t.Errorf("CI width with 100 users = %v, want about 0.11", w100)
	}
	if e10k.Lo > 0.5 || e10k.Hi < 0.5 {
		t.Errorf("10000 users: CI %+v misses the true mean 0.5", e10k)
	}
	_ = e100
}

func TestBootstrap_PairedDiffAndClusters(t *testing.T) {
	// Model b is a plus a constant 0.01 per row: a tiny difference, but
	// the paired interval is exact (every resample gives 0.01) although
	// the unpaired ones overlap.
	rng := rand.New(rand.NewPCG(3, 3))
	n := 200
	a, b := make([]float64, n), make([]float64, n)
	cluster := make([]int32, n)
	for i := range a {
		a[i] = rng.Float64()
		b[i] = a[i] + 0.01
		cluster[i] = int32(i / 2) // two rows per user
	}
	boot := NewBootstrap(n/2, 500, 9)
	d := boot.Diff(b, a, cluster)
	if !near(d.Mean, 0.01) || !near(d.Lo, 0.01) || !near(d.Hi, 0.01) {
		t.Errorf("paired diff = %+v, want exactly 0.01", d)
	}
	ea, eb := boot.Mean(a, cluster), boot.Mean(b, cluster)
	if !(eb.Lo < ea.Hi) {
		t.Errorf("unpaired intervals %+v and %+v do not overlap; the test is not testing pairing", ea, eb)
	}
	// Same seed, same intervals.
	if again := NewBootstrap(n/2, 500, 9).Mean(a, cluster); again != ea {
		t.Errorf("same seed: %+v then %+v", ea, again)
	}
}
