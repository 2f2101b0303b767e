package ranking

import (
	"math"
	"slices"
)

// rerank orders candidates by maximal marginal relevance, at most
// MaxPerBrand products of a brand per page, down to depth: each step takes
// the candidate of highest Relevance·rel − (1−Relevance)·maxSim, where
// maxSim is its greatest similarity to a product already taken (0.5 for
// the same category, 0.5 for the same brand), one under its brand's cap
// if there is any, the first of equals.
//
// Each candidate's value is kept in a compact array and computed again
// only when a product of its brand or category is taken (its maxSim is
// then 1 if a taken product has both, else 0.5): a step reads a few
// small arrays per candidate instead of the candidates themselves twice. The order is exactly the exhaustive one's.
// The result lives in sc until the request is done.
func (r *Ranker) rerank(cands []cand, depth, limit int, sc *scratch) []*cand {
	out := sc.order[:0]
	n := len(cands)
	rr := &sc.rr
	lambda := r.cfg.Relevance
	rr.prepare(cands, lambda)
	maxPer := int32(r.cfg.MaxPerBrand)
	val, taken, brand, onPage := rr.val, rr.taken, rr.brand, rr.onPage
	for len(out) < depth && len(out) < n {
		if len(out)%limit == 0 {
			clear(onPage) // a new page
		}
		best, bestV, capped, cappedV := -1, math.Inf(-1), -1, math.Inf(-1)
		for k, v := range val[:n] {
			if taken[k] {
				continue
			}
			if onPage[brand[k]] >= maxPer {
				if v > cappedV {
					capped, cappedV = k, v
				}
			} else if v > bestV {
				best, bestV = k, v
			}
		}
		if best < 0 {
			best = capped // only capped brands left
		}
		if best < 0 { // every value NaN: take them in order
			best = slices.Index(taken[:n], false)
		}
		cands[best].taken = true
		out = append(out, &cands[best])
		rr.take(best, cands, lambda)
	}
	sc.order = out
	return out
}

// rerankScratch is rerank's working memory: each candidate's value, brand,
// category and (category, brand) pair numbered densely, the pairs taken,
// and each brand's count on the page.
type rerankScratch struct {
	brands, cats, pairs slotTable
	val                 []float64
	taken               []bool
	brand, cat, pair    []int32 // per candidate; cat and pair -1 without a category
	pairTaken           []bool  // a taken product has the pair
	onPage              []int32 // by brand
}

func (rr *rerankScratch) prepare(cands []cand, lambda float64) {
	n := len(cands)
	rr.brands.reset(n)
	rr.cats.reset(n)
	rr.pairs.reset(n)
	rr.brand, rr.cat, rr.pair = grow(&rr.brand, n), grow(&rr.cat, n), grow(&rr.pair, n)
	rr.val, rr.taken = grow(&rr.val, n), grow(&rr.taken, n)
	for k := range cands {
		c := &cands[k]
		rr.brand[k] = rr.brands.slot(c.brand)
		rr.cat[k], rr.pair[k] = -1, -1
		if c.cat >= 0 {
			rr.cat[k] = rr.cats.slot(uint64(c.cat))
			rr.pair[k] = rr.pairs.slot(uint64(rr.brand[k])<<32 | uint64(rr.cat[k]))
		}
		rr.val[k] = lambda*c.rel - (1-lambda)*c.maxSim
		rr.taken[k] = c.taken
	}
	rr.pairTaken = grow(&rr.pairTaken, int(rr.pairs.n))
	rr.onPage = grow(&rr.onPage, int(rr.brands.n))
}

// take notes candidate t as taken and computes again the value of each
// candidate left that shares its brand or category.
func (rr *rerankScratch) take(t int, cands []cand, lambda float64) {
	b, c := rr.brand[t], rr.cat[t]
	rr.taken[t] = true
	rr.onPage[b]++
	if c >= 0 {
		rr.pairTaken[rr.pair[t]] = true
	}
	for k := range rr.val {
		if rr.taken[k] || rr.brand[k] != b && (c < 0 || rr.cat[k] != c) {
			continue
		}
		o := &cands[k]
		sim := 0.5
		if p := rr.pair[k]; p >= 0 && rr.pairTaken[p] {
			sim = 1
		}
		o.maxSim = max(o.maxSim, sim)
		rr.val[k] = lambda*o.rel - (1-lambda)*o.maxSim
	}
}

// slotTable numbers the distinct keys it is given 0, 1, 2, … as they come:
// an open-addressing table for a request's few dozen candidates, cheaper
// to clear and fill than a map.
type slotTable struct {
	keys  []uint64
	slots []int32 // 1 + the key's number; 0: empty
	n     int32
	shift uint
}

// reset empties t for up to n keys.
func (t *slotTable) reset(n int) {
	size, shift := 16, uint(64-4)
	for size < 2*n {
		size, shift = size*2, shift-1
	}
	if cap(t.keys) < size {
		t.keys, t.slots = make([]uint64, size), make([]int32, size)
	}
	t.keys, t.slots = t.keys[:size], t.slots[:size]
	clear(t.slots)
	t.n, t.shift = 0, shift
}

// slot returns k's number, numbering it if it is new.
func (t *slotTable) slot(k uint64) int32 {
	mask := uint64(len(t.slots) - 1)
	for h := (k * 0x9E3779B97F4A7C15) >> t.shift; ; h = (h + 1) & mask {
		switch s := t.slots[h]; {
		case s == 0:
			t.keys[h] = k
			t.n++
			t.slots[h] = t.n
			return t.n - 1
		case t.keys[h] == k:
			return s - 1
		}
	}
}

// splice puts the bought products due for a restock (restockPicks, in
// sc) at the top of the first page, then one fresh product (nobody has
// interacted with it yet) at the last position of each page: exploration,
// so new products get seen. Neither can be in order, which leaves the
// history out.
func splice(order []*cand, fresh []int32, sc *scratch, limit, depth int) []*cand {
	if sc.nRestock == 0 && (len(fresh) == 0 || limit < 5) {
		return order
	}
	out := make([]*cand, 0, len(order)+len(fresh)+sc.nRestock)
	for k := range sc.nRestock {
		out = append(out, &sc.restock[k])
	}
	if len(fresh) == 0 || limit < 5 {
		out = append(out, order...)
		return out[:min(len(out), depth)]
	}
	fk := 0
	for _, c := range order {
		if len(out)%limit == limit-1 && fk < len(fresh) {
			i := fresh[fk]
			fk++
			if !sc.seen(i) {
				out = append(out, &cand{item: i, fresh: true, score: math.Inf(-1)})
			}
		}
		out = append(out, c)
	}
	if len(out) > depth {
		out = out[:depth]
	}
	for _, c := range out {
		if c.fresh {
			c.score = 0
		}
	}
	return out
}
