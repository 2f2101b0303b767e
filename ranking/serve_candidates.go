package ranking

import (
	"hash/maphash"
	"math"
	"time"
)

// Candidates per request from the user's vector and from item neighbours.
const (
	personalCandidates  = 100
	neighbourCandidates = 100
	easeCandidates      = 100
	seasonCandidates    = 60 // of the largest FeatSeason
	trendingPerCategory = 40 // from each trending list, per top category
	trendingGlobal      = 60 // from each trending list, overall
)

// cand is one candidate product of a request.
type cand struct {
	item  int32
	cat   int32
	brand uint64
	f     Features
	score float64
	live  uint64 // influencer, if on air
	fresh bool
	// restock: a product the user bought, offered again because a restock
	// is due (score: Repurchase.Due).
	restock bool
	taken   bool    // placed by rerank
	rel     float64 // normalised score for MMR
	maxSim  float64
}

// feedCandidates gathers the request's candidates into sc (sc.ids, and
// sc.slot[i].cand for each): the user's nearest items in the index, the
// strongest item neighbours of the user's recent products, trending and
// recent products of the user's top categories and overall, the
// strongest EASE scores of the user's recent products, the products that
// sold most in the weeks ahead of this date a year ago, and the
// products on air. Neither the user's history nor out-of-stock products
// become candidates. It returns the products on air (as the model's
// items, with their influencer) and a few fresh products of the top
// categories for splice, kept in sc.fresh.
func (r *Ranker) feedCandidates(m *Model, usr *user, userID uint64, now time.Time, sc *scratch) (onAir []onAirItem, fresh []int32) {
	// The history is marked first: from then on one lookup says "already
	// a candidate or excluded".
	for _, i := range usr.exclude {
		sc.see(i)
	}
	m.neighbourScores(usr, sc)

	nan := float32(math.NaN())
	add := func(i int32) {
		if !m.item[i].inStock || !sc.see(i) {
			return
		}
		sc.slot[i].cand = int32(len(sc.ids))
		sc.ids = append(sc.ids, i)
		sc.factor = append(sc.factor, nan)
	}
	if usr.x != nil {
		for _, h := range m.Index.search(m.Factors, usr.x, personalCandidates, r.cfg.Probe, r.cfg.ScanBudget, sc.seen, &sc.search) {
			n := len(sc.ids)
			add(h.item)
			if m.Index != nil && len(sc.ids) > n {
				sc.factor[n] = float32(h.score) // the index's float32 x·y, as scoreCandidates computes it
			}
		}
	}
	if len(sc.touched) > 0 {
		// The strongest of either feature, gathered in one pass and
		// selected in no particular order: scoring decides their order.
		nb, ease := sc.selNb[:0], sc.selEase[:0]
		for _, i := range sc.touched {
			e := &sc.nb[i]
			if e.score > 0 {
				nb = append(nb, scored{i, float64(e.score)})
			}
			if e.ease > 0 {
				ease = append(ease, scored{i, float64(e.ease)})
			}
		}
		sc.selNb, sc.selEase = nb, ease
		for _, h := range selectTop(nb, neighbourCandidates) {
			add(h.item)
		}
		for _, h := range selectTop(ease, easeCandidates) {
			add(h.item)
		}
	}
	cats := usr.topCats
	if len(cats) == 0 {
		cats = m.topCats
	}
	cats = cats[:min(3, len(cats))]
	for _, t := range []*Trending{m.Trending, m.Recent} {
		for _, c := range cats {
			if int(c) < len(t.ByCategory) {
				bc := t.ByCategory[c]
				for _, i := range bc[:min(trendingPerCategory, len(bc))] {
					add(i)
				}
			}
		}
		for _, i := range t.Global[:min(trendingGlobal, len(t.Global))] {
			add(i)
		}
	}
	for _, i := range m.seasonTop {
		add(i)
	}
	onAir = r.lives.onAirItems(now, m)
	for _, o := range onAir {
		add(o.item)
	}
	fresh = sc.fresh[:0]
	h := maphash.Comparable(r.seed, userID) // per-user rotation through the fresh products
	for _, c := range cats[:min(2, len(cats))] {
		fl := m.fresh[c]
		for k := range min(3, len(fl)) {
			fresh = append(fresh, fl[(int(h%uint64(len(fl)))+k)%len(fl)])
		}
	}
	sc.fresh = fresh
	return onAir, fresh
}
