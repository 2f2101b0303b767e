package ranking

import (
	"math"
)

// rerank orders candidates by maximal marginal relevance, at most
// MaxPerBrand products of a brand per page, down to depth.
// The result lives in sc until the request is done.
func (r *Ranker) rerank(cands []cand, depth, limit int, sc *scratch) []*cand {
	out := sc.order[:0]
	// Each candidate's brand gets a small slot number once, so that the
	// page's count of a brand is an array read in the loops below.
	slots := grow(&sc.slots, len(cands))
	brands := sc.brands[:0]
	if sc.slotOf == nil {
		sc.slotOf = map[uint64]int32{}
	}
	clear(sc.slotOf)
	for k := range cands {
		j, ok := sc.slotOf[cands[k].brand]
		if !ok {
			j = int32(len(brands))
			brands = append(brands, cands[k].brand)
			sc.slotOf[cands[k].brand] = j
		}
		slots[k] = j
	}
	sc.brands = brands
	onPage := grow(&sc.onPage, len(brands))
	maxPer := int32(r.cfg.MaxPerBrand)
	lambda := r.cfg.Relevance
	for len(out) < depth && len(out) < len(cands) {
		if len(out)%limit == 0 {
			clear(onPage) // a new page
		}
		best, bestV, capped, cappedV := -1, math.Inf(-1), -1, math.Inf(-1)
		for k := range cands {
			c := &cands[k]
			if c.taken {
				continue
			}
			v := lambda*c.rel - (1-lambda)*c.maxSim
			if onPage[slots[k]] >= maxPer {
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
		c := &cands[best]
		c.taken = true
		out = append(out, c)
		onPage[slots[best]]++
		for k := range cands {
			o := &cands[k]
			if o.taken || o.maxSim == 1 {
				continue
			}
			sim := 0.0
			if c.cat >= 0 && o.cat == c.cat {
				sim += 0.5
			}
			if slots[k] == slots[best] {
				sim += 0.5
			}
			o.maxSim = max(o.maxSim, sim)
		}
	}
	sc.order = out
	return out
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
