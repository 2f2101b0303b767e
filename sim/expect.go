package sim

import (
	"fmt"
	"math"
	"time"
)

// MeanLiveDuration is the mean duration of a live: the generator draws it
// uniformly from 30, 45, 60, 60, 90 and 120 minutes.
var MeanLiveDuration = func() time.Duration {
	var s int64
	for _, m := range liveMinutes {
		s += m
	}
	return time.Duration(s) * time.Minute / time.Duration(len(liveMinutes))
}()

// audienceScratch holds the audience of one live: the weight of each user
// as a real viewer and, for some categories, the weighted sum of the
// users' taste for the category.
type audienceScratch struct {
	weights  []float64 // per user
	catTaste []float64 // per category
}

func newAudienceScratch(w *World) audienceScratch {
	return audienceScratch{weights: make([]float64, len(w.Users)), catTaste: make([]float64, len(w.Config.Categories))}
}

// audienceWeights fills a.weights with the probability weights of each
// user being a real viewer of a live of influencer ii (0 for bots, whose
// Activity is 0), and a.catTaste[c], for each c in cats, with the weighted
// sum of the users' taste for category c; it returns the sum of the
// weights.
func (w *World) audienceWeights(a *audienceScratch, ii int, cats []int) float64 {
	in := &w.Influencers[ii]
	country := w.idx.inflCountry[ii]
	nc := len(in.AudienceTastes)
	aud := in.AudienceTastes
	for _, c := range cats {
		a.catTaste[c] = 0
	}
	tastes, activity, userCountry := w.idx.tastes, w.idx.activity, w.idx.userCountry
	weights := a.weights[:len(activity)]
	var total float64
	for ui, act := range activity {
		if act == 0 {
			weights[ui] = 0
			continue
		}
		t := tastes[ui*nc : ui*nc+nc]
		_ = aud[len(t)-1]
		var aff float64
		for c, x := range t {
			aff += x * aud[c]
		}
		x := act * aff * aff
		if userCountry[ui] != country {
			x *= foreignAudience
		}
		weights[ui] = x
		total += x
		for _, c := range cats {
			a.catTaste[c] += x * t[c]
		}
	}
	return total
}

// meanBuyProb returns the mean over the audience in a (of sum total) of
// min(maxBuyProb, x*taste) for category c: the purchase probability of a
// real viewer of a product whose other factors multiply to x. Tastes are
// at most 1, so unless x exceeds the cap (or exact is set) it is x times
// the audience's mean taste for c, from a.catTaste; otherwise it is summed
// user by user.
func (w *World) meanBuyProb(a *audienceScratch, x float64, c int, total float64, exact bool) float64 {
	if !(total > 0) {
		return 0
	}
	if x <= maxBuyProb && !exact {
		return x * a.catTaste[c] / total
	}
	nc := len(w.Config.Categories)
	tastes := w.idx.tastes
	var s float64
	for ui, wu := range a.weights {
		if wu != 0 {
			s += wu * min(maxBuyProb, x*tastes[ui*nc+c])
		}
	}
	return s / total
}

// buyProb is the mean purchase probability of a real viewer of product pi
// in a live of influencer ii, whose audience is in a (see meanBuyProb).
func (w *World) buyProb(a *audienceScratch, ii int, pi uint32, total float64) float64 {
	p := &w.Products[pi]
	return w.meanBuyProb(a, liveBuyRate*w.Influencers[ii].Skill*p.Appeal*p.PriceFactor, int(w.idx.productCat[pi]), total, false)
}

// expectLive returns the true expected views (bots included), purchases
// and GMV of a live of influencer ii showing products in equal slots for
// dur, given its audience in a (filled by audienceWeights for at least the
// products' categories, of sum total). It is what the generator records
// as Live.ExpectedViewers, ExpectedPurchases and TrueExpectedGMV.
func (w *World) expectLive(a *audienceScratch, ii int, products []uint32, dur time.Duration, total float64) (viewers, purchases, gmv float64) {
	in := &w.Influencers[ii]
	viewers = w.LiveViewsPerHour(in.ID) * float64(dur) / float64(time.Hour)
	if len(products) == 0 {
		return viewers, 0, 0
	}
	perSlot := viewers * (1 - in.FakeShare) / float64(len(products))
	for _, pi := range products {
		s := w.buyProb(a, ii, pi, total)
		purchases += perSlot * s
		gmv += perSlot * s * meanQuantity * w.Products[pi].Price
	}
	return viewers, purchases, gmv
}

// Expectation is the true expectation of what a live produces.
type Expectation struct {
	// Viewers is the expected number of live view events, bots included.
	Viewers float64 `json:"expected_viewers"`
	// Purchases is the expected number of purchase events attributed to
	// the live.
	Purchases float64 `json:"expected_purchases"`
	// GMV is the expected sum of quantity*unit_price of those purchases,
	// in EUR.
	GMV float64 `json:"true_expected_gmv"`
}

// Oracle answers what-if questions with the world's true parameters: what
// a live that did not happen would have been expected to sell. The
// generator computes Live.TrueExpectedGMV with the same code. An Oracle is
// not safe for concurrent use (use one per goroutine); its answers are
// cheapest when calls for the same influencer are consecutive, since the
// influencer's audience is computed once per run of such calls.
type Oracle struct {
	w   *World
	aud audienceScratch
	// cur is the influencer index whose audience is in aud (all
	// categories), -1 for none; total is its weights' sum.
	cur   int
	total float64
	all   []int
	// incl caches sponsoredInclusion per brand index.
	incl map[int][]float64
}

// NewOracle returns an Oracle of w.
func (w *World) NewOracle() *Oracle {
	all := make([]int, len(w.Config.Categories))
	for c := range all {
		all[c] = c
	}
	return &Oracle{w: w, aud: newAudienceScratch(w), cur: -1, all: all, incl: map[int][]float64{}}
}

func (o *Oracle) audience(ii int) {
	if o.cur != ii {
		o.total = o.w.audienceWeights(&o.aud, ii, o.all)
		o.cur = ii
	}
}

// Live returns the true expectations of a live of the influencer showing
// the given products (in equal slots) for dur: for a live the generator
// scheduled, exactly its ExpectedViewers, ExpectedPurchases and
// TrueExpectedGMV.
func (o *Oracle) Live(influencerID uint64, productIDs []uint64, dur time.Duration) (Expectation, error) {
	w := o.w
	if _, ok := w.Influencer(influencerID); !ok {
		return Expectation{}, fmt.Errorf("sim: unknown influencer %d", influencerID)
	}
	products := make([]uint32, len(productIDs))
	for j, id := range productIDs {
		if _, ok := w.Product(id); !ok {
			return Expectation{}, fmt.Errorf("sim: unknown product %d", id)
		}
		products[j] = uint32(id - 1)
	}
	ii := int(influencerID - 1)
	o.audience(ii)
	var e Expectation
	e.Viewers, e.Purchases, e.GMV = w.expectLive(&o.aud, ii, products, dur, o.total)
	return e, nil
}

// SponsoredGMV returns the true expected GMV of a sponsored live of the
// brand with the influencer lasting dur (0 means MeanLiveDuration),
// averaged over the generator's random choice of products: three to eight
// (uniformly) of the brand's products, drawn without replacement with
// probability proportional to their Appeal, in equal slots. The expectation
// is linear in the duration, so at MeanLiveDuration it is also the
// expectation over the generator's random duration. Unknown IDs give 0.
func (o *Oracle) SponsoredGMV(brandID, influencerID uint64, dur time.Duration) float64 {
	w := o.w
	if _, ok := w.Brand(brandID); !ok {
		return 0
	}
	if _, ok := w.Influencer(influencerID); !ok {
		return 0
	}
	if dur == 0 {
		dur = MeanLiveDuration
	}
	bi, ii := int(brandID-1), int(influencerID-1)
	bp := w.idx.brandProducts[bi]
	if len(bp) == 0 {
		return 0
	}
	incl, ok := o.incl[bi]
	if !ok {
		appeal := make([]float64, len(bp))
		for j, pi := range bp {
			appeal[j] = w.Products[pi].Appeal
		}
		incl = sponsoredInclusion(appeal)
		o.incl[bi] = incl
	}
	o.audience(ii)
	in := &w.Influencers[ii]
	viewers := w.LiveViewsPerHour(in.ID) * float64(dur) / float64(time.Hour)
	var gmv float64
	for j, pi := range bp {
		gmv += incl[j] * w.buyProb(&o.aud, ii, pi, o.total) * meanQuantity * w.Products[pi].Price
	}
	return viewers * (1 - in.FakeShare) * gmv
}

// Products per sponsored live: 3 + IntN(sponsoredExtra).
const (
	minSponsoredProducts = 3
	sponsoredExtra       = 6
	inclusionSteps       = 4096
)

// sponsoredInclusion returns, for each of a brand's products of the given
// appeal, E[1{product shown} / number of products shown] in a sponsored
// live: the expected share of the live's slots it gets. The generator
// draws k uniform in 3..8 and then min(k, n) products one by one without
// replacement with probability proportional to appeal (pickDistinct).
//
// That successive sampling orders the products like E_j / appeal_j with
// E_j independent Exp(1), so product p is among the first m draws when
// fewer than m others have E_j/appeal_j < E_p/appeal_p:
//
//	P(p in first m) = ∫_0^1 P(N_p(u) < m) du,
//
// where u = 1 − exp(−appeal_p t) and N_p(u) counts the others, each
// independently with probability 1 − (1−u)^(appeal_j/appeal_p) (a Poisson
// binomial, by dynamic programming). The integral is taken by the midpoint
// rule.
func sponsoredInclusion(appeal []float64) []float64 {
	n := len(appeal)
	out := make([]float64, n)
	maxK := minSponsoredProducts + sponsoredExtra - 1
	if n <= minSponsoredProducts {
		for j := range out {
			out[j] = 1 / float64(n)
		}
		return out
	}
	dist := make([]float64, maxK+1) // P(N = 0..maxK-1), the rest in the last cell
	inFirst := make([]float64, maxK+1)
	for p := range n {
		clear(inFirst)
		for s := range inclusionSteps {
			u := (float64(s) + 0.5) / inclusionSteps
			clear(dist)
			dist[0] = 1
			for j := range n {
				if j == p {
					continue
				}
				q := 1 - math.Pow(1-u, appeal[j]/appeal[p])
				// The last cell absorbs counts ≥ maxK.
				dist[maxK] += dist[maxK-1] * q
				for c := maxK - 1; c > 0; c-- {
					dist[c] = dist[c]*(1-q) + dist[c-1]*q
				}
				dist[0] *= 1 - q
			}
			var below float64 // P(N < m), for m = 1..maxK
			for m := 1; m <= maxK; m++ {
				below += dist[m-1]
				inFirst[m] += below
			}
		}
		var share float64
		for k := minSponsoredProducts; k <= maxK; k++ {
			m := min(k, n)
			share += inFirst[m] / inclusionSteps / float64(m)
		}
		out[p] = share / sponsoredExtra
	}
	return out
}
