package offline

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Cut-offs of the ranking metrics.
const (
	NDCGAt     = 10
	RecallAt   = 20
	CoverageAt = 10
)

// Marks of catalog items for one user's ranking.
const (
	markNone     uint8 = iota
	markExcluded       // in the user's training history: not ranked
	markRelevant       // a test item of the user
)

// ranked is one item of a top-k list.
type ranked struct {
	item  int32
	score float64
	rel   bool
}

// worse orders ranked items: lower score first; at equal scores a relevant
// item is worse than an irrelevant one (ties never flatter a model: a
// model that scores everything alike gets no hits), then higher index.
func worse(a, b ranked) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.rel != b.rel {
		return a.rel
	}
	return a.item > b.item
}

// topK returns the k best items of scores that are not excluded, best
// first, into buf. Ties are broken as in worse. NaN scores count as -Inf.
func topK(scores []float64, mark []uint8, k int, buf []ranked) []ranked {
	h := buf[:0]
	for i, s := range scores {
		if mark[i] == markExcluded {
			continue
		}
		if math.IsNaN(s) {
			s = math.Inf(-1)
		}
		r := ranked{item: int32(i), score: s, rel: mark[i] == markRelevant}
		if len(h) < k {
			h = append(h, r)
			siftUp(h, len(h)-1)
			continue
		}
		if worse(h[0], r) {
			h[0] = r
			siftDown(h, 0)
		}
	}
	// Heap-sort in place: the worst goes to the end each round.
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		siftDown(h[:n], 0)
	}
	return h
}

// siftUp and siftDown maintain a min-heap under worse (the root is the
// worst of the kept items).
func siftUp(h []ranked, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []ranked, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// NDCG is the normalised discounted cumulative gain at k of a ranking with
// binary relevance: rel[r] tells whether the item at rank r+1 is relevant,
// nRel is the number of relevant items in all.
func NDCG(rel []bool, nRel, k int) float64 {
	if nRel == 0 {
		return 0
	}
	var dcg, ideal float64
	for r := 0; r < k && r < len(rel); r++ {
		if rel[r] {
			dcg += 1 / math.Log2(float64(r)+2)
		}
	}
	for r := 0; r < k && r < nRel; r++ {
		ideal += 1 / math.Log2(float64(r)+2)
	}
	return dcg / ideal
}

// Recall is the share of relevant items in the top k, out of min(k, nRel):
// a user with more relevant items than k can still reach 1, so users with
// long test windows do not drag the mean down for a reason no model can
// help.
func Recall(rel []bool, nRel, k int) float64 {
	if nRel == 0 {
		return 0
	}
	hits := 0
	for r := 0; r < k && r < len(rel); r++ {
		if rel[r] {
			hits++
		}
	}
	return float64(hits) / float64(min(k, nRel))
}

// ReciprocalRank returns 1/rank of the first relevant item of the full
// ranking of scores (excluded items removed), in O(n): the rank is one
// plus the number of non-relevant, non-excluded items that score at least
// as high as the best relevant item (ties count against the model, as in
// worse). NaN scores count as -Inf. It returns 0 if no item is relevant.
func ReciprocalRank(scores []float64, mark []uint8) float64 {
	best, any := math.Inf(-1), false
	for i, s := range scores {
		if mark[i] == markRelevant {
			any = true
			if s > best { // NaN never wins
				best = s
			}
		}
	}
	if !any {
		return 0
	}
	above := 0
	for i, s := range scores {
		if mark[i] != markNone {
			continue
		}
		if math.IsNaN(s) {
			s = math.Inf(-1)
		}
		if s >= best {
			above++
		}
	}
	return 1 / float64(above+1)
}

// Coverage is the share of a catalog of n items that appears in at least
// one of the top lists.
func Coverage(tops [][]int32, n int) float64 {
	if n == 0 {
		return 0
	}
	seen := make([]bool, n)
	distinct := 0
	for _, top := range tops {
		for _, i := range top {
			if !seen[i] {
				seen[i] = true
				distinct++
			}
		}
	}
	return float64(distinct) / float64(n)
}

// Estimate is a mean with a 95% bootstrap confidence interval.
type Estimate struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Bootstrap resamples clusters with replacement: each value (one model's
// metric for one evaluation row) belongs to the cluster (user) of its row,
// and a resample draws as many clusters as there are, keeping all the rows
// of each drawn cluster. Rows of one user at several cut points are thus
// resampled together, as they are not independent. All estimates of one
// Bootstrap use the same resamples, so differences are paired.
type Bootstrap struct {
	clusters int
	draws    [][]int32 // per resample, how often each cluster is drawn
}

// NewBootstrap prepares resamples (1000 if <= 0) of clusters clusters,
// seeded: the same seed gives the same intervals.
func NewBootstrap(clusters, resamples int, seed uint64) *Bootstrap {
	if resamples <= 0 {
		resamples = 1000
	}
	rng := rand.New(rand.NewPCG(seed, 0x0ff11e))
	b := &Bootstrap{clusters: clusters, draws: make([][]int32, resamples)}
	for r := range b.draws {
		c := make([]int32, clusters)
		for range clusters {
			c[rng.IntN(clusters)]++
		}
		b.draws[r] = c
	}
	return b
}

// Mean returns the mean of values (one per row) with its 95% percentile
// bootstrap interval; cluster[i] in [0, clusters) is row i's cluster.
func (b *Bootstrap) Mean(values []float64, cluster []int32) Estimate {
	return b.Diff(values, nil, cluster)
}

// Diff returns the mean of x[i]-y[i] with its paired 95% bootstrap
// interval (both resampled with the same draws). With y nil it is the mean
// of x.
func (b *Bootstrap) Diff(x, y []float64, cluster []int32) Estimate {
	if len(x) == 0 || b.clusters == 0 {
		return Estimate{}
	}
	sums := make([]float64, b.clusters)
	counts := make([]float64, b.clusters)
	var total float64
	for i, v := range x {
		if y != nil {
			v -= y[i]
		}
		sums[cluster[i]] += v
		counts[cluster[i]]++
		total += v
	}
	means := make([]float64, len(b.draws))
	for r, c := range b.draws {
		var s, n float64
		for k, m := range c {
			if m != 0 {
				s += float64(m) * sums[k]
				n += float64(m) * counts[k]
			}
		}
		if n > 0 {
			means[r] = s / n
		}
	}
	slices.Sort(means)
	return Estimate{Mean: total / float64(len(x)), Lo: quantile(means, 0.025), Hi: quantile(means, 0.975)}
}

// quantile returns the q-quantile of sorted xs by linear interpolation.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	p := q * float64(len(xs)-1)
	i := int(p)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := p - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}
