package matching

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Source is what profiles are computed from: the store's aggregates as of
// a cut-off, and the catalog. *store.Store implements it.
type Source interface {
	Products(ctx context.Context) ([]event.Product, error)
	Influencers(ctx context.Context) ([]event.Influencer, error)
	BrandNames(ctx context.Context) (map[uint64]string, error)
	Lives(ctx context.Context) ([]event.Live, error)
	LiveAudiences(ctx context.Context, before time.Time) ([]store.LiveAudience, error)
	LiveProducts(ctx context.Context, before time.Time) ([]store.LiveProductStats, error)
	LiveChatStats(ctx context.Context, before time.Time) ([]store.LiveChats, error)
	Audiences(ctx context.Context, before time.Time) ([]store.AudienceCategory, error)
	ShopSales(ctx context.Context, before time.Time) ([]store.ProductSales, error)
}

// Inputs are the aggregates and catalog a Model is built from.
type Inputs struct {
	AsOf         time.Time
	Products     []event.Product
	Influencers  []event.Influencer
	BrandNames   map[uint64]string
	Lives        []event.Live
	Audiences    []store.LiveAudience
	LiveProducts []store.LiveProductStats
	Chats        []store.LiveChats
	Affinity     []store.AudienceCategory
	Shop         []store.ProductSales
}

// Load reads the inputs as of asOf: events before it, the catalog as it
// is now (lives that started after asOf are left out).
func Load(ctx context.Context, src Source, asOf time.Time) (*Inputs, error) {
	in := &Inputs{AsOf: asOf}
	var err error
	if in.Products, err = src.Products(ctx); err != nil {
		return nil, err
	}
	if in.Influencers, err = src.Influencers(ctx); err != nil {
		return nil, err
	}
	if in.BrandNames, err = src.BrandNames(ctx); err != nil {
		return nil, err
	}
	if in.Lives, err = src.Lives(ctx); err != nil {
		return nil, err
	}
	in.Lives = slices.DeleteFunc(in.Lives, func(l event.Live) bool { return !l.StartedAt.Before(asOf) })
	if in.Audiences, err = src.LiveAudiences(ctx, asOf); err != nil {
		return nil, err
	}
	if in.LiveProducts, err = src.LiveProducts(ctx, asOf); err != nil {
		return nil, err
	}
	if in.Chats, err = src.LiveChatStats(ctx, asOf); err != nil {
		return nil, err
	}
	if in.Affinity, err = src.Audiences(ctx, asOf); err != nil {
		return nil, err
	}
	if in.Shop, err = src.ShopSales(ctx, asOf); err != nil {
		return nil, err
	}
	return in, nil
}

// Prior strengths of the shrinkage (pseudo-observations). Documented in
// docs/matching.md with the model.
const (
	skillPrior      = 5.0   // orders at average skill (Gamma shape of the skill prior)
	pricePrior      = 20.0  // orders: a brand's sold prices vs. its catalog's mean price
	categoryPrior   = 400.0 // views: an influencer's category conversion vs. its prior
	qualityPrior    = 3.0   // orders: a brand's conversion vs. its category
	reachPriorLives = 1.0   // lives: observed reach vs. the followers-based prior
	trendWindow     = 30 * 24 * time.Hour
)

// Model holds the profiles of every influencer and brand as of a time and
// the platform-wide rates predictions are built from. It is immutable.
type Model struct {
	AsOf       time.Time
	Categories []string
	catIndex   map[string]int

	influencers []*Influencer
	inflByID    map[uint64]*Influencer
	brands      map[uint64]*Brand

	// base is orders per active live view per category at average
	// audience affinity and skill; affMean the average live viewer's
	// category shares.
	base, affMean []float64
	// Reach prior: log(views per live) = reachA + reachB·log(followers).
	reachA, reachB float64
	// cv2 is the pooled squared coefficient of variation of views per
	// live: how much one live differs from the influencer's mean.
	cv2 float64
	// convPhi is the pooled overdispersion of a live's orders per view
	// around the influencer's mean: Var[conversion of one live] =
	// convPhi·mean² beyond Poisson (the products shown, the hour, the mood).
	convPhi float64
	// unitsMean is the mean units per order.
	unitsMean float64
	// fakeBaseline is the median share of inactive viewers: real viewers
	// who have not browsed yet.
	fakeBaseline float64
	// AffinityExponent is γ in conversion ∝ affinity^γ, fitted on the lives'
	// orders: a live's buyers are its most engaged viewers, whose tastes
	// are more pronounced than the average viewer's shares say.
	AffinityExponent float64
}

// Influencer is an influencer's profile.
type Influencer struct {
	ID         uint64   `json:"influencer_id"`
	Handle     string   `json:"handle"`
	Followers  uint64   `json:"followers"`
	Country    string   `json:"country"`
	Categories []string `json:"categories"`
	// Fee is the rate card (EUR per sponsored live), else the mean fee of
	// past sponsored lives; 0 when unknown.
	Fee float64 `json:"fee"`

	Lives          int `json:"lives"`
	SponsoredLives int `json:"sponsored_lives"`
	// ViewersPerLive is the mean unique viewers of a live; Reach the
	// posterior mean of views by real (active) viewers per live.
	ViewersPerLive float64 `json:"viewers_per_live"`
	Reach          float64 `json:"reach"`
	reachVar       float64
	// ChatsPerViewer is engagement: chat messages per unique viewer.
	ChatsPerViewer float64 `json:"chats_per_viewer"`
	// QuestionsPerViewer counts chat messages asking something (a question
	// mark, or about a product) per unique viewer.
	QuestionsPerViewer float64 `json:"questions_per_viewer"`
	// Conversion is orders per real view in lives; Skill the posterior
	// mean of conversion relative to what the audience predicts (1 =
	// average), with skillShape its Gamma shape.
	Conversion float64 `json:"conversion"`
	Skill      float64 `json:"skill"`
	skillShape float64
	// OrderValue is the mean GMV per order in the influencer's lives.
	OrderValue float64 `json:"order_value"`
	// GMVPerLive overall, for sponsored and organic lives, and Trend: the
	// last 30 days' GMV per live over the earlier (0 if unknown).
	GMVPerLive          float64 `json:"gmv_per_live"`
	SponsoredGMVPerLive float64 `json:"sponsored_gmv_per_live"`
	OrganicGMVPerLive   float64 `json:"organic_gmv_per_live"`
	Trend               float64 `json:"trend,omitempty"`
	// InactiveViewerShare is the share of viewers who never browse;
	// BurstChatShare the share of chat messages in identical bursts;
	// Authenticity (0..1) lowers with both.
	InactiveViewerShare float64 `json:"inactive_viewer_share"`
	BurstChatShare      float64 `json:"burst_chat_share"`
	Authenticity        float64 `json:"authenticity"`
	// Audience is the real viewers' interest per category relative to the
	// average live viewer (1 = average), for categories with interest.
	Audience map[string]float64 `json:"audience"`
	// PastLives are the most recent lives, newest first.
	PastLives []LiveSummary `json:"past_lives"`

	affinity  []float64 // per category: audience share / average
	effAff    []float64 // affinity^AffinityExponent: what conversion uses
	catViews  []float64 // real live views per category
	catOrders []float64 // live orders per category
	sponsored map[uint64]brandHistory
	// groups are the lives' figures per sponsor brand (0: organic), from
	// which View computes what a brand token may see; rateCard is the
	// catalog's fee (0: unknown).
	groups   map[uint64]*liveTotals
	groupIDs []uint64 // groups' keys, sorted
	rateCard float64
}

// LiveSummary is one past live.
type LiveSummary struct {
	LiveID         uint64    `json:"live_id"`
	Start          time.Time `json:"start"`
	SponsorBrandID uint64    `json:"sponsor_brand_id,omitempty"`
	Viewers        uint64    `json:"viewers"`
	Orders         uint64    `json:"orders"`
	GMV            float64   `json:"gmv"`
}

type brandHistory struct {
	lives int
	gmv   float64
}

// Brand is a brand's profile.
type Brand struct {
	ID       uint64 `json:"brand_id"`
	Name     string `json:"name"`
	Products int    `json:"products"`
	// Mix is the share of the brand's products per category; a sponsored
	// live shows a selection of them.
	Mix map[string]float64 `json:"category_mix"`
	// PriceTier is the brand's mean price relative to its categories'
	// (1 = market).
	PriceTier      float64 `json:"price_tier"`
	SponsoredLives int     `json:"sponsored_lives"`
	SponsoredGMV   float64 `json:"sponsored_gmv"`

	mix      []float64 // per category
	quality  []float64 // conversion relative to the category, posterior mean
	price    []float64 // mean price per category
	priceVar []float64 // variance of prices per category
}

// Influencer returns the profile of id.
func (m *Model) Influencer(id uint64) (*Influencer, bool) {
	in, ok := m.inflByID[id]
	return in, ok
}

// Brand returns the profile of id.
func (m *Model) Brand(id uint64) (*Brand, bool) {
	b, ok := m.brands[id]
	return b, ok
}

// NumInfluencers returns how many influencers the model knows.
func (m *Model) NumInfluencers() int { return len(m.influencers) }

// round2 rounds to cents, round3 to thousandths. They are non-finite-proof:
// NaN and infinities become 0 (an answer is always a JSON document), and a
// value too large to have cents left is returned as it is instead of
// overflowing in the multiplication.
func round2(v float64) float64 { return roundTo(v, 100) }
func round3(v float64) float64 { return roundTo(v, 1000) }
func round4(v float64) float64 { return roundTo(v, 1e4) }

func roundTo(v, scale float64) float64 {
	switch {
	case !finite(v):
		return 0
	case math.Abs(v) >= 1<<52/scale:
		return v // no fraction left at this scale
	}
	return math.Round(v*scale) / scale
}

// knownFee reports whether fee is a fee an ROI can be computed with: at
// least a cent (event.MinFee) and finite. Below is 0, unknown.
func knownFee(fee float64) bool { return fee >= event.MinFee && finite(fee) }

// catalogFee returns a fee from the catalog as the profiles use it: one
// outside the contract's bounds (a version stored before the bounds were
// checked at ingest) counts as unknown.
func catalogFee(fee float64) float64 {
	if !knownFee(fee) || fee > event.MaxFee {
		return 0
	}
	return fee
}
