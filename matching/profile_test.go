package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

func mustInfluencer(t *testing.T, m *Model, id uint64) *Influencer {
	t.Helper()
	inf, ok := m.Influencer(id)
	if !ok {
		t.Fatalf("influencer %d not in the model", id)
	}
	return inf
}

func mustBrand(t *testing.T, m *Model, id uint64) *Brand {
	t.Helper()
	b, ok := m.Brand(id)
	if !ok {
		t.Fatalf("brand %d not in the model", id)
	}
	return b
}

func hasReason(reasons []string, parts ...string) bool {
	for _, r := range reasons {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestBuild_AudienceAffinityRaisesConversion: two influencers with the
// same lives and reach, one whose viewers browse and buy kitchenware at 3×
// the other's rate. For a kitchenware brand the first has the higher
// affinity, conversion and GMV, and a reason saying why; for a beauty
// brand it is the other way round.
func TestBuild_AudienceAffinityRaisesConversion(t *testing.T) {
	w := baseWorld()
	const fan, other, averse = 200, 201, 202
	for _, id := range []uint64{fan, other, averse} {
		w.influencer(id, 80000, "IT", 500, "kitchenware")
	}
	w.audience(fan, map[string]float64{"kitchenware": 60, "beauty": 40.0 / 3, "electronics": 40.0 / 3, "fashion": 40.0 / 3})
	w.audience(other, map[string]float64{"kitchenware": 20, "beauty": 80.0 / 3, "electronics": 80.0 / 3, "fashion": 80.0 / 3})
	w.audience(averse, map[string]float64{"kitchenware": 4, "beauty": 32, "electronics": 32, "fashion": 32})
	fanConv := evenConv(baseConv)
	fanConv["kitchenware"] = 3 * baseConv
	for l := range 8 {
		reach := uint64(3000 * spread[l%5])
		age := time.Duration(5*l)*day + time.Hour
		w.live(fan, plain(age, reach, fanConv))
		w.live(other, plain(age, reach, evenConv(baseConv)))
		w.live(averse, plain(age, reach, evenConv(baseConv)))
	}
	m := w.build(t)
	f, o := mustInfluencer(t, m, fan), mustInfluencer(t, m, other)
	if f.Reach != o.Reach || f.ViewersPerLive != o.ViewersPerLive || f.Lives != o.Lives {
		t.Fatalf("same lives, different reach: %v/%v viewers %v/%v", f.Reach, o.Reach, f.ViewersPerLive, o.ViewersPerLive)
	}

	// The affinity, recomputed from the inputs: a category's share of the
	// influencer's viewers over its share of all live viewers, shrunk by
	// 20 pseudo-viewers.
	total, all := map[string]float64{}, 0.0
	per := map[uint64]map[string]float64{}
	for _, a := range w.in.Affinity {
		total[a.Category] += a.Share
		all += a.Share
		if per[a.InfluencerID] == nil {
			per[a.InfluencerID] = map[string]float64{}
		}
		per[a.InfluencerID][a.Category] += a.Share
	}
	for _, inf := range []*Influencer{f, o} {
		viewers := 0.0
		for _, v := range per[inf.ID] {
			viewers += v
		}
		for c, v := range per[inf.ID] {
			mean := total[c] / all
			want := (v + 20*mean) / ((viewers + 20) * mean)
			if !near(inf.Audience[c], want, 0.006) {
				t.Errorf("influencer %d: audience[%s] = %v, want %.4f", inf.ID, c, inf.Audience[c], want)
			}
		}
	}
	if f.Audience["kitchenware"] < 1.5 || o.Audience["kitchenware"] >= 1 {
		t.Errorf("kitchenware affinity: fan %v, other %v; want ≥ 1.5 and < 1", f.Audience["kitchenware"], o.Audience["kitchenware"])
	}
	if f.Conversion <= o.Conversion {
		t.Errorf("fan converts %v, other %v: the fan sells 3× more kitchenware per view", f.Conversion, o.Conversion)
	}

	kb := mustBrand(t, m, brandKitchen)
	pf, po := m.Predict(kb, f, DefaultCommission), m.Predict(kb, o, DefaultCommission)
	if pf.Factors.Reach != po.Factors.Reach {
		t.Errorf("reach factor %v vs %v for the same lives", pf.Factors.Reach, po.Factors.Reach)
	}
	// The factor is the audience affinity to the fitted exponent.
	g := m.AffinityExponent
	if want := math.Pow(f.Audience["kitchenware"], g) / math.Pow(o.Audience["kitchenware"], g); !near(pf.Factors.Affinity/po.Factors.Affinity, want, 0.05*want) || want < 1.3 {
		t.Errorf("kitchen brand: affinity factor fan %v vs other %v, want a ratio of %.2f (exponent %v)", pf.Factors.Affinity, po.Factors.Affinity, want, g)
	}
	if pf.Factors.Conversion < 2*po.Factors.Conversion {
		t.Errorf("kitchen brand: conversion fan %v vs other %v, want ≥ 2× (3× the orders per view)", pf.Factors.Conversion, po.Factors.Conversion)
	}
	if pf.GMV < 2*po.GMV || pf.P50 <= po.P50 || pf.P10 <= po.P10 {
		t.Errorf("kitchen brand: fan %+v vs other %+v", pf, po)
	}
	rf, ro := m.Reasons(kb, f, pf), m.Reasons(kb, o, po)
	if !hasReason(rf, "kitchenware", "more than the average") {
		t.Errorf("fan's reasons %q do not mention the kitchenware affinity", rf)
	}
	if hasReason(ro, "kitchenware") {
		t.Errorf("other's reasons %q: its kitchenware affinity %v is unremarkable", ro, o.Audience["kitchenware"])
	}
	a := mustInfluencer(t, m, averse)
	if ra := m.Reasons(kb, a, m.Predict(kb, a, DefaultCommission)); a.Audience["kitchenware"] > 0.6 || !hasReason(ra, "kitchenware less than average") {
		t.Errorf("averse (kitchenware affinity %v): reasons %q, want kitchenware less than average", a.Audience["kitchenware"], ra)
	}

	// The beauty brand: the fan's viewers care less about beauty.
	bb := mustBrand(t, m, brandBeauty)
	bf, bo := m.Predict(bb, f, DefaultCommission), m.Predict(bb, o, DefaultCommission)
	if bf.Factors.Affinity >= bo.Factors.Affinity {
		t.Errorf("beauty brand: affinity fan %v ≥ other %v", bf.Factors.Affinity, bo.Factors.Affinity)
	}

	r, err := m.Rank(context.Background(), brandKitchen, Query{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[uint64]int{}
	for k, c := range r.Items {
		pos[c.InfluencerID] = k
	}
	if pos[fan] >= pos[other] {
		t.Errorf("kitchen ranking: fan at %d, other at %d", pos[fan], pos[other])
	}
}

// TestBuild_ReachAndSkillShrinkSmallSamples: an influencer with one live
// and one with 50, both with 4× the reach their followers predict. The
// one-live influencer's reach is pulled halfway to the prior (the reach of
// a third with the same followers and no lives), the 50-live one's hardly
// at all, and the interval of the one-live influencer is wider.
func TestBuild_ReachAndSkillShrinkSmallSamples(t *testing.T) {
	w := baseWorld()
	const one, fifty, none = 300, 301, 302
	const followers = 100000
	obs := math.Round(4 * baseReach(followers))
	for _, id := range []uint64{one, fifty, none} {
		w.influencer(id, followers, "FR", 400, "beauty")
		w.audience(id, map[string]float64{"beauty": 25, "electronics": 25, "fashion": 25, "kitchenware": 25})
	}
	w.live(one, plain(2*day, uint64(obs), evenConv(baseConv)))
	for l := range 50 {
		w.live(fifty, plain(time.Duration(l)*day+time.Hour, uint64(obs), evenConv(baseConv)))
	}
	// Skill: small lives converting at 3× the usual rate, once or 50 times.
	const skill1, skill50 = 310, 311
	for _, id := range []uint64{skill1, skill50} {
		w.influencer(id, 2000, "FR", 100, "beauty")
		w.audience(id, map[string]float64{"beauty": 25, "electronics": 25, "fashion": 25, "kitchenware": 25})
	}
	w.live(skill1, plain(3*day, 200, evenConv(3*baseConv)))
	for l := range 50 {
		w.live(skill50, plain(time.Duration(l)*day+time.Hour, 200, evenConv(3*baseConv)))
	}
	m := w.build(t)
	o, f, z := mustInfluencer(t, m, one), mustInfluencer(t, m, fifty), mustInfluencer(t, m, none)

	prior := z.Reach
	if prior <= 0 || prior >= obs {
		t.Fatalf("prior reach at %d followers = %v; want in (0, %v)", followers, prior, obs)
	}
	if want := (prior + obs) / 2; !near(o.Reach, want, 1e-9*want) {
		t.Errorf("one live: reach %v, want (prior %v + observed %v)/2 = %v", o.Reach, prior, obs, want)
	}
	if want := (prior + 50*obs) / 51; !near(f.Reach, want, 1e-9*want) {
		t.Errorf("50 lives: reach %v, want (prior + 50·observed)/51 = %v", f.Reach, want)
	}
	if !(prior < o.Reach && o.Reach < f.Reach && f.Reach < obs) {
		t.Errorf("want prior %v < one live %v < 50 lives %v < observed %v", prior, o.Reach, f.Reach, obs)
	}

	b := mustBrand(t, m, brandBeauty)
	width := func(inf *Influencer) float64 {
		p := m.Predict(b, inf, DefaultCommission)
		if !(p.P10 < p.P50 && p.P50 < p.P90) {
			t.Errorf("influencer %d: quantiles %v %v %v not increasing", inf.ID, p.P10, p.P50, p.P90)
		}
		return (p.P90 - p.P10) / p.P50
	}
	wz, wo, wf := width(z), width(o), width(f)
	if !(wz > wo && wo > wf) {
		t.Errorf("relative P10–P90 width: no lives %.3f, one live %.3f, 50 lives %.3f; want decreasing", wz, wo, wf)
	}
	if r := m.Reasons(b, z, m.Predict(b, z, DefaultCommission)); !hasReason(r, "no lives yet", humanCount(followers)+" followers") {
		t.Errorf("no-live influencer's reasons %q", r)
	}

	s1, s50 := mustInfluencer(t, m, skill1), mustInfluencer(t, m, skill50)
	if !(1 < s1.Skill && s1.Skill < s50.Skill) {
		t.Errorf("skill: one live %v, 50 lives %v; want 1 < one < fifty", s1.Skill, s50.Skill)
	}
	if s50.Skill < 2.5 || s1.Skill-1 > 0.6*(s50.Skill-1) {
		t.Errorf("skill: one live %v, 50 lives %v; want 50 lives near 3 and one live shrunk towards 1", s1.Skill, s50.Skill)
	}
}

// TestBuild_AuthenticityFromInactiveViewersAndBursts: an influencer whose
// viewers mostly never browse and one whose chat is half bursts, against
// a clean twin. Both lose authenticity (recomputed from the inputs); the
// first also has fewer real views, so a lower prediction. Bursts alone do
// not lower the prediction: reach counts only active viewers already.
func TestBuild_AuthenticityFromInactiveViewersAndBursts(t *testing.T) {
	w := baseWorld()
	const clean, inactive, bursty = 400, 401, 402
	for _, id := range []uint64{clean, inactive, bursty} {
		w.influencer(id, 60000, "DE", 300, "beauty")
		w.audience(id, map[string]float64{"beauty": 25, "electronics": 25, "fashion": 25, "kitchenware": 25})
	}
	for l := range 10 {
		c := plain(time.Duration(5*l)*day+time.Hour, uint64(baseReach(60000)*spread[l%5]), evenConv(baseConv))
		w.live(clean, c)
		// The same viewers and views, but 70 % of the viewers never browse:
		// 3/8 of the clean twin's real views.
		f := c
		f.active = c.viewers * 3 / 10
		f.activeViews = c.activeViews * 3 / 8
		w.live(inactive, f)
		// Twice the chat, half of it in bursts.
		b := c
		b.chats, b.burst = 2*c.chats, c.chats
		w.live(bursty, b)
	}
	m := w.build(t)

	// Recompute: the inactive share and burst share per influencer, the
	// median inactive share, and authenticity.
	type agg struct{ viewers, active, chats, burst float64 }
	aggs := map[uint64]*agg{}
	chats := map[uint64]store.LiveChats{}
	for _, c := range w.in.Chats {
		chats[c.LiveID] = c
	}
	for _, a := range w.in.Audiences {
		g := aggs[a.InfluencerID]
		if g == nil {
			g = &agg{}
			aggs[a.InfluencerID] = g
		}
		g.viewers += float64(a.Viewers)
		g.active += float64(a.ActiveViewers)
		g.chats += float64(chats[a.LiveID].Chats)
		g.burst += float64(chats[a.LiveID].BurstChats)
	}
	var shares []float64
	for _, g := range aggs {
		shares = append(shares, 1-g.active/g.viewers)
	}
	slices.Sort(shares)
	baseline := shares[len(shares)/2]
	for _, id := range []uint64{clean, inactive, bursty} {
		g, inf := aggs[id], mustInfluencer(t, m, id)
		share, burst := 1-g.active/g.viewers, g.burst/g.chats
		want := math.Round(1000*math.Max(0, math.Min(1, (1-share)/(1-baseline)))*(1-burst)) / 1000
		if !near(inf.InactiveViewerShare, share, 1e-12) || !near(inf.BurstChatShare, burst, 1e-12) || !near(inf.Authenticity, want, 1e-12) {
			t.Errorf("influencer %d: inactive %v burst %v authenticity %v; want %v %v %v", id, inf.InactiveViewerShare, inf.BurstChatShare, inf.Authenticity, share, burst, want)
		}
	}
	c, i, bu := mustInfluencer(t, m, clean), mustInfluencer(t, m, inactive), mustInfluencer(t, m, bursty)
	if c.Authenticity < 0.95 || i.Authenticity > c.Authenticity-0.3 || bu.Authenticity > c.Authenticity-0.3 {
		t.Errorf("authenticity clean %v, inactive %v, bursty %v", c.Authenticity, i.Authenticity, bu.Authenticity)
	}

	b := mustBrand(t, m, brandBeauty)
	pc, pi, pb := m.Predict(b, c, DefaultCommission), m.Predict(b, i, DefaultCommission), m.Predict(b, bu, DefaultCommission)
	if pi.GMV >= pc.GMV || pi.P50 >= pc.P50 || pi.Factors.Reach >= pc.Factors.Reach {
		t.Errorf("inactive audience predicts %+v, clean %+v: want lower", pi, pc)
	}
	if pb.GMV > pc.GMV || pb.P50 > pc.P50 {
		t.Errorf("bursty chat predicts %+v, clean %+v: want not higher", pb, pc)
	}
	if pi.Factors.Authenticity != i.Authenticity || pb.Factors.Authenticity != bu.Authenticity {
		t.Errorf("authenticity factor %v/%v, profile %v/%v", pi.Factors.Authenticity, pb.Factors.Authenticity, i.Authenticity, bu.Authenticity)
	}
	for id, want := range map[uint64]bool{clean: false, inactive: true, bursty: true} {
		inf := mustInfluencer(t, m, id)
		if got := hasReason(m.Reasons(b, inf, m.Predict(b, inf, DefaultCommission)), "partly fake"); got != want {
			t.Errorf("influencer %d: 'partly fake' reason %v, want %v", id, got, want)
		}
	}
}

// TestBuild_HistoryTrendAndSponsorship: the trend of GMV per live, the
// sponsored history per brand, the fee learnt from past sponsored lives and
// the last lives listed newest first.
func TestBuild_HistoryTrendAndSponsorship(t *testing.T) {
	w := baseWorld()
	const riser, sponsored = 500, 501
	w.influencer(riser, 50000, "DE", 300, "beauty")
	w.influencer(sponsored, 50000, "IT", 0, "beauty") // no rate card
	for l := range 4 {
		w.live(riser, plain(time.Duration(40+5*l)*day, 1000, evenConv(baseConv)))
		w.live(riser, plain(time.Duration(1+5*l)*day, 2000, evenConv(baseConv)))
	}
	var fees []float64
	for l := range 25 {
		s := plain(time.Duration(2*l)*day+time.Hour, uint64(500+40*l), evenConv(baseConv))
		if l%5 == 0 {
			s.sponsor, s.fee = brandBeauty, 200+float64(10*l)
			fees = append(fees, s.fee)
		}
		w.live(sponsored, s)
	}
	m := w.build(t)

	// Per live: start, sponsor and GMV, from the inputs.
	type liveGMV struct {
		id      uint64
		start   time.Time
		sponsor uint64
		gmv     float64
	}
	gmv := map[uint64]float64{}
	for _, p := range w.in.LiveProducts {
		gmv[p.LiveID] += p.GMV
	}
	lives := map[uint64][]liveGMV{}
	for _, l := range w.in.Lives {
		lives[l.InfluencerID] = append(lives[l.InfluencerID], liveGMV{l.LiveID, l.StartedAt, l.SponsorBrandID, gmv[l.LiveID]})
	}

	var recent, earlier float64
	for _, l := range lives[riser] {
		if testAsOf.Sub(l.start) <= 30*day {
			recent += l.gmv
		} else {
			earlier += l.gmv
		}
	}
	r := mustInfluencer(t, m, riser)
	if want := recent / earlier; !near(r.Trend, want, 1e-12) || r.Trend < 1.5 {
		t.Errorf("trend %v, want %v (4 recent lives at twice the reach)", r.Trend, want)
	}
	b := mustBrand(t, m, brandBeauty)
	if rs := m.Reasons(b, r, m.Predict(b, r, DefaultCommission)); !hasReason(rs, fmt.Sprintf("up %.0f%%", (r.Trend-1)*100), "30 days") {
		t.Errorf("riser's reasons %q lack the trend", rs)
	}
	if bg := mustInfluencer(t, m, firstBackground); bg.Trend != 0 && (bg.Trend < 0.7 || bg.Trend > 1.3) {
		t.Errorf("a steady influencer's trend is %v", bg.Trend)
	}

	s := mustInfluencer(t, m, sponsored)
	ls := lives[sponsored]
	var sGMV, oGMV, all float64
	for _, l := range ls {
		all += l.gmv
		if l.sponsor != 0 {
			sGMV += l.gmv
		} else {
			oGMV += l.gmv
		}
	}
	if s.Lives != 25 || s.SponsoredLives != 5 {
		t.Errorf("lives %d sponsored %d, want 25 and 5", s.Lives, s.SponsoredLives)
	}
	if !near(s.GMVPerLive, all/25, 1e-9) || !near(s.SponsoredGMVPerLive, sGMV/5, 1e-9) || !near(s.OrganicGMVPerLive, oGMV/20, 1e-9) {
		t.Errorf("GMV per live %v sponsored %v organic %v; want %v %v %v", s.GMVPerLive, s.SponsoredGMVPerLive, s.OrganicGMVPerLive, all/25, sGMV/5, oGMV/20)
	}
	meanFee := 0.0
	for _, f := range fees {
		meanFee += f / float64(len(fees))
	}
	if !near(s.Fee, meanFee, 1e-9) {
		t.Errorf("fee %v, want the mean of past sponsored fees %v", s.Fee, meanFee)
	}
	if mustInfluencer(t, m, riser).Fee != 300 {
		t.Errorf("a rate card must win over past fees")
	}
	if b.SponsoredLives != 5 || !near(b.SponsoredGMV, sGMV, 1e-9) {
		t.Errorf("brand sponsored lives %d GMV %v, want 5 and %v", b.SponsoredLives, b.SponsoredGMV, sGMV)
	}
	if rs := m.Reasons(b, s, m.Predict(b, s, DefaultCommission)); !hasReason(rs, "ran 5 sponsored live(s) for this brand", fmt.Sprintf("€%.0f", sGMV)) {
		t.Errorf("reasons %q lack the brand history", rs)
	}
	if rs := m.Reasons(mustBrand(t, m, brandKitchen), s, Prediction{}); hasReason(rs, "sponsored live") {
		t.Errorf("reasons for another brand mention its sponsorship: %q", rs)
	}

	// The last 20 lives, newest first, each with its own GMV.
	slices.SortFunc(ls, func(a, b liveGMV) int { return b.start.Compare(a.start) })
	if len(s.PastLives) != 20 {
		t.Fatalf("%d past lives, want the last 20", len(s.PastLives))
	}
	for k, p := range s.PastLives {
		if p.LiveID != ls[k].id || !p.Start.Equal(ls[k].start) || p.SponsorBrandID != ls[k].sponsor || !near(p.GMV, ls[k].gmv, 0.006) {
			t.Errorf("past live %d = %+v, want %+v", k, p, ls[k])
		}
	}
}

// TestBuild_BrandProfiles checks a brand's mix, price tier and quality
// against values recomputed from the catalog and shop sales.
func TestBuild_BrandProfiles(t *testing.T) {
	w := baseWorld()
	m := w.build(t)
	catPrice, catN := map[string]float64{}, map[string]float64{}
	catViews, catOrders := map[string]float64{}, map[string]float64{}
	shop := map[uint64]store.ProductSales{}
	for _, s := range w.in.Shop {
		shop[s.ProductID] = s
	}
	for _, p := range w.in.Products {
		catPrice[p.Category] += p.Price
		catN[p.Category]++
		catViews[p.Category] += float64(shop[p.ProductID].Views)
		catOrders[p.Category] += float64(shop[p.ProductID].Orders)
	}
	for id := range w.in.BrandNames {
		b := mustBrand(t, m, id)
		if b.Name != w.in.BrandNames[id] {
			t.Errorf("brand %d name %q", id, b.Name)
		}
		n, tier := 0.0, 0.0
		count, views, orders := map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, p := range w.in.Products {
			if p.BrandID != id {
				continue
			}
			n++
			tier += p.Price / (catPrice[p.Category] / catN[p.Category])
			count[p.Category]++
			views[p.Category] += float64(shop[p.ProductID].Views)
			orders[p.Category] += float64(shop[p.ProductID].Orders)
		}
		if b.Products != int(n) || len(b.Mix) != len(count) {
			t.Errorf("brand %d: %d products, mix %v; want %v products in %v", id, b.Products, b.Mix, n, count)
		}
		if n > 0 && !near(b.PriceTier, tier/n, 1e-9) {
			t.Errorf("brand %d: price tier %v, want %v", id, b.PriceTier, tier/n)
		}
		for c, k := range count {
			if !near(b.Mix[c], k/n, 1e-12) {
				t.Errorf("brand %d: mix[%s] = %v, want %v", id, c, b.Mix[c], k/n)
			}
			want := (qualityPrior + orders[c]) / (qualityPrior + views[c]*catOrders[c]/catViews[c])
			if got := b.quality[m.catIndex[c]]; !near(got, want, 1e-9) {
				t.Errorf("brand %d: quality[%s] = %v, want %v", id, c, got, want)
			}
		}
	}
	// Casa Moda's kitchenware converts better than its category in the
	// shop, its fashion worse; its predictions carry the mixed quality.
	mixed := mustBrand(t, m, brandMixed)
	qk, qf := mixed.quality[m.catIndex["kitchenware"]], mixed.quality[m.catIndex["fashion"]]
	if qk <= 1 || qf >= 1 {
		t.Errorf("Casa Moda quality: kitchenware %v (want > 1), fashion %v (want < 1)", qk, qf)
	}
	p := m.Predict(mixed, mustInfluencer(t, m, firstBackground), DefaultCommission)
	if want := round2(mixed.Mix["kitchenware"]*qk + mixed.Mix["fashion"]*qf); !near(p.Factors.Quality, want, 0.0051) {
		t.Errorf("quality factor %v, want the mix-weighted %v", p.Factors.Quality, want)
	}
	if mixed.PriceTier <= 1 {
		t.Errorf("Casa Moda sells above its categories' prices; tier %v", mixed.PriceTier)
	}
	if none := mustBrand(t, m, brandNone); none.Products != 0 || len(none.Mix) != 0 {
		t.Errorf("brand without products: %+v", none)
	}
	if _, ok := m.Brand(424242); ok {
		t.Errorf("a brand in neither the catalog nor the products is known")
	}
}

// TestBuild_EqualFollowersStayFinite: when every influencer with lives has
// the same follower count the regression of reach on followers has no
// slope to fit; reach must fall back to a finite prior, not NaN.
func TestBuild_EqualFollowersStayFinite(t *testing.T) {
	w := newWorld()
	w.brand(1, "b")
	w.product(1, "beauty", 20, 1000, 20)
	for k := range 5 {
		id := uint64(10 + k)
		w.influencer(id, 50000, "IT", 100, "beauty")
		for l := range 3 + k {
			w.live(id, plain(time.Duration(l+1)*day, uint64(1000+100*k+50*l), map[string]float64{"beauty": 0.02}))
		}
	}
	w.influencer(99, 50000, "IT", 100, "beauty") // no lives: reach is the prior
	w.influencer(98, 0, "IT", 100, "beauty")     // no followers either
	m := w.build(t)
	b := mustBrand(t, m, 1)
	for _, inf := range m.influencers {
		p := m.Predict(b, inf, DefaultCommission)
		if !finite(inf.Reach) || !finite(p.GMV) || !finite(p.P90) || inf.Reach <= 0 {
			t.Errorf("influencer %d: reach %v, prediction %+v", inf.ID, inf.Reach, p)
		}
	}
	// With one follower count, the prior is the (lives-weighted) mean
	// reach in the log: between the smallest and largest observed reach.
	z := mustInfluencer(t, m, 99)
	if z.Reach < 1000 || z.Reach > 1000+100*4+50*6 {
		t.Errorf("prior reach %v outside the observed range", z.Reach)
	}
	if _, err := json.Marshal(z); err != nil {
		t.Errorf("profile does not encode: %v", err)
	}
}

// memSource is a Source over fixed inputs; it records the cut-offs asked.
type memSource struct {
	in      *Inputs
	befores []time.Time
	fail    error
}

func (s *memSource) Products(context.Context) ([]event.Product, error) { return s.in.Products, s.fail }
func (s *memSource) Influencers(context.Context) ([]event.Influencer, error) {
	return s.in.Influencers, nil
}
func (s *memSource) BrandNames(context.Context) (map[uint64]string, error) {
	return s.in.BrandNames, nil
}
func (s *memSource) Lives(context.Context) ([]event.Live, error) {
	return slices.Clone(s.in.Lives), nil
}
func (s *memSource) LiveAudiences(_ context.Context, before time.Time) ([]store.LiveAudience, error) {
	s.befores = append(s.befores, before)
	return s.in.Audiences, nil
}
func (s *memSource) LiveProducts(_ context.Context, before time.Time) ([]store.LiveProductStats, error) {
	s.befores = append(s.befores, before)
	return s.in.LiveProducts, nil
}
func (s *memSource) LiveChatStats(_ context.Context, before time.Time) ([]store.LiveChats, error) {
	s.befores = append(s.befores, before)
	return s.in.Chats, nil
}
func (s *memSource) Audiences(_ context.Context, before time.Time) ([]store.AudienceCategory, error) {
	s.befores = append(s.befores, before)
	return s.in.Affinity, nil
}
func (s *memSource) ShopSales(_ context.Context, before time.Time) ([]store.ProductSales, error) {
	s.befores = append(s.befores, before)
	return s.in.Shop, nil
}

// TestLoad_CutOff: Load asks every aggregate as of the cut-off and drops
// the lives that started at or after it; a Service built on it serves the
// model once refreshed.
func TestLoad_CutOff(t *testing.T) {
	w := baseWorld()
	future := event.Live{LiveID: 9001, InfluencerID: firstBackground, StartedAt: testAsOf}
	w.in.Lives = append(w.in.Lives, future, event.Live{LiveID: 9002, InfluencerID: firstBackground, StartedAt: testAsOf.Add(time.Hour)})
	src := &memSource{in: w.in}
	in, err := Load(context.Background(), src, testAsOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Lives) != len(w.in.Lives)-2 || slices.ContainsFunc(in.Lives, func(l event.Live) bool { return !l.StartedAt.Before(testAsOf) }) {
		t.Errorf("%d lives loaded of %d; the 2 at or after the cut-off must go", len(in.Lives), len(w.in.Lives))
	}
	if len(src.befores) != 5 || slices.ContainsFunc(src.befores, func(b time.Time) bool { return !b.Equal(testAsOf) }) {
		t.Errorf("cut-offs asked: %v", src.befores)
	}
	if !in.AsOf.Equal(testAsOf) || len(in.Products) != len(w.in.Products) || len(in.Shop) != len(w.in.Shop) {
		t.Errorf("loaded inputs incomplete")
	}

	failing := errors.New("clickhouse down")
	if _, err := Load(context.Background(), &memSource{in: w.in, fail: failing}, testAsOf); !errors.Is(err, failing) {
		t.Errorf("Load error %v, want %v", err, failing)
	}

	svc := NewService(ServiceConfig{Source: src, Now: func() time.Time { return testAsOf }})
	if svc.Model() != nil || svc.Ready(context.Background()) == nil {
		t.Fatal("a new service must have no model and not be ready")
	}
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := svc.Model(); m == nil || svc.Ready(context.Background()) != nil || m.NumInfluencers() != numBackground || !m.AsOf.Equal(testAsOf) {
		t.Fatalf("after refresh: model %v", m)
	}
	src.fail = failing
	if err := svc.Refresh(context.Background()); !errors.Is(err, failing) || svc.Model() == nil {
		t.Errorf("failed refresh: %v; the previous model must stay", err)
	}
}

// checkFinite walks v (structs, pointers, slices, maps, exported or not)
// and reports every NaN or infinite float.
func checkFinite(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			t.Errorf("%s = %v", path, f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkFinite(t, path, v.Elem())
		}
	case reflect.Struct:
		for k := range v.NumField() {
			checkFinite(t, path+"."+v.Type().Field(k).Name, v.Field(k))
		}
	case reflect.Slice, reflect.Array:
		for k := range v.Len() {
			checkFinite(t, fmt.Sprintf("%s[%d]", path, k), v.Index(k))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			checkFinite(t, fmt.Sprintf("%s[%v]", path, it.Key()), it.Value())
		}
	}
}

// TestBuild_RandomInputsAreFinite is a property test: for random inputs,
// messy ones included, no profile field and no prediction is NaN or
// infinite, quantiles are ordered and non-negative, every response
// encodes as JSON, and building twice gives the same rankings.
func TestBuild_RandomInputsAreFinite(t *testing.T) {
	for seed := range uint64(24) {
		rng := rand.New(rand.NewPCG(seed, 42))
		n := 5 + rng.IntN(60)
		in := randomInputs(rng, n, 1+rng.IntN(8), rng.IntN(12), seed%3 != 0)
		m, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			for _, inf := range m.influencers {
				checkFinite(t, fmt.Sprint("influencer ", inf.ID), reflect.ValueOf(inf))
				if inf.Authenticity < 0 || inf.Authenticity > 1 || inf.Reach < 0 || inf.Skill <= 0 {
					t.Errorf("influencer %d: authenticity %v reach %v skill %v", inf.ID, inf.Authenticity, inf.Reach, inf.Skill)
				}
				if _, err := json.Marshal(inf); err != nil {
					t.Errorf("influencer %d: %v", inf.ID, err)
				}
			}
			checkFinite(t, "model", reflect.ValueOf(m).Elem())
			for id, b := range m.brands {
				for _, inf := range m.influencers {
					for _, c := range []float64{0, DefaultCommission, 0.9} {
						p := m.Predict(b, inf, c)
						checkFinite(t, fmt.Sprintf("predict(%d, %d)", id, inf.ID), reflect.ValueOf(p))
						if !(0 <= p.P10 && p.P10 <= p.P50 && p.P50 <= p.P90) || p.GMV < 0 || p.Orders < 0 {
							t.Errorf("predict(%d, %d) = %+v", id, inf.ID, p)
						}
					}
				}
			}
			m2, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			for id := range m.brands {
				for _, sort := range []string{SortP50, SortP10, SortGMV, SortROI} {
					r1, err := m.Rank(context.Background(), id, Query{Sort: sort, Limit: MaxLimit})
					if err != nil {
						t.Fatalf("rank brand %d by %s: %v", id, sort, err)
					}
					r2, _ := m2.Rank(context.Background(), id, Query{Sort: sort, Limit: MaxLimit})
					j1, err := json.Marshal(r1)
					if err != nil {
						t.Fatalf("ranking of brand %d does not encode: %v", id, err)
					}
					j2, _ := json.Marshal(r2)
					if string(j1) != string(j2) {
						t.Fatalf("brand %d by %s: two builds of the same inputs rank differently", id, sort)
					}
				}
			}
		})
	}
}
