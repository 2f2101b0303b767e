package ranking

import (
	"cmp"
	"math"
	"slices"
)

// scoreCandidates fills in the features and blend score of every candidate
// of sc.ids (feedCandidates), adds the live boost to those on air, and
// normalises the scores to [0, 1] as rerank's relevance. The candidates
// live in sc, in the order of sc.ids.
func (m *Model) scoreCandidates(usr *user, onAir []onAirItem, sc *scratch) []cand {
	var x32 []float32
	if m.Index != nil && usr.x != nil {
		x32 = grow(&sc.x32, len(usr.x))
		for j, v := range usr.x {
			x32[j] = float32(v)
		}
	}
	if x32 != nil {
		sc.prefetched = m.Index.prefetch(sc.ids, sc.factor)
	}
	cands := grow(&sc.cands, len(sc.ids))
	w := m.Blend.For(len(usr.exclude))
	for k := range cands {
		c := &cands[k]
		*c = cand{item: sc.ids[k]}
		if x32 != nil {
			// The index's float32 copy: half the memory traffic of x·y;
			// the search's own products are not computed again.
			nb := &sc.nb[c.item]
			xy := sc.factor[k]
			if xy != xy { // NaN: not from the search
				xy = dot32(x32, m.Index.vec(c.item))
			}
			m.fill(usr, c.item, float64(xy), float64(nb.score), float64(nb.ease), &c.f)
		} else {
			m.features(usr, c.item, sc, &c.f)
		}
		c.score = m.Blend.ScoreWith(w, &c.f)
	}
	for _, o := range onAir {
		if i := o.item; sc.seen(i) {
			if k := sc.slot[i].cand; int(k) < len(cands) && cands[k].item == i {
				cands[k].live = o.influencer
				cands[k].score += m.Blend.LiveBoost
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := range cands {
		lo, hi = math.Min(lo, cands[k].score), math.Max(hi, cands[k].score)
	}
	for k := range cands {
		c := &cands[k]
		c.rel = 1
		if hi > lo {
			c.rel = (c.score - lo) / (hi - lo)
		}
	}
	return cands
}

// keepStrongest is the top-k selection before rerank. Diversity only
// reorders the strongest, so of more than 3× depth (at least 60)
// candidates it keeps that many, highest score first; fewer stay as they
// are. It then notes each kept candidate's category and brand, which rerank
// compares. The result lives in sc.
func (m *Model) keepStrongest(cands []cand, depth int, sc *scratch) []cand {
	if keep := max(3*depth, 60); len(cands) > keep {
		all := grow(&sc.selCand, len(cands))
		for k := range cands {
			all[k] = scored{int32(k), cands[k].score}
		}
		top := selectTop(all, keep)
		slices.SortFunc(top, func(a, b scored) int {
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
			return cmp.Compare(a.item, b.item)
		})
		kept := grow(&sc.kept, len(top))
		for k, t := range top {
			kept[k] = cands[t.item]
		}
		cands = kept
	}
	for k := range cands {
		c := &cands[k]
		c.cat, c.brand = m.item[c.item].cat, m.Data.Items[c.item].Brand
	}
	return cands
}
