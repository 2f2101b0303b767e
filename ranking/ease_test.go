package ranking

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

func TestInvertSPD_MatchesIdentity(t *testing.T) {
	for _, n := range []int{5, invertLeaf, 2*invertLeaf + 7, 700} {
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		k := n / 3
		x := make([]float64, n*k)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		a := make([]float64, n*n)
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, blas64.General{Rows: n, Cols: k, Stride: k, Data: x},
			blas64.General{Rows: n, Cols: k, Stride: k, Data: x}, 0, blas64.General{Rows: n, Cols: n, Stride: n, Data: a})
		for i := range n {
			a[i*n+i] += 1
		}
		inv := slices.Clone(a)
		if !invertSPD(blas64.General{Rows: n, Cols: n, Stride: n, Data: inv}, make([]float64, invertWork(n))) {
			t.Fatalf("n=%d: reported not positive definite", n)
		}
		prod := make([]float64, n*n)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: n, Cols: n, Stride: n, Data: a},
			blas64.General{Rows: n, Cols: n, Stride: n, Data: inv}, 0, blas64.General{Rows: n, Cols: n, Stride: n, Data: prod})
		worst := 0.0
		for i := range n {
			for j := range n {
				want := 0.0
				if i == j {
					want = 1
				}
				worst = math.Max(worst, math.Abs(prod[i*n+j]-want))
			}
		}
		if worst > 1e-8 {
			t.Errorf("n=%d: A·A⁻¹ is %g off the identity", n, worst)
		}
	}
	a := []float64{1, 2, 2, 1} // indefinite
	if invertSPD(blas64.General{Rows: 2, Cols: 2, Stride: 2, Data: a}, nil) {
		t.Error("an indefinite matrix was inverted")
	}
}

// bundleShop plants item-item structure: 40 bundles of 3 items, each user
// takes 2 bundles, each of their items with probability 0.7, plus a few of
// 20 popular items every user may take regardless of taste. One item of a
// bundle the user took is held out per user.
func bundleShop(t testing.TB, users int, seed uint64) (d *Dataset, heldOut map[uint64]uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	const bundles, size, popular = 40, 3, 20
	b := NewBuilder()
	heldOut = map[uint64]uint64{}
	t0 := int64(1_700_000_000)
	for u := uint64(1); u <= uint64(users); u++ {
		var taken []uint64
		for _, bu := range rng.Perm(bundles)[:2] {
			for k := range size {
				if rng.Float64() < 0.7 {
					taken = append(taken, uint64(100+bu*size+k))
				}
			}
		}
		if len(taken) < 2 {
			continue
		}
		out := taken[rng.IntN(len(taken))]
		heldOut[u] = out
		for _, it := range taken {
			if it != out {
				b.Add(Interaction{User: u, Item: it, Kind: Purchase, Unix: t0 + rng.Int64N(86400)})
			}
		}
		for p := range popular {
			if rng.Float64() < 0.5/float64(p+1) {
				b.Add(Interaction{User: u, Item: uint64(1 + p), Kind: Purchase, Unix: t0 + rng.Int64N(86400)})
			}
		}
	}
	return b.Build(), heldOut
}

func TestEASE_RecoversBundlesAndBeatsPopularity(t *testing.T) {
	d, held := bundleShop(t, 3000, 1)
	e, err := TrainEASE(context.Background(), d, EASEConfig{Lambda: 20, MaxItems: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Each bundle item's two strongest weights point to its bundle mates.
	lists := e.Lists(5)
	bundleOf := func(id uint64) int { return int(id-100) / 3 }
	wrong := 0
	for i, it := range d.Items {
		if it.ID < 100 {
			continue
		}
		nb, _ := lists.Of(int32(i))
		if len(nb) < 2 {
			t.Fatalf("item %d has %d weights", it.ID, len(nb))
		}
		for _, j := range nb[:2] {
			if id := d.Items[j].ID; id < 100 || bundleOf(id) != bundleOf(it.ID) {
				wrong++
			}
		}
	}
	if total := 2 * 3 * 40; wrong > total/50 {
		t.Errorf("%d of the %d top-2 weights of bundle items point outside their bundle", wrong, total)
	}
	// Hit rate at 5 of the held-out item: EASE against popularity.
	pop := Popularity(d, 0)
	scores := make([]float64, d.NumItems())
	hitsEASE, hitsPop := 0, 0
	for id, out := range held {
		u, ok := d.UserIndex(id)
		j, ok2 := d.ItemIndex(out)
		if !ok || !ok2 {
			continue
		}
		items, sigs := d.UserRow(u)
		clear(scores)
		e.ScoreInto(items, sigs, scores)
		hitsEASE += hitAt(scores, items, j, 5)
		hitsPop += hitAt(pop, items, j, 5)
	}
	t.Logf("hits at 5 of %d users: EASE %d, popularity %d", len(held), hitsEASE, hitsPop)
	if hitsEASE < 2*hitsPop || hitsEASE < len(held)/2 {
		t.Errorf("hits at 5 of %d users: EASE %d, popularity %d; want EASE over half and at least twice popularity", len(held), hitsEASE, hitsPop)
	}
}

// hitAt is 1 if item j is among the k best scores outside the history.
func hitAt(scores []float64, history []int32, j int32, k int) int {
	above := 0
	for i, s := range scores {
		if int32(i) != j && !slices.Contains(history, int32(i)) && s >= scores[j] {
			above++
		}
	}
	if above < k {
		return 1
	}
	return 0
}

func TestEASE_HeadAndDecay(t *testing.T) {
	d, _ := bundleShop(t, 500, 2)
	e, err := TrainEASE(context.Background(), d, EASEConfig{MaxItems: 10, HalfLife: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Head) != 10 || len(e.B) != 100 {
		t.Fatalf("head %d items, B %d weights; want 10 and 100", len(e.Head), len(e.B))
	}
	pop := Popularity(d, 0)
	for h := 1; h < len(e.Head); h++ {
		if pop[e.Head[h]] > pop[e.Head[h-1]] {
			t.Errorf("head not by users: %v before %v", pop[e.Head[h-1]], pop[e.Head[h]])
		}
	}
	for i := range d.Items {
		if e.HeadPos(int32(i)) < 0 {
			if nb, _ := e.Lists(5).Of(int32(i)); len(nb) > 0 {
				t.Errorf("item %d outside the head has weights", i)
			}
		}
	}
	old := Signal{Purchases: 1, Last: uint32(d.MaxUnix - 7200)}
	if v := e.Value(old); math.Abs(v-0.25) > 1e-9 {
		t.Errorf("a purchase two half-lives old has value %v, want 0.25", v)
	}
	if _, err := TrainEASE(context.Background(), d, EASEConfig{Lambda: -1}); err == nil {
		t.Error("negative λ accepted")
	}
}

// TestEASE_ListsKeepTheLargestWeightsWithTheirSigns checks the served
// lists against the dense matrix: each head product keeps its weights of
// largest magnitude, negative ones included, with their signs, largest
// first.
func TestEASE_ListsKeepTheLargestWeightsWithTheirSigns(t *testing.T) {
	d, _ := bundleShop(t, 3000, 2)
	e, err := TrainEASE(context.Background(), d, EASEConfig{Lambda: 20, MaxItems: 1000})
	if err != nil {
		t.Fatal(err)
	}
	const k = 8
	lists := e.Lists(k)
	n := len(e.Head)
	negatives := 0
	for h, i := range e.Head {
		row := e.B[h*n : (h+1)*n]
		mags := make([]float64, 0, n)
		for _, b := range row {
			if b != 0 {
				mags = append(mags, math.Abs(b))
			}
		}
		slices.SortFunc(mags, func(a, b float64) int { return cmp.Compare(b, a) })
		items, ws := lists.Of(i)
		if len(items) != min(k, len(mags)) {
			t.Fatalf("product %d: %d weights listed, want %d", i, len(items), min(k, len(mags)))
		}
		for c, j := range items {
			b := row[e.HeadPos(j)]
			if ws[c] != float32(b) {
				t.Fatalf("product %d → %d: listed %v, B holds %v", i, j, ws[c], b)
			}
			if float32(math.Abs(b)) != float32(mags[c]) {
				t.Fatalf("product %d: weight %d of the list has magnitude %v, the %d-th largest is %v", i, c, math.Abs(b), c+1, mags[c])
			}
			if b < 0 {
				negatives++
			}
		}
	}
	if negatives == 0 {
		t.Error("no negative weight in any list: the test world does not exercise the signs")
	}
	t.Logf("%d of %d listed weights negative", negatives, k*n)
}
