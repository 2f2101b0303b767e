package sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vetrina/vetrina/event"
)

// Currency is the currency of every price in the simulation.
const Currency = "EUR"

// True-model constants; see the package documentation.
const (
	medianFollowers = 20000.0
	followersSigma  = 1.3
	reachExponent   = 0.7

	browseBuyRate = 0.014
	liveBuyRate   = 0.055
	maxBuyProb    = 0.5
	maxChatProb   = 0.9
	meanQuantity  = 1.25 // 1, 2, 3 with probabilities 0.8, 0.15, 0.05

	feedExplore      = 0.15
	foreignAudience  = 0.3
	botShareDivisor  = 50 // one user in 50 is a bot
	fakeBurstProb    = 0.06
	minPriceFactor   = 0.3
	maxPriceFactor   = 3.0
	defaultRefPrice  = 40.0
	audienceFocus    = 0.75
	userFocus        = 0.85
	activitySigma    = 1.2
	appealSigma      = 0.5
	priceSigma       = 0.35
	priceTierSigma   = 0.4
	skillSigma       = 0.45
	chatRateMean     = 0.12
	chatRateSigma    = 0.5
	feeSigma         = 0.35
	feePerFollower   = 0.012
	feeBase          = 30.0
	minFollowers     = 100
	brandSecondShare = 0.4
	secondCatShare   = 0.3
)

// surfaceBoost is the purchase-probability multiplier of a browse surface.
func surfaceBoost(s event.Surface) float64 {
	switch s {
	case event.SurfaceFeed:
		return 0.7
	case event.SurfaceSearch:
		return 1.5
	case event.SurfaceShop:
		return 1.1
	}
	return 0
}

// User is a shopper (or, if Bot, a fake account).
type User struct {
	ID      uint64 `json:"id"`
	Country string `json:"country"`
	// Tastes is the user's true interest per category (indexed like
	// Config.Categories); it sums to 1.
	Tastes []float64 `json:"tastes"`
	// Activity is the browsing rate, in events per simulated hour.
	Activity float64 `json:"activity"`
	// Bot marks fake accounts: they never browse or buy, have uniform
	// tastes, and make up the fake audience of influencers.
	Bot bool `json:"bot,omitempty"`
}

// Brand is a manufacturer selling through Vetrina.
type Brand struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Country string `json:"country"`
	// PriceTier scales the prices of the brand's products (1 = market).
	PriceTier float64 `json:"price_tier"`
	// Categories are the categories the brand makes products in, primary
	// first.
	Categories []string `json:"categories"`
}

// Product is one article of a brand.
type Product struct {
	ID       uint64  `json:"id"`
	BrandID  uint64  `json:"brand_id"`
	Category string  `json:"category"`
	Title    string  `json:"title"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
	// Appeal is the true latent quality (log-normal, mean 1).
	Appeal float64 `json:"appeal"`
	// PriceFactor is sqrt(reference price of the category / Price),
	// clamped to [0.3, 3]: how much the price helps conversion.
	PriceFactor float64 `json:"price_factor"`
}

// Influencer is a creator who runs lives.
type Influencer struct {
	ID         uint64   `json:"id"`
	Handle     string   `json:"handle"`
	Followers  uint64   `json:"followers"`
	Country    string   `json:"country"`
	Categories []string `json:"categories"`
	// AudienceTastes is the taste profile of the influencer's audience, per
	// category (sums to 1); viewers are matched against it.
	AudienceTastes []float64 `json:"audience_tastes"`
	// Skill is the true conversion multiplier (log-normal, median 1).
	Skill float64 `json:"skill"`
	// ChatRate is the probability that a real viewer's visit produces a
	// chat message (capped at 0.9).
	ChatRate float64 `json:"chat_rate"`
	// Fee is what a brand pays, in EUR, per sponsored live.
	Fee float64 `json:"fee"`
	// FakeShare is the share of live views that come from bots.
	FakeShare float64 `json:"fake_share"`
}

// World is a simulated marketplace with its true parameters. It is
// immutable after NewWorld and safe for concurrent use; the ID of every
// entity is its index in its slice plus one.
type World struct {
	Config Config `json:"config"`
	// CategoryPopularity is the share of users focused on each category.
	CategoryPopularity []float64 `json:"category_popularity"`
	// CategoryPrices is the reference price of each category.
	CategoryPrices []float64    `json:"category_prices"`
	Users          []User       `json:"users"`
	Brands         []Brand      `json:"brands"`
	Products       []Product    `json:"products"`
	Influencers    []Influencer `json:"influencers"`

	idx            worldIndex
	browse         aliasTable
	catAlias       []aliasTable
	catIndexByName map[string]int
}

// worldIndex holds derived lookup tables used by the generator.
type worldIndex struct {
	tastes        []float64  // all users' tastes, user-major (backs User.Tastes)
	activity      []float64  // Activity per user
	quality       []float64  // Appeal*PriceFactor per product
	productCat    []uint16   // category index per product
	userCountry   []uint8    // country index per user
	inflCountry   []uint8    // country index per influencer
	inflCats      [][]int    // category indices per influencer
	brandCats     [][]int    // category indices per brand
	brandProducts [][]uint32 // product indices per brand
	catProducts   [][]uint32 // product indices per category
	nonEmptyCats  []int      // categories with at least one product
	bots          []uint32   // user indices of bots
	browseRate    float64    // total browse events per simulated second
}

// NewWorld validates cfg and builds the world it describes. The same Config
// always yields the same world.
func NewWorld(cfg Config) (*World, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if len(cfg.Categories) > math.MaxUint16 {
		return nil, fmt.Errorf("%w: %d categories, want at most %d", ErrInvalidConfig, len(cfg.Categories), math.MaxUint16)
	}
	w := &World{Config: cfg, catIndexByName: make(map[string]int, len(cfg.Categories))}
	for i, c := range cfg.Categories {
		w.catIndexByName[c] = i
	}
	w.genCategories()
	w.genUsers()
	w.genBrands()
	w.genProducts()
	w.genInfluencers()
	w.buildIndex()
	return w, nil
}

func (w *World) genCategories() {
	r := newRand(w.Config.Seed, streamWorld)
	nc := len(w.Config.Categories)
	w.CategoryPopularity = make([]float64, nc)
	w.CategoryPrices = make([]float64, nc)
	var sum float64
	for i, name := range w.Config.Categories {
		w.CategoryPopularity[i] = gammaVariate(r, 3)
		sum += w.CategoryPopularity[i]
		if info, ok := categoryInfo[name]; ok {
			w.CategoryPrices[i] = info.price
		} else {
			w.CategoryPrices[i] = math.Round(logNormal(r, math.Log(defaultRefPrice), 0.5))
		}
	}
	for i := range w.CategoryPopularity {
		w.CategoryPopularity[i] /= sum
	}
}

// focusedTastes fills t with a taste vector with mass focus spread over
// the categories in cats (Dirichlet(2)) and the rest over all categories
// (Dirichlet(0.3)), and returns it.
func focusedTastes(r *rand.Rand, t []float64, cats []int, focus float64) []float64 {
	var bg float64
	for i := range t {
		t[i] = gammaVariate(r, 0.3)
		bg += t[i]
	}
	fw := make([]float64, len(cats))
	var fs float64
	for i := range fw {
		fw[i] = gammaVariate(r, 2)
		fs += fw[i]
	}
	if bg > 0 {
		for i := range t {
			t[i] *= (1 - focus) / bg
		}
	} else {
		focus = 1
	}
	for i, c := range cats {
		t[c] += focus * fw[i] / fs
	}
	return t
}

// numFocus draws how many categories an entity focuses on: 1, 2 or 3.
func numFocus(r *rand.Rand, p1, p2 float64, nc int) int {
	u := r.Float64()
	n := 3
	switch {
	case u < p1:
		n = 1
	case u < p1+p2:
		n = 2
	}
	return min(n, nc)
}

func (w *World) genUsers() {
	r := newRand(w.Config.Seed, streamUsers)
	nc := len(w.Config.Categories)
	cw := countryWeights()
	w.Users = make([]User, w.Config.Users)
	w.idx.userCountry = make([]uint8, w.Config.Users)
	// All taste vectors share one backing array, in user order, so that
	// the generator's per-live passes over every user stay cache-friendly.
	w.idx.tastes = make([]float64, w.Config.Users*nc)
	for i := range w.Users {
		ci := pickWeighted(r, cw)
		focus := pickDistinct(r, w.CategoryPopularity, numFocus(r, 0.4, 0.4, nc))
		w.Users[i] = User{
			ID:       uint64(i + 1),
			Country:  countries[ci].code,
			Tastes:   focusedTastes(r, w.idx.tastes[i*nc:(i+1)*nc:(i+1)*nc], focus, userFocus),
			Activity: logNormalMean(r, w.Config.MeanActivity, activitySigma),
		}
		w.idx.userCountry[i] = uint8(ci)
	}
	nb := max(1, w.Config.Users/botShareDivisor)
	perm := r.Perm(w.Config.Users)[:nb]
	w.idx.bots = make([]uint32, nb)
	for j, i := range perm {
		u := &w.Users[i]
		u.Bot = true
		u.Activity = 0
		for c := range u.Tastes {
			u.Tastes[c] = 1 / float64(nc)
		}
		w.idx.bots[j] = uint32(i)
	}
}

func (w *World) genBrands() {
	r := newRand(w.Config.Seed, streamBrands)
	nc := len(w.Config.Categories)
	cw := countryWeights()
	used := make(map[string]bool, w.Config.Brands)
	cycle := r.Perm(nc)
	w.Brands = make([]Brand, w.Config.Brands)
	w.idx.brandCats = make([][]int, w.Config.Brands)
	for i := range w.Brands {
		// The first brands cover every category once; later ones follow
		// category popularity.
		var cats []int
		if i < nc {
			cats = []int{cycle[i]}
		} else {
			cats = []int{pickWeighted(r, w.CategoryPopularity)}
		}
		if nc > 1 && r.Float64() < brandSecondShare {
			pw := append([]float64(nil), w.CategoryPopularity...)
			pw[cats[0]] = 0
			cats = append(cats, pickWeighted(r, pw))
		}
		names := make([]string, len(cats))
		for j, c := range cats {
			names[j] = w.Config.Categories[c]
		}
		w.Brands[i] = Brand{
			ID:         uint64(i + 1),
			Name:       brandName(r, used),
			Country:    countries[pickWeighted(r, cw)].code,
			PriceTier:  logNormal(r, 0, priceTierSigma),
			Categories: names,
		}
		w.idx.brandCats[i] = cats
	}
}

func (w *World) genProducts() {
	r := newRand(w.Config.Seed, streamProducts)
	ppb := w.Config.ProductsPerBrand
	w.Products = make([]Product, 0, len(w.Brands)*ppb)
	w.idx.productCat = make([]uint16, 0, len(w.Brands)*ppb)
	w.idx.brandProducts = make([][]uint32, len(w.Brands))
	for bi := range w.Brands {
		b := &w.Brands[bi]
		cats := w.idx.brandCats[bi]
		for range ppb {
			c := cats[0]
			if len(cats) > 1 && r.Float64() < secondCatShare {
				c = cats[1]
			}
			ref := w.CategoryPrices[c]
			price := math.Floor(ref*b.PriceTier*logNormal(r, 0, priceSigma)) + 0.99
			pf := math.Min(maxPriceFactor, math.Max(minPriceFactor, math.Sqrt(ref/price)))
			name := w.Config.Categories[c]
			nouns := genericNouns
			if info, ok := categoryInfo[name]; ok {
				nouns = info.nouns
			}
			title := b.Name + " " + adjectives[r.IntN(len(adjectives))] + " " + nouns[r.IntN(len(nouns))]
			pi := len(w.Products)
			w.Products = append(w.Products, Product{
				ID:          uint64(pi + 1),
				BrandID:     b.ID,
				Category:    name,
				Title:       title,
				Price:       price,
				Currency:    Currency,
				Appeal:      logNormalMean(r, 1, appealSigma),
				PriceFactor: pf,
			})
			w.idx.productCat = append(w.idx.productCat, uint16(c))
			w.idx.brandProducts[bi] = append(w.idx.brandProducts[bi], uint32(pi))
		}
	}
}

func (w *World) genInfluencers() {
	r := newRand(w.Config.Seed, streamInfluencers)
	nc := len(w.Config.Categories)
	cw := countryWeights()
	used := make(map[string]bool, w.Config.Influencers)
	w.Influencers = make([]Influencer, w.Config.Influencers)
	w.idx.inflCountry = make([]uint8, w.Config.Influencers)
	w.idx.inflCats = make([][]int, w.Config.Influencers)
	for i := range w.Influencers {
		handle := influencerHandle(r, used)
		followers := uint64(max(minFollowers, math.Round(logNormal(r, math.Log(medianFollowers), followersSigma))))
		ci := pickWeighted(r, cw)
		cats := pickDistinct(r, w.CategoryPopularity, numFocus(r, 0.35, 0.45, nc))
		names := make([]string, len(cats))
		for j, c := range cats {
			names[j] = w.Config.Categories[c]
		}
		var fake float64
		switch u := r.Float64(); {
		case u < 0.85:
		case u < 0.95:
			fake = uniform(r, 0.02, 0.15)
		default:
			fake = uniform(r, 0.3, 0.8)
		}
		w.Influencers[i] = Influencer{
			ID:             uint64(i + 1),
			Handle:         handle,
			Followers:      followers,
			Country:        countries[ci].code,
			Categories:     names,
			AudienceTastes: focusedTastes(r, make([]float64, nc), cats, audienceFocus),
			Skill:          logNormal(r, 0, skillSigma),
			ChatRate:       logNormalMean(r, chatRateMean, chatRateSigma),
			Fee:            math.Round(feeBase + float64(followers)*feePerFollower*logNormal(r, 0, feeSigma)),
			FakeShare:      fake,
		}
		w.idx.inflCountry[i] = uint8(ci)
		w.idx.inflCats[i] = cats
	}
}

func (w *World) buildIndex() {
	nc := len(w.Config.Categories)
	act := make([]float64, len(w.Users))
	var total float64
	for i := range w.Users {
		act[i] = w.Users[i].Activity
		total += act[i]
	}
	w.idx.activity = act
	w.idx.browseRate = total / 3600
	w.browse.build(act, make([]float64, len(act)))

	w.idx.quality = make([]float64, len(w.Products))
	for i := range w.Products {
		w.idx.quality[i] = w.Products[i].Appeal * w.Products[i].PriceFactor
	}
	w.idx.catProducts = make([][]uint32, nc)
	for pi, c := range w.idx.productCat {
		w.idx.catProducts[c] = append(w.idx.catProducts[c], uint32(pi))
	}
	w.catAlias = make([]aliasTable, nc)
	for c, ps := range w.idx.catProducts {
		if len(ps) == 0 {
			continue
		}
		w.idx.nonEmptyCats = append(w.idx.nonEmptyCats, c)
		wt := make([]float64, len(ps))
		for j, pi := range ps {
			p := &w.Products[pi]
			wt[j] = p.Appeal * math.Sqrt(p.PriceFactor)
		}
		w.catAlias[c].build(wt, make([]float64, len(wt)))
	}
}

// CategoryIndex returns the index of the named category in
// Config.Categories (and in every taste vector), or -1.
func (w *World) CategoryIndex(name string) int {
	if i, ok := w.catIndexByName[name]; ok {
		return i
	}
	return -1
}

// User returns the user with the given ID.
func (w *World) User(id uint64) (*User, bool) {
	if id == 0 || id > uint64(len(w.Users)) {
		return nil, false
	}
	return &w.Users[id-1], true
}

// Brand returns the brand with the given ID.
func (w *World) Brand(id uint64) (*Brand, bool) {
	if id == 0 || id > uint64(len(w.Brands)) {
		return nil, false
	}
	return &w.Brands[id-1], true
}

// Product returns the product with the given ID.
func (w *World) Product(id uint64) (*Product, bool) {
	if id == 0 || id > uint64(len(w.Products)) {
		return nil, false
	}
	return &w.Products[id-1], true
}

// Influencer returns the influencer with the given ID.
func (w *World) Influencer(id uint64) (*Influencer, bool) {
	if id == 0 || id > uint64(len(w.Influencers)) {
		return nil, false
	}
	return &w.Influencers[id-1], true
}

// Affinity returns the true preference of a user for a product,
// Tastes[category] * Appeal * PriceFactor, or 0 for unknown IDs and bots.
// Every purchase probability of the model is proportional to it (up to a
// cap), so it is the ground truth for ranking products for a user.
func (w *World) Affinity(userID, productID uint64) float64 {
	u, ok := w.User(userID)
	if !ok || u.Bot {
		return 0
	}
	if productID == 0 || productID > uint64(len(w.Products)) {
		return 0
	}
	return w.affinity(int(userID-1), int(productID-1))
}

func (w *World) affinity(ui, pi int) float64 {
	return w.idx.tastes[ui*len(w.Config.Categories)+int(w.idx.productCat[pi])] * w.idx.quality[pi]
}

// BrowsePurchaseProb returns the true probability that a view of the
// product by the user on a browse surface (feed, search or shop) leads to a
// purchase; 0 for other surfaces, unknown IDs and bots.
func (w *World) BrowsePurchaseProb(userID, productID uint64, s event.Surface) float64 {
	return browseBuyProb(s, w.Affinity(userID, productID))
}

// browseBuyProb is the probability that a view on browse surface s of a
// product of the given affinity leads to a purchase. The generator draws
// browse purchases with it.
func browseBuyProb(s event.Surface, affinity float64) float64 {
	return min(maxBuyProb, browseBuyRate*surfaceBoost(s)*affinity)
}

// LivePurchaseProb returns the true probability that a real viewer's view
// of the product in a live of the influencer leads to a purchase; 0 for
// unknown IDs and bots.
func (w *World) LivePurchaseProb(userID, productID, influencerID uint64) float64 {
	in, ok := w.Influencer(influencerID)
	if !ok {
		return 0
	}
	return liveBuyProb(in.Skill, w.Affinity(userID, productID))
}

// liveBuyProb is the probability that a real viewer's view of a product of
// the given affinity in a live of an influencer of the given skill leads to
// a purchase. The generator draws live purchases with it.
func liveBuyProb(skill, affinity float64) float64 {
	return min(maxBuyProb, liveBuyRate*skill*affinity)
}

// LiveViewsPerHour returns the expected number of views per simulated hour
// of a live by the influencer (bots included).
func (w *World) LiveViewsPerHour(influencerID uint64) float64 {
	in, ok := w.Influencer(influencerID)
	if !ok {
		return 0
	}
	return w.Config.LiveViewsPerHour * math.Pow(float64(in.Followers)/medianFollowers, reachExponent)
}
