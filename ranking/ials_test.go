package ranking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats"
)

// plantedTastes is a dataset with a known structure: users fall in taste
// clusters and mostly interact with their cluster's group of items, whose
// popularity within the group is Zipf-like.
type plantedTastes struct {
	d        *Dataset
	clusters int
	cluster  []int   // per dense user
	group    []int   // per dense item
	heldOut  []int32 // per dense user: a held-out in-group item, -1 if none
}

// newPlantedTastes generates users×perUser pairs; noise is the share of a
// user's items drawn uniformly from all items. With holdOut, one in-group
// pair per user is left out of the dataset.
func newPlantedTastes(t testing.TB, users, items, clusters, perUser int, noise float64, holdOut bool, seed uint64) *plantedTastes {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	b := NewBuilder()
	per := items / clusters
	p := &plantedTastes{clusters: clusters, cluster: make([]int, users), group: make([]int, items), heldOut: make([]int32, users)}
	for i := range items {
		p.group[i] = min(i/per, clusters-1)
		b.AddItem(Item{ID: uint64(1000 + i), Category: fmt.Sprintf("g%d", p.group[i]), InStock: true})
	}
	// Zipf-like popularity within a group: rank r has weight 1/(r+1)^0.7.
	cum := make([]float64, per)
	for r := range per {
		cum[r] = 1 / math.Pow(float64(r+1), 0.7)
		if r > 0 {
			cum[r] += cum[r-1]
		}
	}
	pickInGroup := func(g int) int {
		x := rng.Float64() * cum[per-1]
		r, _ := slices.BinarySearch(cum, x)
		return g*per + min(r, per-1)
	}
	const t0 = 1_700_000_000
	for u := range users {
		p.cluster[u] = u % clusters
		chosen := map[int]bool{}
		var order []int
		for len(order) < perUser {
			var it int
			if rng.Float64() < noise {
				it = rng.IntN(items)
			} else {
				it = pickInGroup(p.cluster[u])
			}
			if !chosen[it] {
				chosen[it] = true
				order = append(order, it)
			}
		}
		hold := -1
		if holdOut {
			for _, it := range order {
				if p.group[it] == p.cluster[u] {
					hold = it
					break
				}
			}
		}
		p.heldOut[u] = -1
		if hold >= 0 {
			p.heldOut[u] = int32(hold) // dense item index = order of AddItem
		}
		for n, it := range order {
			if it == hold {
				continue
			}
			s := Signal{Views: 1 + uint16(rng.IntN(3)), First: uint32(t0 + n*60), Last: uint32(t0 + n*60 + 30)}
			if rng.Float64() < 0.2 {
				s.Chats = 1
			}
			if rng.Float64() < 0.05 {
				s.Purchases = 1
			}
			b.AddSignal(uint64(u+1), uint64(1000+it), s)
		}
	}
	p.d = b.Build()
	if p.d.NumUsers() != users || p.d.NumItems() != items {
		t.Fatalf("planted dataset has %d users %d items, want %d %d", p.d.NumUsers(), p.d.NumItems(), users, items)
	}
	return p
}

// topUnseen returns the n best-scored items that user u has not interacted
// with in d.
func topUnseen(d *Dataset, u int32, scores []float64, n int) []int32 {
	seen, _ := d.UserRow(u)
	var cand []int32
	for i := range scores {
		if _, ok := slices.BinarySearch(seen, int32(i)); !ok {
			cand = append(cand, int32(i))
		}
	}
	slices.SortFunc(cand, func(a, b int32) int {
		if scores[a] != scores[b] {
			if scores[a] > scores[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	return cand[:min(n, len(cand))]
}

func cosine(a, b []float64) float64 {
	return floats.Dot(a, b) / (floats.Norm(a, 2)*floats.Norm(b, 2) + 1e-300)
}

func TestTrainALS_PlantedClustersBeatPopularity(t *testing.T) {
	p := newPlantedTastes(t, 2000, 400, 8, 15, 0.1, true, 1)
	f, err := TrainALS(context.Background(), p.d, ALSConfig{Factors: 16, Iterations: 10, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	pop := Popularity(p.d, 0)
	scores := make([]float64, f.NumItems())
	var alsHits, popHits, n int
	for u := range int32(p.d.NumUsers()) {
		if p.heldOut[u] < 0 {
			continue
		}
		n++
		f.ScoreAll(f.UserVec(u, nil), scores)
		if slices.Contains(topUnseen(p.d, u, scores, 10), p.heldOut[u]) {
			alsHits++
		}
		if slices.Contains(topUnseen(p.d, u, pop, 10), p.heldOut[u]) {
			popHits++
		}
	}
	als, popRate := float64(alsHits)/float64(n), float64(popHits)/float64(n)
	t.Logf("hit rate@10 over %d users: iALS %.3f, popularity %.3f", n, als, popRate)
	if als < 0.3 || als < 2.5*popRate {
		t.Errorf("iALS hit rate@10 %.3f, popularity %.3f: want ≥ 0.3 and ≥ 2.5× popularity", als, popRate)
	}
}

func TestTrainALS_LossNonIncreasing(t *testing.T) {
	p := newPlantedTastes(t, 500, 120, 6, 12, 0.15, false, 2)
	cfg, err := ALSConfig{Factors: 12, Iterations: 6, Seed: 3, Workers: 2}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tr := newALSTrainer(p.d, cfg)
	prev := tr.loss()
	first := prev
	for it := range cfg.Iterations {
		for _, users := range []bool{true, false} {
			if err := tr.sweep(context.Background(), users); err != nil {
				t.Fatal(err)
			}
			l := tr.loss()
			if l > prev*(1+1e-9) {
				t.Errorf("iteration %d (users %v): loss rose from %g to %g", it, users, prev, l)
			}
			prev = l
		}
	}
	if prev > 0.8*first {
		t.Errorf("loss fell only from %g to %g", first, prev)
	}
}

func TestFactors_FoldInMatchesTrainedUser(t *testing.T) {
	p := newPlantedTastes(t, 1200, 240, 6, 15, 0.05, false, 3)
	f, err := TrainALS(context.Background(), p.d, ALSConfig{Factors: 16, Iterations: 15, Seed: 1, CGSteps: 4})
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, f.NumItems())
	var sumCos float64
	minCos := 1.0
	inGroup, total := 0, 0
	var x []float64
	const users = 200
	for u := range int32(users) {
		items, sigs := p.d.UserRow(u)
		x = f.FoldIn(items, sigs, x)
		c := cosine(x, f.UserVec(u, nil))
		sumCos += c
		minCos = min(minCos, c)
		f.ScoreAll(x, scores)
		for _, it := range topUnseen(p.d, u, scores, 10) {
			total++
			if p.group[it] == p.cluster[u] {
				inGroup++
			}
		}
	}
	t.Logf("fold-in vs trained: mean cosine %.4f, min %.4f; top-10 in the user's group %d/%d", sumCos/users, minCos, inGroup, total)
	if sumCos/users < 0.95 || minCos < 0.8 {
		t.Errorf("fold-in vs trained user vector: mean cosine %.4f, min %.4f; want ≥ 0.95 and ≥ 0.8", sumCos/users, minCos)
	}
	if float64(inGroup) < 0.9*float64(total) {
		t.Errorf("only %d of %d folded-in top-10 items in the user's group", inGroup, total)
	}
}

// TestFactors_FoldInSolvesNormalEquations checks FoldIn against the
// normal equations built explicitly, item by item, to float32 precision.
func TestFactors_FoldInSolvesNormalEquations(t *testing.T) {
	p := newPlantedTastes(t, 300, 60, 3, 10, 0.1, false, 4)
	f, err := TrainALS(context.Background(), p.d, ALSConfig{Factors: 8, Iterations: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	k := f.K
	tests := []struct {
		name    string
		items   []int32
		signals []Signal
	}{
		{"views", []int32{1, 5, 9}, nil},
		{"mixed signals", []int32{0, 2, 40, 59}, []Signal{{Views: 3}, {Purchases: 1}, {Chats: 2, DwellSec: 120}, {}}},
		{"unknown items skipped", []int32{3, -1, 60, 1 << 30}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := f.FoldIn(tc.items, tc.signals, nil)
			// A = Σ_all y yᵀ + λI + Σ_hist (c−1) y yᵀ, b = Σ_hist c y.
			a := make([]float64, k*k)
			b := make([]float64, k)
			add := func(y []float64, w float64) {
				for r := range k {
					for c := range k {
						a[r*k+c] += w * y[r] * y[c]
					}
				}
			}
			for i := range int32(f.NumItems()) {
				add(f.ItemVec(i), 1)
			}
			for r := range k {
				a[r*k+r] += f.Reg
			}
			for n, it := range tc.items {
				if it < 0 || int(it) >= f.NumItems() {
					continue
				}
				sig := Signal{Views: 1}
				if tc.signals != nil {
					sig = tc.signals[n]
				}
				c := 1 + f.Alpha*f.Weights.Strength(sig)
				add(f.ItemVec(it), c-1)
				floats.AddScaled(b, c, f.ItemVec(it))
			}
			for r := range k {
				res := floats.Dot(a[r*k:(r+1)*k], x) - b[r]
				// The history's rank-one terms are summed in float32.
				if math.Abs(res) > 1e-5*(1+math.Abs(b[r])) {
					t.Errorf("row %d: residual %g", r, res)
				}
			}
		})
	}
	t.Run("empty history is zero and reuses dst", func(t *testing.T) {
		dst := make([]float64, 2*k)
		for i := range dst {
			dst[i] = 7
		}
		x := f.FoldIn(nil, nil, dst)
		if len(x) != k || &x[0] != &dst[0] {
			t.Fatalf("len %d, reused %v", len(x), &x[0] == &dst[0])
		}
		for _, v := range x {
			if v != 0 {
				t.Fatalf("empty fold-in %v, want zeros", x)
			}
		}
	})
}

func TestFactors_ScoreAllIsDotProducts(t *testing.T) {
	p := newPlantedTastes(t, 100, 40, 2, 8, 0.1, false, 5)
	f, err := TrainALS(context.Background(), p.d, ALSConfig{Factors: 5, Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, f.NumItems())
	x := f.UserVec(3, nil)
	f.ScoreAll(x, dst)
	for i := range int32(f.NumItems()) {
		if want := floats.Dot(x, f.ItemVec(i)); math.Abs(dst[i]-want) > 1e-12 {
			t.Errorf("item %d: score %g, want %g", i, dst[i], want)
		}
	}
}

func TestTrainALS_DeterministicForSeed(t *testing.T) {
	p := newPlantedTastes(t, 400, 100, 4, 10, 0.1, false, 6)
	train := func(seed int64, workers int) *Factors {
		t.Helper()
		f, err := TrainALS(context.Background(), p.d, ALSConfig{Factors: 8, Iterations: 3, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := train(11, 1), train(11, 1)
	if !slices.Equal(a.UserCodes, b.UserCodes) || !slices.Equal(a.Item, b.Item) || !slices.Equal(a.Gram, b.Gram) {
		t.Error("two runs with the same seed and one worker differ")
	}
	if c := train(11, 3); !slices.Equal(a.UserCodes, c.UserCodes) || !slices.Equal(a.Item, c.Item) {
		t.Error("three workers give a different model than one")
	}
	if c := train(12, 1); slices.Equal(a.Item, c.Item) {
		t.Error("another seed gives the same model")
	}
}

func TestTrainALS_ContextCancelled(t *testing.T) {
	p := newPlantedTastes(t, 2000, 400, 8, 15, 0.1, false, 7)
	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f, err := TrainALS(ctx, p.d, ALSConfig{Factors: 8})
		if !errors.Is(err, context.Canceled) || f != nil {
			t.Fatalf("got %v, %v; want a wrapped context.Canceled", f, err)
		}
	})
	t.Run("during training", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := TrainALS(ctx, p.d, ALSConfig{Factors: 32, Iterations: 100000})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a wrapped context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("stopped %v after the start, deadline was 30ms", el)
		}
	})
}

func TestALSConfig_Defaults(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ALSConfig
		wantErr bool
		check   func(ALSConfig) bool
	}{
		{"zero takes defaults", ALSConfig{}, false, func(c ALSConfig) bool {
			return c.Factors == 64 && c.Iterations == 10 && c.Reg == 0.1 && c.Alpha == 4 && c.CGSteps == 3 &&
				c.Weights == DefaultWeights() && c.Workers >= 1
		}},
		{"set fields kept", ALSConfig{Factors: 5, Reg: 2, Weights: Weights{View: 3}}, false, func(c ALSConfig) bool {
			return c.Factors == 5 && c.Reg == 2 && c.Weights == Weights{View: 3}
		}},
		{"negative factors", ALSConfig{Factors: -1}, true, nil},
		{"negative reg", ALSConfig{Reg: -0.1}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg.withDefaults()
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
	if _, err := TrainALS(context.Background(), NewBuilder().Build(), ALSConfig{Iterations: -2}); err == nil {
		t.Error("TrainALS accepted a negative iteration count")
	}
}

func TestTrainALS_EmptyDataset(t *testing.T) {
	f, err := TrainALS(context.Background(), NewBuilder().Build(), ALSConfig{Factors: 4, Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f.NumItems() != 0 || f.NumUsers() != 0 || len(f.Gram) != 16 {
		t.Errorf("empty model: %d items %d users gram %d", f.NumItems(), f.NumUsers(), len(f.Gram))
	}
}

// TestTrainALS_CGReachesExactSolve checks that with enough CG steps a user
// half-sweep lands on the exact solution FoldIn computes by Cholesky: the
// two solve the same system.
func TestTrainALS_CGReachesExactSolve(t *testing.T) {
	p := newPlantedTastes(t, 200, 50, 5, 10, 0.2, false, 8)
	for _, tc := range []struct {
		name      string
		maxGather int
	}{
		{"rows copied whole", 1 << 20},
		{"rows copied a vector at a time", 1},
		{"rows copied in chunks of 3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) { checkCGExact(t, p.d, tc.maxGather) })
	}
}

func checkCGExact(t *testing.T, d *Dataset, maxGather int) {
	cfg, err := ALSConfig{Factors: 6, CGSteps: 30, Seed: 5}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tr := newALSTrainer(d, cfg)
	for w := range tr.workers {
		tr.workers[w].maxGather = maxGather
	}
	for _, users := range []bool{true, false, true} {
		if err := tr.sweep(context.Background(), users); err != nil {
			t.Fatal(err)
		}
	}
	tr.gram(tr.f.Gram, tr.f.Item, false)
	var x []float64
	for u := range int32(d.NumUsers()) {
		items, sigs := d.UserRow(u)
		x = tr.f.FoldIn(items, sigs, x)
		got := tr.user[int(u)*cfg.Factors : (int(u)+1)*cfg.Factors]
		if d := floats.Distance(x, got, 2); d > 1e-6*(1+floats.Norm(x, 2)) {
			t.Fatalf("user %d: CG %v, exact %v", u, got, x)
		}
	}
}

func TestQuantize_WithinHalfAStepAndExactAtTheExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := make([]float64, 64)
	q := make([]int8, len(x))
	for range 100 {
		for j := range x {
			x[j] = rng.NormFloat64() * 0.3
		}
		s := quantize(q, x)
		f := Factors{K: len(x), UserCodes: q, UserScale: []float32{s}}
		back := f.UserVec(0, nil)
		m := 0.0
		for j := range x {
			m = max(m, math.Abs(x[j]))
		}
		for j := range x {
			if d := math.Abs(back[j] - x[j]); d > float64(s)/2*(1+1e-6) {
				t.Fatalf("component %d: %v back as %v, off by %v > half a step %v", j, x[j], back[j], d, s/2)
			}
			if math.Abs(x[j]) == m && (q[j] != 127 && q[j] != -127) {
				t.Fatalf("the largest component %v quantised to %d, want ±127", x[j], q[j])
			}
		}
	}
	if s := quantize(q, make([]float64, len(q))); s != 0 || slices.ContainsFunc(q, func(v int8) bool { return v != 0 }) {
		t.Errorf("zero vector: scale %v, q %v", s, q)
	}
}
