package ranking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// categorised builds a random dataset whose items fall in cats categories,
// every fifth item without one.
func categorised(t testing.TB, users, items, cats int, density float64, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	b := NewBuilder()
	for i := range items {
		cat := fmt.Sprintf("c%d", i%cats)
		if i%5 == 4 {
			cat = ""
		}
		b.AddItem(Item{ID: uint64(i + 1), Category: cat, InStock: true})
	}
	for u := range users {
		for i := range items {
			// Item popularity falls with its index so the lists have an order.
			if rng.Float64() >= density*3/(1+float64(i)/10) {
				continue
			}
			last := uint32(1_700_000_000 + rng.IntN(86400*30))
			b.AddSignal(uint64(u+1), uint64(i+1), Signal{
				Views: 1 + uint16(rng.IntN(3)), Chats: uint16(rng.IntN(3) / 2), Purchases: uint16(rng.IntN(10) / 9),
				DwellSec: uint16(rng.IntN(200)), First: last - 60, Last: last,
			})
		}
	}
	return b.Build()
}

func TestBuildTrending_HalvesAfterOneHalfLife(t *testing.T) {
	d := categorised(t, 200, 80, 4, 0.05, 1)
	const hl = 6 * time.Hour
	now := d.MaxUnix
	a := BuildTrending(d, now, hl, Weights{})
	b := BuildTrending(d, now+int64(hl.Seconds()), hl, Weights{})
	c := BuildTrending(d, now+2*int64(hl.Seconds()), hl, Weights{})
	positive := 0
	for i := range a.Score {
		if a.Score[i] == 0 {
			continue
		}
		positive++
		if r := b.Score[i] / a.Score[i]; math.Abs(r-0.5) > 1e-12 {
			t.Errorf("item %d: one half-life later the score is %g× as large", i, r)
		}
		if r := c.Score[i] / a.Score[i]; math.Abs(r-0.25) > 1e-12 {
			t.Errorf("item %d: two half-lives later the score is %g× as large", i, r)
		}
	}
	if positive < 20 {
		t.Fatalf("only %d items scored", positive)
	}
}

func TestBuildTrending_ScoreIsDecayedStrength(t *testing.T) {
	w := DefaultWeights()
	old := Signal{Views: 2, Last: 1000}
	recent := Signal{Purchases: 1, Last: 1000 + 3600}
	b := NewBuilder()
	b.AddSignal(1, 7, old)
	b.AddSignal(2, 7, recent)
	b.AddSignal(3, 8, Signal{Views: 1, Last: 1000 + 2*3600}) // after now: counts as now
	b.AddItem(Item{ID: 9, Category: "quiet"})                // never interacted with
	d := b.Build()
	tr := BuildTrending(d, 1000+3600, time.Hour, w)
	i7, _ := d.ItemIndex(7)
	i8, _ := d.ItemIndex(8)
	if want := w.Strength(old)/2 + w.Strength(recent); math.Abs(tr.Score[i7]-want) > 1e-12 {
		t.Errorf("item 7 score %g, want %g", tr.Score[i7], want)
	}
	if want := w.Strength(Signal{Views: 1}); math.Abs(tr.Score[i8]-want) > 1e-12 {
		t.Errorf("item 8 (interaction after now) score %g, want undecayed %g", tr.Score[i8], want)
	}
	if len(tr.ByCategory) != 1 || len(tr.ByCategory[0]) != 0 {
		t.Errorf("category without interactions: lists %v, want one empty list", tr.ByCategory)
	}
	if len(tr.Global) != 2 {
		t.Errorf("global list %v, want the 2 scored items", tr.Global)
	}
	flat := BuildTrending(d, 1000+3600, 0, w)
	if want := w.Strength(old) + w.Strength(recent); math.Abs(flat.Score[i7]-want) > 1e-12 {
		t.Errorf("no half-life: item 7 score %g, want %g", flat.Score[i7], want)
	}
}

func TestBuildTrending_ListsFollowScore(t *testing.T) {
	d := categorised(t, 3000, 2500, 3, 0.02, 2)
	tr := BuildTrending(d, d.MaxUnix, 24*time.Hour, Weights{})
	check := func(name string, list []int32, limit int, member func(int32) bool) {
		t.Helper()
		if len(list) > limit {
			t.Errorf("%s: %d items, limit %d", name, len(list), limit)
		}
		in := map[int32]bool{}
		for r, i := range list {
			in[i] = true
			if !member(i) {
				t.Errorf("%s: item %d does not belong", name, i)
			}
			if tr.Score[i] <= 0 {
				t.Errorf("%s: item %d with score %g", name, i, tr.Score[i])
			}
			if r > 0 && tr.Score[i] > tr.Score[list[r-1]] {
				t.Errorf("%s: rank %d scores %g above rank %d's %g", name, r, tr.Score[i], r-1, tr.Score[list[r-1]])
			}
		}
		// Nothing left out may beat the last item, and the list is only
		// short when it holds every scored member.
		floor := 0.0
		if len(list) == limit {
			floor = tr.Score[list[len(list)-1]]
		}
		for i := range int32(len(tr.Score)) {
			if member(i) && !in[i] && tr.Score[i] > floor {
				t.Errorf("%s: item %d with score %g left out (floor %g)", name, i, tr.Score[i], floor)
			}
		}
	}
	check("global", tr.Global, TrendingGlobal, func(int32) bool { return true })
	if len(tr.Global) != TrendingGlobal {
		t.Errorf("global list has %d items, want it full", len(tr.Global))
	}
	if len(tr.ByCategory) != len(d.Categories) {
		t.Fatalf("%d category lists for %d categories", len(tr.ByCategory), len(d.Categories))
	}
	for c, list := range tr.ByCategory {
		check("category "+d.Categories[c], list, TrendingPerCategory, func(i int32) bool { return d.ItemCategory[i] == int32(c) })
	}
}

func TestPopularity_CountsRecentUsers(t *testing.T) {
	d := categorised(t, 300, 40, 2, 0.05, 3)
	for _, since := range []int64{0, d.MinUnix, (d.MinUnix + d.MaxUnix) / 2, d.MaxUnix + 1} {
		p := Popularity(d, since)
		for i := range int32(d.NumItems()) {
			_, pairs := d.ItemColumn(i)
			want := 0
			for _, k := range pairs {
				if int64(d.Signals[k].Last) >= since {
					want++
				}
			}
			if p[i] != float64(want) {
				t.Errorf("since %d item %d: popularity %g, want %d", since, i, p[i], want)
			}
		}
	}
}

// conversionData builds items with given (viewers, buyers) in categories:
// counts[c] lists the items of category cats[c].
func conversionData(t testing.TB, cats []string, counts [][][2]int) *Dataset {
	t.Helper()
	b := NewBuilder()
	id, user := uint64(1), uint64(1)
	for c, items := range counts {
		for _, vb := range items {
			b.AddItem(Item{ID: id, Category: cats[c], InStock: true})
			for v := range vb[0] {
				s := Signal{Views: 1, Last: 100}
				if v < vb[1] {
					s.Purchases = 1
				}
				b.AddSignal(user, id, s)
				user++
			}
			id++
		}
	}
	return b.Build()
}

func TestBuildConversion_PriorFitRecoversBeta(t *testing.T) {
	src := rand.NewPCG(42, 42)
	truth := distuv.Beta{Alpha: 2, Beta: 50, Src: src}
	rng := rand.New(src)
	var items [][2]int
	for range 400 {
		n := 200 + rng.IntN(1800)
		buyers := distuv.Binomial{N: float64(n), P: truth.Rand(), Src: src}.Rand()
		items = append(items, [2]int{n, int(buyers)})
	}
	d := conversionData(t, []string{"shoes"}, [][][2]int{items})
	c := BuildConversion(d)
	a, b := c.PriorA[0], c.PriorB[0]
	mean, strength := a/(a+b), a+b
	t.Logf("fitted Beta(%.2f, %.2f): mean %.4f strength %.1f; truth mean %.4f strength 52", a, b, mean, strength, truth.Mean())
	if math.Abs(mean-truth.Mean()) > 0.004 {
		t.Errorf("fitted prior mean %.4f, want %.4f ± 0.004", mean, truth.Mean())
	}
	if strength < 35 || strength > 80 {
		t.Errorf("fitted prior strength %.1f, want about 52", strength)
	}
}

func TestBuildConversion_ShrinksTowardCategoryPrior(t *testing.T) {
	// Category "hi" converts around 30%, "lo" around 2%; each has items with
	// enough viewers to fit a prior, plus the items under test.
	rng := rand.New(rand.NewPCG(7, 7))
	fitItems := func(rate float64) [][2]int {
		var out [][2]int
		for range 30 {
			n := 50 + rng.IntN(100)
			r := rate * (0.7 + 0.6*rng.Float64())
			b := 0
			for range n {
				if rng.Float64() < r {
					b++
				}
			}
			out = append(out, [2]int{n, b})
		}
		return out
	}
	hi := append(fitItems(0.3), [2]int{0, 0}, [2]int{6, 0}, [2]int{20000, 4000})
	lo := append(fitItems(0.02), [2]int{0, 0}, [2]int{6, 6})
	sparse := [][2]int{{40, 4}, {0, 0}} // too few items for a prior of its own
	d := conversionData(t, []string{"hi", "lo", "sparse"}, [][][2]int{hi, lo, sparse})
	c := BuildConversion(d)
	cat := func(name string) int32 { return int32(slices.Index(d.Categories, name)) }
	priorMean := func(k int32) float64 { return c.PriorA[k] / (c.PriorA[k] + c.PriorB[k]) }
	item := func(catName string, nth int) int32 { // nth item of a category, from the end when negative
		var of []int32
		for i := range int32(d.NumItems()) {
			if d.ItemCategory[i] == cat(catName) {
				of = append(of, i)
			}
		}
		if nth < 0 {
			nth += len(of)
		}
		return of[nth]
	}
	hiMean, loMean := priorMean(cat("hi")), priorMean(cat("lo"))
	if hiMean < 0.2 || hiMean > 0.4 || loMean > 0.05 {
		t.Fatalf("prior means hi %.3f lo %.3f", hiMean, loMean)
	}

	tests := []struct {
		name  string
		item  int32
		check func(rate float64) bool
	}{
		{"no views gets the category prior mean", item("hi", 30), func(r float64) bool { return math.Abs(r-hiMean) < 1e-12 }},
		{"no views in another category", item("lo", 30), func(r float64) bool { return math.Abs(r-loMean) < 1e-12 }},
		{"many views approach the empirical rate", item("hi", -1), func(r float64) bool { return math.Abs(r-0.2) < 0.002 }},
		{"0 of 6 stays near a high prior", item("hi", 31), func(r float64) bool { return r > 0 && r < hiMean && r > hiMean/2 }},
		{"6 of 6 stays near a low prior", item("lo", 31), func(r float64) bool { return r < 1 && r > loMean && r < 0.5 }},
		{"sparse category uses the global prior", item("sparse", 1), func(r float64) bool {
			return math.Abs(r-c.GlobalA/(c.GlobalA+c.GlobalB)) < 1e-12
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.Rate[tc.item]; !tc.check(r) {
				t.Errorf("item %d (%g viewers, %g buyers): rate %.4f (prior hi %.4f lo %.4f)", tc.item, c.Viewers[tc.item], c.Buyers[tc.item], r, hiMean, loMean)
			}
		})
	}
	if c.PriorA[cat("sparse")] != c.GlobalA || c.PriorB[cat("sparse")] != c.GlobalB {
		t.Error("sparse category has a prior of its own")
	}
	for k := range c.PriorA {
		if s := c.PriorA[k] + c.PriorB[k]; s > conversionMaxStrength+1e-9 || s < conversionMinStrength-1e-9 {
			t.Errorf("category %d prior strength %g outside [%d, %d]", k, s, conversionMinStrength, conversionMaxStrength)
		}
	}
}

func TestBuildConversion_NoData(t *testing.T) {
	b := NewBuilder()
	b.AddItem(Item{ID: 1, Category: "x"})
	c := BuildConversion(b.Build())
	if c.Rate[0] != 0.5 || c.GlobalA != 1 || c.GlobalB != 1 {
		t.Errorf("no interactions: rate %g, global prior Beta(%g, %g); want 0.5 and Beta(1, 1)", c.Rate[0], c.GlobalA, c.GlobalB)
	}
}

// TestItemStats_SeasonIsLastYearsWindow: a product sold only in the four
// weeks that follow this date a year ago gets the season; one sold a year
// ago but two months earlier, and one sold now, do not. A blend that
// weighs the season puts the seasonal product first.
func TestItemStats_SeasonIsLastYearsWindow(t *testing.T) {
	const day = 86400
	now := int64(1_760_000_000)
	b := NewBuilder()
	for id := uint64(1); id <= 40; id++ {
		b.AddItem(Item{ID: id, Category: "gifts", InStock: true})
	}
	for u := uint64(1); u <= 30; u++ {
		b.Add(Interaction{User: u, Item: 1, Kind: Purchase, Unix: now - year + 10*day}) // in season
		b.Add(Interaction{User: u, Item: 2, Kind: Purchase, Unix: now - year - 60*day}) // a year ago, out of season
		b.Add(Interaction{User: 100 + u, Item: 3 + u%30, Kind: View, Unix: now - int64(u)*3600})
	}
	d := b.Build()
	s := BuildItemStats(d, now, 28*24*time.Hour, DefaultWeights())
	i1, _ := d.ItemIndex(1)
	i2, _ := d.ItemIndex(2)
	i3, _ := d.ItemIndex(3)
	if s.Season[i1] == 0 || s.Season[i2] != 0 || s.Season[i3] != 0 {
		t.Errorf("season of the in-season, out-of-season and current products: %v %v %v; want only the first", s.Season[i1], s.Season[i2], s.Season[i3])
	}
	if s.Users[i1] != 30 || s.Users[i3] != 1 {
		t.Errorf("users %v and %v, want 30 and 1", s.Users[i1], s.Users[i3])
	}
	m, err := Train(context.Background(), d, TrainConfig{ALS: ALSConfig{Factors: 4, Iterations: 2, Seed: 1}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Blend = Blend{}
	m.Blend.Weights[FeatSeason] = 1
	f, err := newTestRanker(m, time.Unix(now, 0)).Feed(context.Background(), FeedRequest{UserID: 105, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) == 0 || f.Items[0].ProductID != 1 {
		t.Errorf("feed %v: want the seasonal product first", f.Items)
	}
}
