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
	Limit int // default 20, at most MaxLimit
	// Offset skips the first Offset of the ranking (pages); it is below
	// MaxLimit, and a page ends at the MaxLimit best.
	Offset       int
	Category     string
	Country      string
	MinFollowers uint64
	MaxFee       float64 // 0: no limit; else influencers with a known fee ≤ MaxFee
	Sort         string
	// Commission is the share of GMV the brand does not keep; nil means
	// DefaultCommission (0 is a commission of 0).
	Commission *float64
	// Visible is what the caller may see of other brands' sponsored lives
	// (nil: everything); the candidates' figures and fees are as it sees
	// them (Model.View).
	Visible Visible
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
	// NextCursor fetches the next page (the API sets it); empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
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
	if q.Offset < 0 || q.Offset >= MaxLimit {
		return fmt.Errorf("%w: pages end at the %d best influencers (offset %d)", ErrBadQuery, MaxLimit, q.Offset)
	}
	// The last page stops at the MaxLimit best.
	q.Limit = min(q.Limit, MaxLimit-q.Offset)
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
	if q.Commission == nil {
		c := DefaultCommission
		q.Commission = &c
	}
	if c := *q.Commission; c < 0 || c >= 1 || math.IsNaN(c) {
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
	commission := *q.Commission
	// Every influencer that passes the filters gets the moments of its
	// prediction (cheap) and an upper bound of its sort key; the Gamma
	// quantiles (costly) are computed best bound first, only until no
	// bound left can beat the limit-th key. The answer is the one of
	// sorting every full prediction by key, then id.
	type scored struct {
		inf            *Influencer
		fee            float64 // as the caller sees it
		mean, variance float64
		key, bound     float64
		exact          bool
	}
	all := make([]scored, 0, len(m.influencers))
	for k, full := range m.influencers {
		if k%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		inf := full
		fee := m.feeFor(inf, q.Visible)
		if q.Category != "" && !slices.Contains(inf.Categories, q.Category) ||
			q.Country != "" && inf.Country != q.Country ||
			inf.Followers < q.MinFollowers ||
			q.MaxFee > 0 && (!knownFee(fee) || fee > q.MaxFee) {
			continue
		}
		mo := m.moments(b, inf)
		s := scored{inf: inf, fee: fee, mean: mo.mean, variance: mo.variance}
		// P10 ≤ P50 ≤ the mean, with slack for the quantile search and
		// the rounding to cents.
		upper := mo.mean*(1+1e-6) + 0.01
		switch {
		case q.Sort == SortGMV:
			s.key, s.exact = round2(mo.mean), true // Prediction.GMV
			s.bound = s.key
		case q.Sort == SortROI && !knownFee(fee):
			s.key, s.exact = math.Inf(-1), true
			s.bound = s.key
		case q.Sort == SortROI:
			s.bound = (upper*(1-commission)-fee)/fee + 0.001
		default:
			s.bound = upper
		}
		if math.IsNaN(s.bound) {
			s.bound = math.Inf(1) // no bound: always computed
		}
		all = append(all, s)
	}
	r.Matched = len(all)
	slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(b.bound, a.bound) })
	better := func(a, b *scored) bool {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c > 0
		}
		return a.inf.ID < b.inf.ID
	}
	// The page is best[Offset:] of the top Offset + Limit.
	top := q.Offset + q.Limit
	best := make([]*scored, 0, top+1)
	for k := range all {
		s := &all[k]
		if len(best) == top && s.bound < best[len(best)-1].key {
			break // sorted by bound: no one left can enter
		}
		if !s.exact {
			switch q.Sort {
			case SortP50:
				s.key = gammaQuantile(s.mean, s.variance, 0.5)
			case SortP10:
				s.key = gammaQuantile(s.mean, s.variance, 0.1)
			case SortROI:
				s.key = math.Inf(-1)
				if r := roi(gammaQuantile(s.mean, s.variance, 0.5)*(1-commission), s.fee); r != nil {
					s.key = *r
				}
			}
		}
		at := len(best)
		for at > 0 && better(s, best[at-1]) {
			at--
		}
		if at < top {
			best = slices.Insert(best, at, s)
			best = best[:min(len(best), top)]
		}
	}
	for _, s := range best[min(q.Offset, len(best)):] {
		inf := m.View(s.inf, q.Visible)
		p := m.Predict(b, inf, commission)
		r.Items = append(r.Items, Candidate{InfluencerID: inf.ID, Handle: inf.Handle, Followers: inf.Followers, Country: inf.Country,
			Categories: inf.Categories, Lives: inf.Lives, Prediction: p, Reasons: m.Reasons(b, inf, p)})
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
