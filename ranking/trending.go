package ranking

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Sizes of the trending lists.
const (
	TrendingGlobal      = 1000 // items in Trending.Global
	TrendingPerCategory = 500  // items in each Trending.ByCategory list
)

// Trending is time-decayed popularity: recent strong interactions count
// most. The fields are exported so that encoding/gob can snapshot it.
type Trending struct {
	Now      int64   // Unix seconds the decay is measured from
	HalfLife float64 // seconds; ≤ 0 means no decay

	// Score is, per dense item, Σ over its pairs of
	// Strength(signal)·2^(−(Now−signal.Last)/HalfLife). A pair counts as of
	// its last interaction (its earlier events are not dated separately);
	// pairs after Now count as of Now.
	Score []float64

	// Global is the best items overall, best first, at most
	// TrendingGlobal; items with score 0 are left out. Ties go to the
	// lower item index. Stock is not considered: serving filters it.
	Global []int32

	// ByCategory[c] is the best items of category Categories[c], like
	// Global but at most TrendingPerCategory.
	ByCategory [][]int32
}

// BuildTrending scores every item of d by decayed strength as of now.
func BuildTrending(d *Dataset, now int64, halfLife time.Duration, w Weights) *Trending {
	if w == (Weights{}) {
		w = DefaultWeights()
	}
	t := &Trending{
		Now:      now,
		HalfLife: halfLife.Seconds(),
		Score:    make([]float64, d.NumItems()),
	}
	for u := range d.NumUsers() {
		items, sigs := d.UserRow(int32(u))
		for n, it := range items {
			t.Score[it] += w.Strength(sigs[n]) * t.decay(int64(sigs[n].Last))
		}
	}
	var scored []int32
	byCat := make([][]int32, len(d.Categories))
	for i, c := range d.ItemCategory {
		if t.Score[i] <= 0 {
			continue
		}
		scored = append(scored, int32(i))
		if c >= 0 {
			byCat[c] = append(byCat[c], int32(i))
		}
	}
	t.Global = topScored(t.Score, scored, TrendingGlobal)
	t.ByCategory = make([][]int32, len(d.Categories))
	for c, items := range byCat {
		t.ByCategory[c] = topScored(t.Score, items, TrendingPerCategory)
	}
	return t
}

// decay is the weight of an event at unix seconds.
func (t *Trending) decay(unix int64) float64 {
	if t.HalfLife <= 0 {
		return 1
	}
	age := float64(max(t.Now-unix, 0))
	return math.Exp2(-age / t.HalfLife)
}

// topScored returns the at most n best of items, best first, ties by
// index. It reorders items.
func topScored(score []float64, items []int32, n int) []int32 {
	slices.SortFunc(items, func(a, b int32) int {
		return cmp.Or(cmp.Compare(score[b], score[a]), cmp.Compare(a, b))
	})
	return slices.Clip(items[:min(n, len(items))])
}

// Popularity counts, per dense item, the distinct users whose last
// interaction with it is at or after since (Unix seconds; 0 counts all).
// It is the baseline the other models must beat.
func Popularity(d *Dataset, since int64) []float64 {
	p := make([]float64, d.NumItems())
	for k, it := range d.UserItems {
		if int64(d.Signals[k].Last) >= since {
			p[it]++
		}
	}
	return p
}

// ItemStats are per-item numbers of the training data that the blend reads
// besides trending: how many users an item has and how it sold a year
// before. The fields are exported for encoding/gob.
type ItemStats struct {
	// Users is, per dense item, the number of distinct users.
	Users []float32
	// Season is, per dense item, the strength of its pairs whose first or
	// last interaction fell in the window of SeasonWindow seconds that
	// starts one year (365 days) before Now: what sold in the weeks ahead
	// of this date a year ago (the holiday season, say). All 0 when the
	// data do not reach back a year.
	Season       []float32
	SeasonWindow float64
	Now          int64
}

// year is the seasonal period, in seconds.
const year = 365 * 24 * 3600

// BuildItemStats counts d's users per item and the seasonal strength of
// the window [now − year, now − year + window].
func BuildItemStats(d *Dataset, now int64, window time.Duration, w Weights) *ItemStats {
	if w == (Weights{}) {
		w = DefaultWeights()
	}
	s := &ItemStats{Users: make([]float32, d.NumItems()), Season: make([]float32, d.NumItems()), SeasonWindow: window.Seconds(), Now: now}
	lo, hi := now-year, now-year+int64(window.Seconds())
	in := func(t uint32) bool { return int64(t) >= lo && int64(t) <= hi }
	for k, it := range d.UserItems {
		s.Users[it]++
		if sig := d.Signals[k]; window > 0 && (in(sig.First) || in(sig.Last)) {
			s.Season[it] += float32(w.Strength(sig))
		}
	}
	return s
}
