package sim

import (
	"slices"
	"time"

	"github.com/vetrina/vetrina/event"
)

// Live is one live-stream sale scheduled by a Generator, with the true
// expectations of what the generator will produce for it.
type Live struct {
	ID           uint64 `json:"id"`
	InfluencerID uint64 `json:"influencer_id"`
	// SponsorBrandID is the sponsoring brand, 0 for an organic live.
	SponsorBrandID uint64        `json:"sponsor_brand_id"`
	Start          time.Time     `json:"start"`
	Duration       time.Duration `json:"duration_ns"`
	// ProductIDs are showcased in order, each for an equal share of the
	// live. The slice must not be modified.
	ProductIDs []uint64 `json:"product_ids"`
	// Fee is what the sponsor pays the influencer (0 for organic lives).
	Fee float64 `json:"fee"`
	// ExpectedViewers is the expected number of live view events, bots
	// included.
	ExpectedViewers float64 `json:"expected_viewers"`
	// ExpectedPurchases is the expected number of purchase events
	// attributed to the live.
	ExpectedPurchases float64 `json:"expected_purchases"`
	// TrueExpectedGMV is the expected sum of quantity*unit_price over the
	// purchases attributed to the live, in EUR.
	TrueExpectedGMV float64 `json:"true_expected_gmv"`
}

// End returns when the live ends.
func (l Live) End() time.Time { return l.Start.Add(l.Duration) }

var liveMinutes = [...]int64{30, 45, 60, 60, 90, 120}

// liveState is a live in progress.
type liveState struct {
	id       uint64
	infl     int
	start    int64 // nanoseconds since the generator start
	end      int64
	rate     float64 // views per simulated second
	products []uint32
	fake     float64
	burst    uint16
	audience aliasTable
}

// startLive schedules a live at g.clock and computes its expectations.
func (g *Generator) startLive() {
	w := g.w
	ii := -1
	for range 8 {
		if c := g.rng.IntN(len(w.Influencers)); g.busyUntil[c] <= g.clock {
			ii = c
			break
		}
	}
	if ii < 0 {
		return // everyone we asked is already live
	}
	in := &w.Influencers[ii]
	sponsored := g.rng.Float64() < w.Config.SponsoredShare
	dur := liveMinutes[g.rng.IntN(len(liveMinutes))] * int64(time.Minute)
	k := 3 + g.rng.IntN(6)
	var (
		products []uint32
		sponsor  uint64
		fee      float64
	)
	if sponsored {
		bi := g.pickSponsor(ii)
		sponsor, fee = uint64(bi+1), in.Fee
		bp := w.idx.brandProducts[bi]
		appeal := make([]float64, len(bp))
		for j, pi := range bp {
			appeal[j] = w.Products[pi].Appeal
		}
		for _, j := range pickDistinct(g.rng, appeal, k) {
			products = append(products, bp[j])
		}
	} else {
		products = g.organicProducts(ii, k)
	}

	var ls *liveState
	if n := len(g.free); n > 0 {
		ls, g.free = g.free[n-1], g.free[:n-1]
	} else {
		ls = new(liveState)
	}
	perHour := w.LiveViewsPerHour(in.ID)
	*ls = liveState{
		id:       uint64(len(g.lives) + 1),
		infl:     ii,
		start:    g.clock,
		end:      g.clock + dur,
		rate:     perHour / 3600,
		products: products,
		fake:     in.FakeShare,
		burst:    uint16(g.burst + g.rng.IntN(len(chatBursts))),
		audience: ls.audience,
	}
	var cats []int
	for _, pi := range products {
		if c := int(w.idx.productCat[pi]); !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	total := g.audienceWeights(ii, cats)
	ls.audience.build(g.aud.weights, g.work)

	live := Live{
		ID:             ls.id,
		InfluencerID:   in.ID,
		SponsorBrandID: sponsor,
		Start:          g.start.Add(time.Duration(g.clock)),
		Duration:       time.Duration(dur),
		ProductIDs:     make([]uint64, len(products)),
		Fee:            fee,
	}
	for j, pi := range products {
		live.ProductIDs[j] = uint64(pi + 1)
	}
	live.ExpectedViewers, live.ExpectedPurchases, live.TrueExpectedGMV = w.expectLive(&g.aud, ii, products, time.Duration(dur), total)
	g.lives = append(g.lives, live)
	g.liveStartMS = append(g.liveStartMS, 0)
	g.active = append(g.active, ls)
	g.busyUntil[ii] = ls.end
	// Its catalog messages, in the stream at its start and end: the start
	// before any of its views, the end after all of them (views stop at
	// the boundary) and before the chats and purchases that trail it.
	g.push(pending{t: ls.start, live: ls.id, kind: event.KindLive})
	g.push(pending{t: ls.end, live: ls.id, kind: event.KindLive, ended: true})
}

// meanBuyProb is World.meanBuyProb over the audience of the live being
// scheduled (see audienceWeights).
func (g *Generator) meanBuyProb(a float64, c int, total float64, exact bool) float64 {
	return g.w.meanBuyProb(&g.aud, a, c, total, exact)
}

// audienceWeights fills the generator's audience scratch for a live of
// influencer ii (see World.audienceWeights) and returns the sum of the
// weights.
func (g *Generator) audienceWeights(ii int, cats []int) float64 {
	return g.w.audienceWeights(&g.aud, ii, cats)
}

// pickSponsor draws the sponsor brand of a live of influencer ii, favouring
// brands that share the influencer's categories.
func (g *Generator) pickSponsor(ii int) int {
	w := g.w
	if g.brandWeights == nil {
		g.brandWeights = make([]float64, len(w.Brands))
	}
	for bi, cats := range w.idx.brandCats {
		x := 0.1
		for _, c := range cats {
			for _, ic := range w.idx.inflCats[ii] {
				if c == ic {
					x++
				}
			}
		}
		g.brandWeights[bi] = x
	}
	return pickWeighted(g.rng, g.brandWeights)
}

// organicProducts draws k distinct products of influencer ii's categories,
// weighted like the browse surfaces.
func (g *Generator) organicProducts(ii, k int) []uint32 {
	w := g.w
	cats := w.idx.inflCats[ii]
	var out []uint32
	for range 4 * k {
		if len(out) == k {
			break
		}
		c := cats[g.rng.IntN(len(cats))]
		if len(w.idx.catProducts[c]) == 0 {
			c = w.idx.nonEmptyCats[g.rng.IntN(len(w.idx.nonEmptyCats))]
		}
		pi := w.idx.catProducts[c][w.catAlias[c].sample(g.rng)]
		dup := false
		for _, q := range out {
			dup = dup || q == pi
		}
		if !dup {
			out = append(out, pi)
		}
	}
	return out
}
