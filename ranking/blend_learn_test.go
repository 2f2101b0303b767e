package ranking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tasteWorld makes purchases over 30 days. Users belong to one of 20 taste
// groups of 25 products each (the group is the category). A purchase is,
// with probability personal, a product of the user's group (uniform
// within it) and otherwise a catalog product drawn by a Zipf popularity
// that ignores taste. perUser bounds the purchases of a user (drawn
// uniformly in [1, perUser]).
func tasteWorld(t testing.TB, users, perUser int, personal float64, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 21))
	const groups, size = 20, 25
	zipf := rand.NewZipf(rng, 1.2, 2, groups*size-1)
	b := NewBuilder()
	for g := range groups {
		for k := range size {
			b.AddItem(Item{ID: uint64(1 + g*size + k), Category: fmt.Sprintf("group %d", g), InStock: true})
		}
	}
	t0 := int64(1_700_000_000)
	for u := uint64(1); u <= uint64(users); u++ {
		g := int(u) % groups
		for range 1 + rng.IntN(perUser) {
			item := uint64(1 + zipf.Uint64())
			if rng.Float64() < personal {
				item = uint64(1 + g*size + rng.IntN(size))
			}
			b.Add(Interaction{User: u, Item: item, Kind: Purchase, Unix: t0 + rng.Int64N(30*86400)})
		}
	}
	return b.Build()
}

// shares sums the standardised shares (signed: popularity measures that
// pull in opposite directions cancel) of the item features (trending,
// recent, popularity, season, and conversion, which on data of purchases
// alone grows with the number of buyers) and of the personal ones (factor,
// neighbour, category, EASE), averaged over the blend's weights for short
// and long histories.
func shares(b *Blend) (item, personal float64) {
	add := func(w *Features) {
		s := b.Shares(w)
		item += s[FeatTrending] + s[FeatRecent] + s[FeatPopularity] + s[FeatSeason] + s[FeatConversion]
		personal += s[FeatFactor] + s[FeatNeighbour] + s[FeatCategory] + s[FeatEASE]
	}
	add(&b.Weights)
	n := 1.0
	if b.LongFrom > 0 {
		add(&b.Long)
		n = 2
	}
	return item / n, personal / n
}

// TestLearnedBlend_AdaptsToTheData learns the blend on a sparse world where
// purchases follow popularity alone and on dense ones where they follow
// taste: the first must rest on the item features (popularity), at least
// 0.6 of the weight and twice the personal ones, the second on the
// personal ones, at least 0.4 and twice the item features' net weight,
// averaged over three draws of the world (one draw's weights vary with
// its noise: 0.37–0.84 personal over six seeds).
func TestLearnedBlend_AdaptsToTheData(t *testing.T) {
	cfg := TrainConfig{ALS: ALSConfig{Factors: 8, Iterations: 6, Seed: 1}, BlendHoldout: 0.25, ChooseBlend: true, Seed: 1,
		TrendingHalfLife: 72 * 3600e9, RecentHalfLife: 24 * 3600e9}
	for _, tc := range []struct {
		name        string
		worlds      []*Dataset
		wantPopular bool
	}{
		{name: "sparse, popularity only", worlds: []*Dataset{tasteWorld(t, 4000, 3, 0, 1)}, wantPopular: true},
		{name: "dense, taste", worlds: []*Dataset{tasteWorld(t, 1500, 30, 0.9, 1), tasteWorld(t, 1500, 30, 0.9, 2), tasteWorld(t, 1500, 30, 0.9, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worlds := tc.worlds
			var pop, personal float64
			for _, d := range worlds {
				m, err := Train(context.Background(), d, cfg)
				if err != nil {
					t.Fatal(err)
				}
				b := &m.Blend
				if !b.Learned || b.How == HowPrior {
					t.Fatalf("blend not chosen on the holdout: learned %v, how %q", b.Learned, b.How)
				}
				p, q := shares(b)
				t.Logf("how %s, item features %.2f, personal features %.2f, shares %v", b.How, p, q, b.Shares(&b.Weights))
				pop += p / float64(len(worlds))
				personal += q / float64(len(worlds))
			}
			if tc.wantPopular && (pop < 0.6 || pop < 2*math.Abs(personal)) {
				t.Errorf("item features hold %.2f of the weight, personal ones %.2f: want at least 0.6 and twice as much", pop, personal)
			}
			if !tc.wantPopular && (personal < 0.4 || personal < 2*math.Abs(pop)) {
				t.Errorf("personal features hold %.2f of the weight, item ones %.2f: want at least 0.4 and twice as much", personal, pop)
			}
		})
	}
}

func TestZSet_NDCGMatchesPoolNDCGAndBreaksTiesAgainstRelevant(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var pools []pool
	for range 50 {
		var p pool
		for range 40 {
			var f Features
			for k := range NumFeatures {
				f[k] = rng.NormFloat64()
			}
			p.feats = append(p.feats, f)
			rel := rng.IntN(8) == 0
			p.rel = append(p.rel, rel)
			if rel {
				p.nRel++
			}
		}
		if p.nRel > 0 {
			pools = append(pools, p)
		}
	}
	var ones Features
	for k := range ones {
		ones[k] = 1
	}
	want := func(v Features) float64 { return poolNDCG(v, pools) }
	var w Features
	w[FeatFactor], w[FeatEASE] = 1, 0.5
	// poolNDCG breaks ties by position; without ties the two agree.
	wantW, wantOnes := want(w), want(ones)
	zs := standardise(pools, ones)
	all := zs.all()
	if a := zs.ndcg(w, all); math.Abs(a-wantW) > 1e-12 {
		t.Errorf("zset NDCG %v, poolNDCG %v", a, wantW)
	}
	if a := zs.ndcg(ones, all); math.Abs(a-wantOnes) > 1e-12 {
		t.Errorf("zset NDCG %v, poolNDCG %v", a, wantOnes)
	}
	// All scores equal: every relevant item sorts after the irrelevant.
	var zero Features
	if x := zs.ndcg(zero, all); x != 0 {
		t.Errorf("NDCG of a constant ranking is %v, want 0", x)
	}
	// Coordinate ascent does not lose NDCG, on all pools or on some.
	for _, view := range [][]int32{all, all[:len(all)/2]} {
		if a, b := zs.ndcg(zs.ascend(w, view), view), zs.ndcg(w, view); a < b {
			t.Errorf("ascent went from %v to %v", b, a)
		}
	}
}
