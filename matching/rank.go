package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Errors callers branch on (the API maps them to 404 and 400).
var (
	ErrUnknownBrand      = errors.New("unknown brand")
	ErrUnknownInfluencer = errors.New("unknown influencer")
	ErrBadQuery          = errors.New("bad query")
)

// Sort orders of a ranking.
const (
	SortP50 = "p50" // median GMV, the default
	SortP10 = "p10" // the cautious: GMV exceeded in 9 lives of 10
	SortGMV = "gmv" // expected GMV
	SortROI = "roi" // ROI at the median; influencers without a fee last
)

// Query filters and orders a brand's ranking. Zero values select
// everything and the defaults.
type Query struct {
	Limit        int // default 20, at most MaxLimit
	Category     string
	Country      string
	MinFollowers uint64
	MaxFee       float64 // 0: no limit; else influencers with a known fee ≤ MaxFee
	Sort         string
	Commission   float64 // share of GMV the brand does not keep; default DefaultCommission
}

// MaxLimit bounds a ranking's length.
const MaxLimit = 200

// Candidate is one influencer in a brand's ranking.
type Candidate struct {
	InfluencerID uint64     `json:"influencer_id"`
	Handle       string     `json:"handle"`
	Followers    uint64     `json:"followers"`
	Country      string     `json:"country"`
	Categories   []string   `json:"categories"`
	Lives        int        `json:"lives"`
	Prediction   Prediction `json:"prediction"`
	Reasons      []string   `json:"reasons"`
}

// Ranking is a brand's ranked influencers.
type Ranking struct {
	BrandID uint64    `json:"brand_id"`
	Brand   string    `json:"brand"`
	Sort    string    `json:"sort"`
	AsOf    time.Time `json:"as_of"`
	// Matched is how many influencers passed the filters.
	Matched int         `json:"matched"`
	Items   []Candidate `json:"items"`
	// Note explains an empty or degraded result.
	Note string `json:"note,omitempty"`
}

func (q *Query) normalize() error {
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("%w: limit %d is outside 1..%d", ErrBadQuery, q.Limit, MaxLimit)
	}
	switch q.Sort {
	case "":
		q.Sort = SortP50
	case SortP50, SortP10, SortGMV, SortROI:
	default:
		return fmt.Errorf("%w: sort %q is not one of p50, p10, gmv, roi", ErrBadQuery, q.Sort)
	}
	if q.MaxFee < 0 || math.IsNaN(q.MaxFee) {
		return fmt.Errorf("%w: max_fee must be ≥ 0", ErrBadQuery)
	}
	if q.Commission == 0 {
		q.Commission = DefaultCommission
	}
	if q.Commission < 0 || q.Commission >= 1 || math.IsNaN(q.Commission) {
		return fmt.Errorf("%w: commission must be in [0, 1)", ErrBadQuery)
	}
	return nil
}

// Rank ranks the influencers for a sponsored live of brandID's products.
func (m *Model) Rank(ctx context.Context, brandID uint64, q Query) (*Ranking, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	b, ok := m.brands[brandID]
	if !ok {
		return nil, fmt.Errorf("%w: brand %d", ErrUnknownBrand, brandID)
	}
	r := &Ranking{BrandID: b.ID, Brand: b.Name, Sort: q.Sort, AsOf: m.AsOf, Items: []Candidate{}}
	type scored struct {
		inf *Influencer
		p   Prediction
		key float64
	}
	var all []scored
	for k, inf := range m.influencers {
		if k%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if q.Category != "" && !slices.Contains(inf.Categories, q.Category) ||
			q.Country != "" && inf.Country != q.Country ||
			inf.Followers < q.MinFollowers ||
			q.MaxFee > 0 && (inf.Fee <= 0 || inf.Fee > q.MaxFee) {
			continue
		}
		p := m.Predict(b, inf, q.Commission)
		s := scored{inf: inf, p: p}
		switch q.Sort {
		case SortP50:
			s.key = p.P50
		case SortP10:
			s.key = p.P10
		case SortGMV:
			s.key = p.GMV
		case SortROI:
			s.key = math.Inf(-1)
			if p.ROI != nil {
				s.key = *p.ROI
			}
		}
		all = append(all, s)
	}
	r.Matched = len(all)
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.key, a.key); c != 0 {
			return c
		}
		return cmp.Compare(a.inf.ID, b.inf.ID)
	})
	for _, s := range all[:min(q.Limit, len(all))] {
		inf := s.inf
		r.Items = append(r.Items, Candidate{InfluencerID: inf.ID, Handle: inf.Handle, Followers: inf.Followers, Country: inf.Country,
			Categories: inf.Categories, Lives: inf.Lives, Prediction: s.p, Reasons: m.Reasons(b, inf, s.p)})
	}
	switch {
	case len(m.influencers) == 0:
		r.Note = "no influencers known yet: the catalog has none"
	case r.Matched == 0:
		r.Note = "no influencer passes the filters; relax category, country, min_followers or max_fee"
	case len(b.mix) == 0 || b.Products == 0:
		r.Note = "the brand has no products in the catalog: nothing to predict sales of, every prediction is 0"
	}
	return r, nil
}
