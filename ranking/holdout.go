package ranking

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Holdout examples: per user at most this many negatives of each sort.
const (
	holdoutUsers     = 5000
	negativesPerSort = 20
	minPositives     = 50
)

// learnBlendOnHoldout trains the parts on the data up to cut and learns the
// blend from what users did after it: their products after the cut are the
// positives (purchases when there are enough, else any interaction), and
// the negatives are the products each part ranks highest for the user but
// the user did not touch, plus random ones.
func learnBlendOnHoldout(ctx context.Context, d *Dataset, cut int64, cfg TrainConfig) (Blend, error) {
	past, future := SplitAt(d, cut)
	sub, err := trainParts(ctx, past, cfg)
	if err != nil {
		return Blend{}, fmt.Errorf("learn blend: %w", err)
	}
	x, y := holdoutExamples(sub, future, cfg.Seed)
	b, err := LearnBlend(x, y, 1e-3)
	if err != nil {
		return Blend{}, fmt.Errorf("learn blend on the last %.0f%% of the timeline: %w", cfg.BlendHoldout*100, err)
	}
	return b, nil
}

// Future is what users did after a cut: per user id, the dense items (of
// the past dataset's item space) and whether they were bought.
type Future map[uint64][]FutureItem

// FutureItem is one product a user touched after the cut.
type FutureItem struct {
	Item   int32
	Bought bool
}

// SplitAt splits d at cut (Unix seconds): the past holds every pair whose
// last interaction is at or before cut, the future every pair whose first
// interaction is after it. Both use d's item space (same dense indexes).
func SplitAt(d *Dataset, cut int64) (*Dataset, Future) {
	b := NewBuilder()
	for _, it := range d.Items {
		b.AddItem(it)
	}
	fut := Future{}
	for u := range d.Users {
		items, sigs := d.UserRow(int32(u))
		for k, i := range items {
			s := sigs[k]
			switch {
			case int64(s.First) > cut:
				fut[d.Users[u]] = append(fut[d.Users[u]], FutureItem{Item: i, Bought: s.Purchases > 0})
			case int64(s.Last) <= cut:
				b.AddSignal(d.Users[u], d.Items[i].ID, s)
			}
		}
	}
	return b.Build(), fut
}

func holdoutExamples(m *Model, fut Future, seed int64) ([]Features, []bool) {
	bought := 0
	for _, its := range fut {
		for _, it := range its {
			if it.Bought {
				bought++
			}
		}
	}
	purchasesOnly := bought >= minPositives
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	n := m.Data.NumItems()
	factor := make([]float64, n)
	var xs []Features
	var ys []bool
	users := 0
	for id, its := range fut {
		u, ok := m.Data.UserIndex(id)
		if !ok {
			continue
		}
		pos := map[int32]bool{}
		for _, it := range its {
			if it.Bought || !purchasesOnly {
				pos[it.Item] = true
			}
		}
		if len(pos) == 0 {
			continue
		}
		if users++; users > holdoutUsers {
			break
		}
		items, sigs := m.Data.UserRow(u)
		usr := m.userFrom(items, sigs, m.Factors.UserVec(u))
		nb := m.denseFeatures(usr, factor)
		seen := map[int32]bool{}
		add := func(i int32) {
			if usr.exclude[i] || seen[i] {
				return
			}
			seen[i] = true
			var f Features
			m.fillDense(usr, i, factor, nb, &f)
			xs = append(xs, f)
			ys = append(ys, pos[i])
		}
		for i := range pos {
			add(i)
		}
		for _, score := range [][]float64{factor, nb, m.trendFeat} {
			for _, i := range topN(score, negativesPerSort+len(pos)+len(usr.exclude)) {
				if !pos[i] {
					add(i)
				}
			}
		}
		for range negativesPerSort {
			if i := int32(rng.IntN(n)); !pos[i] {
				add(i)
			}
		}
	}
	return xs, ys
}
