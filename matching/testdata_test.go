package matching

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Synthetic inputs for the profile, prediction and ranking tests: a
// builder that writes store aggregates directly (the SQL producing them is
// tested in store/matching_test.go), and a base world of a few brands and
// two dozen ordinary influencers that the tests add their special cases to.

var testAsOf = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// world builds Inputs.
type world struct {
	in       *Inputs
	byCat    map[string][]uint64 // products per category, in creation order
	price    map[uint64]float64
	nextLive uint64
	nextProd uint64
}

func newWorld() *world {
	return &world{
		in:       &Inputs{AsOf: testAsOf, BrandNames: map[uint64]string{}},
		byCat:    map[string][]uint64{},
		price:    map[uint64]float64{},
		nextLive: 1,
		nextProd: 1,
	}
}

func (w *world) brand(id uint64, name string) { w.in.BrandNames[id] = name }

// product adds a product of brand with its shop sales: views and orders
// of one unit each.
func (w *world) product(brand uint64, cat string, price float64, views, orders uint64) uint64 {
	id := w.nextProd
	w.nextProd++
	w.in.Products = append(w.in.Products, event.Product{ProductID: id, BrandID: brand, Category: cat, Title: fmt.Sprint("p", id), Price: price, Currency: "EUR", InStock: true})
	w.in.Shop = append(w.in.Shop, store.ProductSales{ProductID: id, Views: views, Orders: orders, Units: orders, GMV: float64(orders) * price})
	w.byCat[cat] = append(w.byCat[cat], id)
	w.price[id] = price
	return id
}

func (w *world) influencer(id, followers uint64, country string, fee float64, cats ...string) {
	w.in.Influencers = append(w.in.Influencers, event.Influencer{InfluencerID: id, Handle: fmt.Sprint("@inf", id), Followers: followers, Country: country, Categories: cats, Fee: fee})
}

// audience adds the influencer's live viewers' interest per category (the
// sum over viewers of each category's share of their shop views).
func (w *world) audience(inf uint64, shares map[string]float64) {
	keys := make([]string, 0, len(shares))
	for c := range shares {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for _, c := range keys {
		w.in.Affinity = append(w.in.Affinity, store.AudienceCategory{InfluencerID: inf, Category: c, Share: shares[c]})
	}
}

// liveSpec is one live. The active views are split evenly over the
// categories of conv, each showing one product of the category, which
// sells conv[c] orders per active view (one unit each).
type liveSpec struct {
	age                 time.Duration // how long before AsOf it started
	sponsor             uint64
	fee                 float64
	views, viewers      uint64
	activeViews, active uint64
	chats, burst        uint64
	conv                map[string]float64
}

// plain is a live of activeViews real views with the usual audience:
// two views per viewer, 80 % of viewers active, a chat per 5 viewers.
func plain(age time.Duration, activeViews uint64, conv map[string]float64) liveSpec {
	active := activeViews / 2
	viewers := active * 5 / 4
	return liveSpec{age: age, views: activeViews + (viewers-active)*2, viewers: viewers, activeViews: activeViews, active: active, chats: viewers / 5, conv: conv}
}

func (w *world) live(inf uint64, s liveSpec) uint64 {
	id := w.nextLive
	w.nextLive++
	start := w.in.AsOf.Add(-s.age)
	w.in.Lives = append(w.in.Lives, event.Live{LiveID: id, InfluencerID: inf, SponsorBrandID: s.sponsor, Fee: s.fee, StartedAt: start, EndedAt: start.Add(time.Hour), UpdatedAt: start.Add(time.Hour)})
	w.in.Audiences = append(w.in.Audiences, store.LiveAudience{LiveID: id, InfluencerID: inf, Start: start, Views: s.views, Viewers: s.viewers, ActiveViews: s.activeViews, ActiveViewers: s.active})
	if s.chats > 0 {
		w.in.Chats = append(w.in.Chats, store.LiveChats{LiveID: id, Chats: s.chats, Chatters: s.chats / 2, BurstChats: s.burst, ActiveChatters: s.chats / 3})
	}
	cats := make([]string, 0, len(s.conv))
	for c := range s.conv {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	for _, c := range cats {
		ps := w.byCat[c]
		p := ps[int(id)%len(ps)]
		v := s.activeViews / uint64(len(cats))
		o := uint64(math.Round(float64(v) * s.conv[c]))
		w.in.LiveProducts = append(w.in.LiveProducts, store.LiveProductStats{LiveID: id, ProductID: p, ActiveViews: v, Orders: o, Units: o, GMV: float64(o) * w.price[p]})
	}
	return id
}

func (w *world) build(t testing.TB) *Model {
	t.Helper()
	m, err := Build(w.in)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The base world's categories and brands.
var baseCats = []string{"beauty", "electronics", "fashion", "kitchenware"}

const (
	brandKitchen = 1 // kitchenware only
	brandBeauty  = 2 // beauty only
	brandMixed   = 3 // kitchenware and fashion, pricier
	brandNone    = 4 // in the catalog without products
	brandVolt    = 5 // electronics and fashion
)

// baseConv is the usual orders per active view in every category.
const baseConv = 0.02

func evenConv(rate float64) map[string]float64 {
	m := map[string]float64{}
	for _, c := range baseCats {
		m[c] = rate
	}
	return m
}

// spread are the relative sizes of an influencer's successive lives:
// their mean over any 10 lives is 1.
var spread = []float64{0.7, 1.0, 1.3, 0.85, 1.15}

// baseReach is the usual real views per live of an influencer with
// followers: reach grows as followers^0.9.
func baseReach(followers uint64) float64 { return 0.05 * math.Pow(float64(followers), 0.9) }

// Background influencers: ids 100..123.
const (
	firstBackground = 100
	numBackground   = 24
)

var countries = []string{"IT", "FR", "DE"}

// baseWorld returns brands 1–5 with products and shop sales, and 24
// ordinary influencers (ids 100–123): followers from 10k to ~660k, 10
// lives each over the last 54 days at the usual reach and conversion, an
// even audience. Every fourth has no known fee.
func baseWorld() *world {
	w := newWorld()
	w.brand(brandKitchen, "Cucina")
	w.brand(brandBeauty, "Glow")
	w.brand(brandMixed, "Casa Moda")
	w.brand(brandNone, "Nuovo")
	w.brand(brandVolt, "Volt")
	for k := range 5 {
		w.product(brandKitchen, "kitchenware", 30+5*float64(k), 2000, 40)
		w.product(brandBeauty, "beauty", 15+2*float64(k), 2000, 60)
	}
	w.product(brandMixed, "kitchenware", 90, 1000, 30) // converts 1.5× its category
	w.product(brandMixed, "fashion", 70, 1000, 10)
	w.product(brandMixed, "fashion", 110, 1000, 10)
	for k := range 4 {
		w.product(brandVolt, "electronics", 150+50*float64(k), 3000, 30)
		w.product(brandVolt, "fashion", 40+10*float64(k), 1500, 30)
	}
	for k := range numBackground {
		id := uint64(firstBackground + k)
		followers := uint64(10000 * math.Pow(1.2, float64(k)))
		fee := 100 + 25*float64(k)
		if k%4 == 3 {
			fee = 0
		}
		w.influencer(id, followers, countries[k%3], fee, baseCats[k%4], baseCats[(k+1)%4])
		w.audience(id, map[string]float64{"beauty": 25, "electronics": 25, "fashion": 25, "kitchenware": 25})
		for l := range 10 {
			reach := math.Round(baseReach(followers) * spread[(k+l)%5])
			w.live(id, plain(time.Duration(6*l)*day+time.Hour, uint64(reach), evenConv(baseConv)))
		}
	}
	return w
}

// randomInputs returns a random world of n influencers over nc
// categories, with 0–maxLives lives each. With messy it adds what real
// data has now and then: influencers with no followers or seen only in
// events, empty lives, sales of unknown products, free products, orders
// without units, chats of unknown lives, sponsors not in the catalog.
func randomInputs(rng *rand.Rand, n, nc, maxLives int, messy bool) *Inputs {
	w := newWorld()
	cats := make([]string, nc)
	for c := range cats {
		cats[c] = fmt.Sprintf("cat%02d", c)
	}
	nb := max(2, n/100)
	for b := range nb {
		w.brand(uint64(b+1), fmt.Sprint("brand", b+1))
		for range 2 + rng.IntN(12) {
			price := math.Round(5 + 300*rng.Float64()*rng.Float64())
			if messy && rng.IntN(20) == 0 {
				price = 0
			}
			views := uint64(rng.IntN(5000))
			w.product(uint64(b+1), cats[rng.IntN(nc)], price, views, uint64(float64(views)*0.05*rng.Float64()))
		}
	}
	// Every category has at least one product to show in lives.
	for _, c := range cats {
		if len(w.byCat[c]) == 0 {
			w.product(1, c, 20, 100, 2)
		}
	}
	sameFollowers := messy && rng.IntN(4) == 0
	for k := range n {
		id := uint64(1000 + k)
		followers := uint64(math.Exp(7 + 7*rng.Float64()))
		switch {
		case sameFollowers:
			followers = 50000
		case messy && rng.IntN(15) == 0:
			followers = 0
		}
		fee := 0.0
		if rng.IntN(5) > 0 {
			fee = math.Round(50 + 2000*rng.Float64()*rng.Float64())
		}
		mine := []string{cats[rng.IntN(nc)], cats[rng.IntN(nc)]}
		if !messy || rng.IntN(10) > 0 {
			w.influencer(id, followers, countries[rng.IntN(3)], fee, mine...)
		}
		shares := map[string]float64{}
		viewers := 10 + rng.Float64()*500
		for range 1 + rng.IntN(5) {
			shares[cats[rng.IntN(nc)]] += viewers * rng.Float64()
		}
		if messy && rng.IntN(20) == 0 {
			shares[cats[0]] = 0
		}
		w.audience(id, shares)
		skill := math.Exp(0.4 * rng.NormFloat64())
		reach := 0.05 * math.Pow(float64(max(followers, 100)), 0.9)
		for range rng.IntN(maxLives + 1) {
			active := uint64(reach * math.Exp(0.3*rng.NormFloat64()))
			conv := map[string]float64{}
			for range 1 + rng.IntN(3) {
				c := mine[rng.IntN(2)]
				if rng.IntN(3) == 0 {
					c = cats[rng.IntN(nc)]
				}
				conv[c] = 0.02 * skill * rng.Float64() * 2
			}
			s := plain(time.Duration(rng.Float64()*90*float64(day)), active, conv)
			s.active = uint64(float64(s.viewers) * (0.3 + 0.7*rng.Float64()))
			s.burst = uint64(float64(s.chats) * rng.Float64() * rng.Float64())
			if rng.IntN(4) == 0 {
				s.sponsor = uint64(1 + rng.IntN(nb))
				s.fee = fee
			}
			if messy {
				switch rng.IntN(25) {
				case 0:
					s.views, s.viewers, s.activeViews, s.active, s.chats, s.burst = 0, 0, 0, 0, 0, 0
				case 1:
					s.sponsor = 999999 // not in the catalog
				case 2:
					s.conv = nil
				}
			}
			w.live(id, s)
		}
	}
	if messy {
		// Sales of a product not in the catalog, orders without units,
		// chats of a live without views, a view-less influencer's
		// audience, a live ending before the cut-off with no audience.
		if len(w.in.Lives) > 0 {
			l := w.in.Lives[rng.IntN(len(w.in.Lives))].LiveID
			w.in.LiveProducts = append(w.in.LiveProducts,
				store.LiveProductStats{LiveID: l, ProductID: 987654, ActiveViews: 10, Orders: 3, Units: 3, GMV: 99},
				store.LiveProductStats{LiveID: l, ProductID: w.in.Products[0].ProductID, ActiveViews: 0, Orders: 2, Units: 0, GMV: 0})
		}
		w.in.Chats = append(w.in.Chats, store.LiveChats{LiveID: 888888, Chats: 50, BurstChats: 50})
		w.in.Affinity = append(w.in.Affinity, store.AudienceCategory{InfluencerID: 777777, Category: "only-here", Share: 3})
		w.in.Lives = append(w.in.Lives, event.Live{LiveID: 555555, InfluencerID: 1000, StartedAt: testAsOf.Add(-day)})
		w.brand(uint64(nb+1), "no products")
	}
	return w.in
}
