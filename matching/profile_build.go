package matching

// This file holds Build: computing the influencer and brand profiles and
// fitting the platform-wide rates from the Inputs.

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Build computes the profiles and platform rates from in.
func Build(in *Inputs) (*Model, error) {
	if in == nil {
		return nil, fmt.Errorf("build matching profiles: no inputs")
	}
	m := &Model{AsOf: in.AsOf, catIndex: map[string]int{}, inflByID: map[uint64]*Influencer{}, brands: map[uint64]*Brand{}}
	cat := func(name string) int {
		if c, ok := m.catIndex[name]; ok {
			return c
		}
		m.catIndex[name] = len(m.Categories)
		m.Categories = append(m.Categories, name)
		return len(m.Categories) - 1
	}
	products := make(map[uint64]event.Product, len(in.Products))
	// A price outside the contract's bounds (a version stored before
	// ingest checked them) is not a product to predict with.
	if slices.ContainsFunc(in.Products, badPrice) {
		c := *in
		c.Products = slices.DeleteFunc(slices.Clone(in.Products), badPrice)
		in = &c
	}
	for _, p := range in.Products {
		products[p.ProductID] = p
		cat(p.Category)
	}
	for _, a := range in.Affinity {
		cat(a.Category)
	}
	nc := len(m.Categories)

	for _, e := range in.Influencers {
		cats := e.Categories
		if cats == nil {
			cats = []string{}
		}
		inf := &Influencer{ID: e.InfluencerID, Handle: e.Handle, Followers: e.Followers, Country: e.Country, Categories: cats, Fee: catalogFee(e.Fee),
			Audience: map[string]float64{}, PastLives: []LiveSummary{}, rateCard: catalogFee(e.Fee),
			affinity: make([]float64, nc), catViews: make([]float64, nc), catOrders: make([]float64, nc), sponsored: map[uint64]brandHistory{}, groups: map[uint64]*liveTotals{}}
		m.influencers = append(m.influencers, inf)
		m.inflByID[inf.ID] = inf
	}
	influencer := func(id uint64) *Influencer {
		if inf, ok := m.inflByID[id]; ok {
			return inf
		}
		// Seen in events before its catalog message: a bare profile.
		inf := &Influencer{ID: id, Categories: []string{}, Audience: map[string]float64{}, PastLives: []LiveSummary{},
			affinity: make([]float64, nc), catViews: make([]float64, nc), catOrders: make([]float64, nc), sponsored: map[uint64]brandHistory{}, groups: map[uint64]*liveTotals{}}
		m.influencers = append(m.influencers, inf)
		m.inflByID[id] = inf
		return inf
	}

	m.buildBrands(in, products)
	m.buildLives(in, products, influencer)
	m.buildAffinity(in, influencer)
	// Sorted before the fits: their sums run in this order, and influencers
	// seen only in events were added in map order.
	slices.SortFunc(m.influencers, func(a, b *Influencer) int { return cmp.Compare(a.ID, b.ID) })
	m.fitConversion()
	m.fitReach()
	return m, nil
}

func badPrice(p event.Product) bool { return !(p.Price >= 0 && p.Price <= event.MaxPrice) }

func (m *Model) buildBrands(in *Inputs, products map[uint64]event.Product) {
	nc := len(m.Categories)
	shop := make(map[uint64]store.ProductSales, len(in.Shop))
	catViews, catOrders := make([]float64, nc), make([]float64, nc)
	for _, s := range in.Shop {
		shop[s.ProductID] = s
		if p, ok := products[s.ProductID]; ok {
			c := m.catIndex[p.Category]
			catViews[c] += float64(s.Views)
			catOrders[c] += float64(s.Orders)
		}
	}
	catPrice, catN := make([]float64, nc), make([]float64, nc)
	for _, p := range in.Products {
		c := m.catIndex[p.Category]
		catPrice[c] += p.Price
		catN[c]++
	}
	for c := range catPrice {
		if catN[c] > 0 {
			catPrice[c] /= catN[c]
		}
	}
	type acc struct{ n, price, price2, views, orders, soldPrice, soldPrice2 float64 }
	per := map[uint64][]acc{}
	for _, p := range in.Products {
		a := per[p.BrandID]
		if a == nil {
			a = make([]acc, nc)
			per[p.BrandID] = a
		}
		c := m.catIndex[p.Category]
		a[c].n++
		a[c].price += p.Price
		a[c].price2 += p.Price * p.Price
		s := shop[p.ProductID]
		a[c].views += float64(s.Views)
		a[c].orders += float64(s.Orders)
		a[c].soldPrice += float64(s.Orders) * p.Price
		a[c].soldPrice2 += float64(s.Orders) * p.Price * p.Price
	}
	for id, a := range per {
		b := &Brand{ID: id, Name: in.BrandNames[id], Mix: map[string]float64{}, mix: make([]float64, nc), quality: make([]float64, nc), price: make([]float64, nc), priceVar: make([]float64, nc)}
		total, tier, tierW := 0.0, 0.0, 0.0
		for c := range a {
			total += a[c].n
		}
		for c := range a {
			if a[c].n == 0 {
				b.quality[c] = 1
				continue
			}
			b.Products += int(a[c].n)
			b.mix[c] = a[c].n / total
			b.Mix[m.Categories[c]] = b.mix[c]
			mean := a[c].price / a[c].n
			// An order's price: the catalog's prices weighted by what sold
			// in the shop (cheaper or more appealing products sell more),
			// shrunk towards the plain mean by pricePrior pseudo-orders.
			w := a[c].orders + pricePrior
			b.price[c] = (a[c].soldPrice + pricePrior*mean) / w
			second := (a[c].soldPrice2 + pricePrior*a[c].price2/a[c].n) / w
			b.priceVar[c] = max(0, second-b.price[c]*b.price[c])
			expected := 0.0
			if catViews[c] > 0 {
				expected = a[c].views * catOrders[c] / catViews[c]
			}
			b.quality[c] = (qualityPrior + a[c].orders) / (qualityPrior + expected)
			if catPrice[c] > 0 {
				tier += a[c].n * mean / catPrice[c]
				tierW += a[c].n
			}
		}
		if tierW > 0 {
			b.PriceTier = tier / tierW
		}
		m.brands[id] = b
	}
	// Brands in the catalog without products yet are known (not 404) but
	// have nothing to predict with.
	for id, name := range in.BrandNames {
		if _, ok := m.brands[id]; !ok {
			q := make([]float64, nc)
			for c := range q {
				q[c] = 1
			}
			m.brands[id] = &Brand{ID: id, Name: name, Mix: map[string]float64{}, mix: make([]float64, nc), quality: q, price: make([]float64, nc), priceVar: make([]float64, nc)}
		}
	}
}

// buildLives aggregates each influencer's lives: reach, engagement, sales
// per category, sponsored history.
func (m *Model) buildLives(in *Inputs, products map[uint64]event.Product, influencer func(uint64) *Influencer) {
	type live struct {
		aud     store.LiveAudience
		chats   store.LiveChats
		orders  uint64
		units   uint64
		gmv     float64
		sponsor uint64
		fee     float64
		// active views and orders of catalog products: Conversion's terms
		catViews, catOrders float64
	}
	lives := make(map[uint64]*live, len(in.Audiences))
	for _, a := range in.Audiences {
		lives[a.LiveID] = &live{aud: a}
	}
	for _, l := range in.Lives {
		if lv, ok := lives[l.LiveID]; ok {
			lv.sponsor, lv.fee = l.SponsorBrandID, catalogFee(l.Fee)
		}
	}
	for _, c := range in.Chats {
		if lv, ok := lives[c.LiveID]; ok {
			lv.chats = c
		}
	}
	var unitsTotal, ordersTotal float64
	for _, p := range in.LiveProducts {
		lv, ok := lives[p.LiveID]
		if !ok {
			continue // sales without views: nothing to attribute reach to
		}
		lv.orders += p.Orders
		lv.units += p.Units
		lv.gmv += p.GMV
		unitsTotal += float64(p.Units)
		ordersTotal += float64(p.Orders)
		if prod, ok := products[p.ProductID]; ok {
			inf := influencer(lv.aud.InfluencerID)
			c := m.catIndex[prod.Category]
			inf.catViews[c] += float64(p.ActiveViews)
			inf.catOrders[c] += float64(p.Orders)
			lv.catViews += float64(p.ActiveViews)
			lv.catOrders += float64(p.Orders)
		}
	}
	for _, s := range in.Shop {
		unitsTotal += float64(s.Units)
		ordersTotal += float64(s.Orders)
	}
	m.unitsMean = 1
	if ordersTotal > 0 {
		m.unitsMean = unitsTotal / ordersTotal
	}

	byInf := map[uint64][]*live{}
	for _, lv := range lives {
		byInf[lv.aud.InfluencerID] = append(byInf[lv.aud.InfluencerID], lv)
	}
	var inactive []float64
	var phiNum, phiDen float64 // the method of moments for convPhi
	for id, ls := range byInf {
		inf := influencer(id)
		slices.SortFunc(ls, func(a, b *live) int { return b.aud.Start.Compare(a.aud.Start) })
		var viewers, active, chats, questions, burst, orders, gmv, sGMV, oGMV, fees float64
		var recent, recentN, earlier, earlierN float64
		var nFees int
		for _, lv := range ls {
			viewers += float64(lv.aud.Viewers)
			active += float64(lv.aud.ActiveViewers)
			chats += float64(lv.chats.Chats)
			questions += float64(lv.chats.Questions)
			burst += float64(lv.chats.BurstChats)
			orders += float64(lv.orders)
			gmv += lv.gmv
			if lv.sponsor != 0 {
				inf.SponsoredLives++
				sGMV += lv.gmv
				h := inf.sponsored[lv.sponsor]
				h.lives++
				h.gmv += lv.gmv
				inf.sponsored[lv.sponsor] = h
				if b, ok := m.brands[lv.sponsor]; ok {
					b.SponsoredLives++
					b.SponsoredGMV += lv.gmv
				}
				if lv.fee > 0 {
					fees += lv.fee
					nFees++
				}
			} else {
				oGMV += lv.gmv
			}
			if in.AsOf.Sub(lv.aud.Start) <= trendWindow {
				recent += lv.gmv
				recentN++
			} else {
				earlier += lv.gmv
				earlierN++
			}
			// The same figures per sponsor (0: organic), for what a brand
			// token sees (Model.View).
			g := inf.groups[lv.sponsor]
			if g == nil {
				g = &liveTotals{}
				inf.groups[lv.sponsor] = g
			}
			g.add(liveFigures{viewers: float64(lv.aud.Viewers), active: float64(lv.aud.ActiveViewers), chats: float64(lv.chats.Chats),
				questions: float64(lv.chats.Questions), burst: float64(lv.chats.BurstChats), orders: float64(lv.orders), gmv: lv.gmv,
				fee: lv.fee, catViews: lv.catViews, catOrders: lv.catOrders, recent: in.AsOf.Sub(lv.aud.Start) <= trendWindow})
			if len(inf.PastLives) < 20 {
				inf.PastLives = append(inf.PastLives, LiveSummary{LiveID: lv.aud.LiveID, Start: lv.aud.Start, SponsorBrandID: lv.sponsor, Viewers: lv.aud.Viewers, Orders: lv.orders, GMV: round2(lv.gmv)})
			}
		}
		n := float64(len(ls))
		inf.Lives = len(ls)
		inf.ViewersPerLive = viewers / n
		inf.GMVPerLive = gmv / n
		if inf.SponsoredLives > 0 {
			inf.SponsoredGMVPerLive = sGMV / float64(inf.SponsoredLives)
		}
		if organic := inf.Lives - inf.SponsoredLives; organic > 0 {
			inf.OrganicGMVPerLive = oGMV / float64(organic)
		}
		if recentN >= 2 && earlierN >= 2 && earlier > 0 {
			inf.Trend = (recent / recentN) / (earlier / earlierN)
		}
		if viewers > 0 {
			inf.ChatsPerViewer = chats / viewers
			inf.QuestionsPerViewer = questions / viewers
			inf.InactiveViewerShare = 1 - active/viewers
			inactive = append(inactive, inf.InactiveViewerShare)
		}
		if chats > 0 {
			inf.BurstChatShare = burst / chats
		}
		if orders > 0 {
			inf.OrderValue = gmv / orders
		}
		if inf.Fee == 0 && nFees > 0 {
			inf.Fee = fees / float64(nFees)
		}
		// Overdispersion of orders per live: (O − E)² − E against E², with
		// E from the influencer's own conversion over its lives.
		if len(ls) >= 3 {
			var av float64
			for _, lv := range ls {
				av += float64(lv.aud.ActiveViews)
			}
			if av > 0 && orders > 0 {
				conv := orders / av
				for _, lv := range ls {
					e := float64(lv.aud.ActiveViews) * conv
					d := float64(lv.orders) - e
					phiNum += d*d - e
					phiDen += e * e
				}
			}
		}
		// Reach: views by active viewers per live, with its spread.
		reach := make([]float64, len(ls))
		for k, lv := range ls {
			reach[k] = float64(lv.aud.ActiveViews)
		}
		inf.Reach, inf.reachVar = stat.MeanVariance(reach, nil)
		if len(ls) < 2 {
			inf.reachVar = math.NaN()
		}
	}
	for _, inf := range m.influencers {
		inf.groupIDs = slices.Sorted(maps.Keys(inf.groups))
	}
	if phiDen > 0 {
		m.convPhi = max(0, phiNum/phiDen)
	}
	if len(inactive) > 0 {
		slices.Sort(inactive)
		m.fakeBaseline = inactive[len(inactive)/2]
	}
	for _, inf := range m.influencers {
		inf.Authenticity = 1
		if inf.Lives > 0 {
			inf.Authenticity = m.authenticity(inf.InactiveViewerShare, inf.BurstChatShare)
		}
	}
}

// authenticity is 1 for an audience as active as the median live's, lower
// with more inactive viewers and more chat messages in identical bursts.
func (m *Model) authenticity(inactiveShare, burstShare float64) float64 {
	real := (1 - inactiveShare) / max(1e-9, 1-m.fakeBaseline)
	return round3(math.Max(0, math.Min(1, real)) * (1 - burstShare))
}

// buildAffinity turns the audiences' category shares into affinities
// relative to the average live viewer.
func (m *Model) buildAffinity(in *Inputs, influencer func(uint64) *Influencer) {
	nc := len(m.Categories)
	sums := map[uint64][]float64{}
	total := make([]float64, nc)
	all := 0.0
	for _, a := range in.Affinity {
		s := sums[a.InfluencerID]
		if s == nil {
			s = make([]float64, nc)
			sums[a.InfluencerID] = s
		}
		c := m.catIndex[a.Category]
		s[c] += a.Share
		total[c] += a.Share
		all += a.Share
	}
	m.affMean = make([]float64, nc)
	for c := range total {
		if all > 0 {
			m.affMean[c] = total[c] / all
		}
	}
	for _, inf := range m.influencers {
		for c := range inf.affinity {
			inf.affinity[c] = 1
		}
	}
	for id, s := range sums {
		inf := influencer(id)
		viewers := 0.0
		for _, v := range s {
			viewers += v
		}
		inf.Audience = map[string]float64{}
		for c, v := range s {
			if m.affMean[c] == 0 || viewers == 0 {
				continue
			}
			// Shrunk towards 1 by 20 pseudo-viewers: a handful of
			// viewers says little about an audience.
			inf.affinity[c] = (v + 20*m.affMean[c]) / ((viewers + 20) * m.affMean[c])
			if v > 0 {
				inf.Audience[m.Categories[c]] = round2(inf.affinity[c])
			}
		}
	}
}

// affinityExponents are the values of AffinityExponent fitConversion
// tries.
var affinityExponents = []float64{0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3}

// fitConversion estimates the category base rates and each influencer's
// skill by alternating (base rates given skills, skills given base rates),
// for each affinity exponent, and keeps the exponent under which the
// lives' orders per category are most likely (Poisson). Skill absorbs how
// well an influencer sells overall; the exponent is learnt from how their
// orders spread over categories.
func (m *Model) fitConversion() {
	best, bestLL := 1.0, math.Inf(-1)
	for _, g := range affinityExponents {
		if ll := m.fitConversionAt(g); ll > bestLL {
			best, bestLL = g, ll
		}
	}
	m.fitConversionAt(best)
	nc := len(m.Categories)
	for _, inf := range m.influencers {
		views, orders := 0.0, 0.0
		for c := range nc {
			views += inf.catViews[c]
			orders += inf.catOrders[c]
		}
		if views > 0 {
			inf.Conversion = orders / views
		}
	}
	// Categories nobody sold in lives yet borrow the mean base rate.
	mean, n := 0.0, 0.0
	for _, b := range m.base {
		if b > 0 {
			mean += b
			n++
		}
	}
	if n > 0 {
		for c := range m.base {
			if m.base[c] == 0 {
				m.base[c] = mean / n
			}
		}
	}
}

// fitConversionAt fits base rates and skills with affinity exponent g
// and returns the Poisson log-likelihood of the lives' orders per
// influencer and category.
func (m *Model) fitConversionAt(g float64) float64 {
	nc := len(m.Categories)
	m.AffinityExponent = g
	for _, inf := range m.influencers {
		if len(inf.effAff) != nc {
			inf.effAff = make([]float64, nc)
		}
		for c, a := range inf.affinity {
			inf.effAff[c] = math.Pow(a, g)
		}
		inf.Skill = 1
	}
	m.base = make([]float64, nc)
	for range 4 {
		num, den := make([]float64, nc), make([]float64, nc)
		for _, inf := range m.influencers {
			for c := range nc {
				num[c] += inf.catOrders[c]
				den[c] += inf.catViews[c] * inf.effAff[c] * inf.Skill
			}
		}
		for c := range nc {
			if den[c] > 0 {
				m.base[c] = num[c] / den[c]
			}
		}
		for _, inf := range m.influencers {
			orders, expected := 0.0, 0.0
			for c := range nc {
				orders += inf.catOrders[c]
				expected += inf.catViews[c] * m.base[c] * inf.effAff[c]
			}
			inf.Skill = (skillPrior + orders) / (skillPrior + expected)
			inf.skillShape = skillPrior + orders
		}
	}
	ll := 0.0
	for _, inf := range m.influencers {
		for c := range nc {
			lambda := inf.catViews[c] * m.base[c] * inf.effAff[c] * inf.Skill
			if lambda <= 0 {
				continue
			}
			ll += inf.catOrders[c]*math.Log(lambda) - lambda
		}
	}
	return ll
}

// fitReach fits log(reach) on log(followers) over influencers with lives,
// then shrinks every influencer's reach towards the fit.
func (m *Model) fitReach() {
	var xs, ys, ws, cvs []float64
	for _, inf := range m.influencers {
		if inf.Lives > 0 && inf.Reach > 0 && inf.Followers > 0 {
			xs = append(xs, math.Log(float64(inf.Followers)))
			ys = append(ys, math.Log(inf.Reach))
			ws = append(ws, float64(inf.Lives))
		}
		if inf.Lives >= 3 && inf.Reach > 0 && !math.IsNaN(inf.reachVar) {
			cvs = append(cvs, inf.reachVar/(inf.Reach*inf.Reach))
		}
	}
	switch {
	case len(xs) >= 3 && slices.Min(xs) < slices.Max(xs):
		m.reachA, m.reachB = stat.LinearRegression(xs, ys, ws, false)
	case len(ys) > 0:
		// One follower count: no slope to fit (the regression would be
		// 0/0, NaN reach for everyone), the mean is the prior.
		m.reachA = stat.Mean(ys, ws)
	}
	m.cv2 = 0.25
	if len(cvs) > 0 {
		m.cv2 = stat.Mean(cvs, nil)
	}
	for _, inf := range m.influencers {
		prior := 0.0
		if inf.Followers > 0 {
			prior = math.Exp(m.reachA + m.reachB*math.Log(float64(inf.Followers)))
		} else {
			prior = math.Exp(m.reachA)
		}
		n := float64(inf.Lives)
		inf.Reach = (reachPriorLives*prior + n*inf.Reach) / (reachPriorLives + n)
		// The mean's own uncertainty: a Gamma-Poisson posterior over
		// reachPriorLives + n lives of spread cv2.
		inf.reachVar = inf.Reach * inf.Reach * m.cv2 / (reachPriorLives + n)
	}
}
