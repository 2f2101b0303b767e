package ranking

import (
	"math"
	"slices"
)

// Repurchase is what the data say about buying the same product again, per
// category: how often a bought product is bought again, and after how
// long. Signals aggregate a user's purchases of a product (count, first
// and last time), so a pair bought n ≥ 2 times shows n−1 repurchases at a
// mean interval of (last − first)/(n − 1). The fields are exported for
// encoding/gob.
type Repurchase struct {
	// Rate[c] is the share of the bought pairs of category c (the last
	// index: no category) that were bought again, smoothed towards the
	// global share with the weight of repurchasePrior pairs.
	Rate []float32
	// Interval[c] is the median repurchase interval of category c in
	// seconds (the global median when the category has fewer than
	// repurchaseMinPairs repeated pairs).
	Interval []float32
	// GlobalRate and GlobalInterval are over all categories.
	GlobalRate, GlobalInterval float64
}

// DefaultRestockDue is the restock score from which the feed offers a
// bought product again (TrainConfig.RestockDue): the threshold the offline
// evaluation tunes on the Complete Journey sample with --repeats.
const DefaultRestockDue = 0.1

// maxRestock is how many bought products due for a restock the feed
// offers, at the top of its first page.
const maxRestock = 3

const (
	// repurchasePrior is the weight, in bought pairs, of the global
	// repurchase rate in a category's.
	repurchasePrior = 20
	// repurchaseMinPairs is how many repeated pairs a category needs for an
	// interval of its own.
	repurchaseMinPairs = 5
	// minInterval floors an interval: repurchases within an hour are one
	// basket, not a restock.
	minInterval = 3600
)

// BuildRepurchase measures repurchases in d.
func BuildRepurchase(d *Dataset) *Repurchase {
	nc := len(d.Categories) + 1
	bought := make([]float64, nc)
	again := make([]float64, nc)
	ivs := make([][]float64, nc)
	var all []float64
	totalBought, totalAgain := 0.0, 0.0
	for k, s := range d.Signals {
		if s.Purchases == 0 {
			continue
		}
		c := d.ItemCategory[d.UserItems[k]]
		if c < 0 {
			c = int32(nc - 1)
		}
		bought[c]++
		totalBought++
		if s.Purchases >= 2 && s.Last > s.First {
			again[c]++
			totalAgain++
			iv := max(float64(s.Last-s.First)/float64(s.Purchases-1), minInterval)
			ivs[c] = append(ivs[c], iv)
			all = append(all, iv)
		}
	}
	r := &Repurchase{Rate: make([]float32, nc), Interval: make([]float32, nc)}
	if totalBought > 0 {
		r.GlobalRate = totalAgain / totalBought
	}
	r.GlobalInterval = median(all)
	for c := range nc {
		r.Rate[c] = float32((again[c] + repurchasePrior*r.GlobalRate) / (bought[c] + repurchasePrior))
		r.Interval[c] = float32(r.GlobalInterval)
		if len(ivs[c]) >= repurchaseMinPairs {
			r.Interval[c] = float32(median(ivs[c]))
		}
	}
	return r
}

// median returns the median of xs (reordered), 0 if empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Due scores how due a restock is for a user who bought a product of
// category c (−1: none) with signal s, at Unix time now: the category's
// repurchase rate times x·e^(1−x), x being the time since the last
// purchase over the category's interval (1 when exactly one interval has
// passed, less before and after), times 1 + log(purchases) (a product
// bought often is bought again). 0 if the user never bought it or the
// data show no repurchases.
func (r *Repurchase) Due(c int32, s Signal, now int64) float64 {
	if s.Purchases == 0 || r == nil || len(r.Rate) == 0 {
		return 0
	}
	if c < 0 || int(c) >= len(r.Rate)-1 {
		c = int32(len(r.Rate) - 1)
	}
	iv := float64(r.Interval[c])
	if iv <= 0 {
		return 0
	}
	x := float64(max(now-int64(s.Last), 0)) / iv
	return float64(r.Rate[c]) * x * math.Exp(1-x) * (1 + math.Log(float64(s.Purchases)))
}

// restockPicks keeps in sc the (at most maxRestock) products of the
// user's history, bought and in stock, whose restock score at now is at
// least m.RestockDue, most due first.
func (m *Model) restockPicks(usr *user, now int64, sc *scratch) {
	sc.nRestock = 0
	if m.Repurchase == nil || m.RestockDue <= 0 || len(usr.sigs) != len(usr.exclude) {
		return
	}
	for k, i := range usr.exclude {
		s := usr.sigs[k]
		if s.Purchases == 0 || !m.item[i].inStock {
			continue
		}
		due := m.Repurchase.Due(m.item[i].cat, s, now)
		if due < m.RestockDue {
			continue
		}
		// Insertion into the short list, most due first.
		n := sc.nRestock
		if n == maxRestock && due <= sc.restock[n-1].score {
			continue
		}
		j := min(n, maxRestock-1)
		for j > 0 && due > sc.restock[j-1].score {
			sc.restock[j] = sc.restock[j-1]
			j--
		}
		sc.restock[j] = cand{item: i, cat: m.item[i].cat, score: due, restock: true}
		sc.nRestock = min(n+1, maxRestock)
	}
}
