package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vetrina/vetrina/event"
)

// Objectives of a plan.
const (
	ObjectiveGMV    = "gmv"    // total expected GMV
	ObjectiveProfit = "profit" // total expected GMV·(1 − commission) − fees: the brands' return
)

// PlanRequest asks for the assignment of sponsored lives that maximises
// the objective within the brands' budgets and lives wanted and the
// influencers' capacities.
type PlanRequest struct {
	// Objective is "gmv" (default) or "profit".
	Objective string `json:"objective,omitempty"`
	// Commission is the share of GMV brands do not keep; default 0.25.
	Commission  *float64         `json:"commission,omitempty"`
	Brands      []PlanBrand      `json:"brands"`
	Influencers []PlanInfluencer `json:"influencers,omitempty"`
}

// PlanBrand is a brand's budget (EUR for fees; absent = no limit) and the
// lives it wants.
type PlanBrand struct {
	BrandID uint64   `json:"brand_id"`
	Budget  *float64 `json:"budget,omitempty"`
	Lives   int      `json:"lives"`
}

// PlanInfluencer is an influencer available for the plan: how many lives
// they can run and their fee (default: their profile's fee).
type PlanInfluencer struct {
	InfluencerID uint64   `json:"influencer_id"`
	Capacity     int      `json:"capacity"`
	Fee          *float64 `json:"fee,omitempty"`
}

// PlanResult is the plan with its predictions and totals.
type PlanResult struct {
	Objective string `json:"objective"`
	// Value is the plan's total objective; UpperBound a proven bound on
	// any plan's (the Lagrangian or LP bound), Gap the relative distance.
	Value      float64 `json:"value"`
	UpperBound float64 `json:"upper_bound"`
	Gap        float64 `json:"gap"`
	Method     string  `json:"method"`
	Exact      bool    `json:"exact"`
	// Lives are the planned sponsored lives.
	Lives []PlannedLive `json:"lives"`
	// Brands has the totals of every brand of the request.
	Brands []PlanBrandTotal `json:"brands"`
	// CandidatesPerBrand is how many influencers per brand entered the
	// optimisation (the best by value; see docs/matching.md).
	CandidatesPerBrand int    `json:"candidates_per_brand"`
	Note               string `json:"note,omitempty"`
}

// PlannedLive is one live of the plan.
type PlannedLive struct {
	BrandID      uint64     `json:"brand_id"`
	InfluencerID uint64     `json:"influencer_id"`
	Handle       string     `json:"handle"`
	Fee          float64    `json:"fee"`
	Value        float64    `json:"value"`
	Prediction   Prediction `json:"prediction"`
}

// PlanBrandTotal sums the plan for one brand.
type PlanBrandTotal struct {
	BrandID   uint64   `json:"brand_id"`
	Lives     int      `json:"lives"`
	Fees      float64  `json:"fees"`
	GMV       float64  `json:"gmv"`
	Value     float64  `json:"value"`
	Budget    *float64 `json:"budget,omitempty"`
	Requested int      `json:"lives_requested"`
}

// Bounds of a plan request's numbers, besides the fees' (event.MinFee to
// event.MaxFee, or 0): beyond them a plan means nothing and its sums
// could overflow.
const (
	// MaxBudget bounds a brand's budget (EUR); omit the budget for no limit.
	MaxBudget = 1e12
	// MaxPlanLives bounds the lives a brand asks for and an influencer's
	// capacity.
	MaxPlanLives = 10_000
)

// validate checks the request's numbers and ids; its errors name the
// field by its path in the request (brands[0].budget).
func (req *PlanRequest) validate() error {
	brands := make(map[uint64]int, len(req.Brands))
	for i, b := range req.Brands {
		if j, dup := brands[b.BrandID]; dup {
			return fmt.Errorf("%w: brands[%d].brand_id: brand %d is a duplicate of brands[%d]", ErrInvalidProblem, i, b.BrandID, j)
		}
		brands[b.BrandID] = i
		if b.Budget != nil {
			switch v := *b.Budget; {
			case !finite(v):
				return fmt.Errorf("%w: brands[%d].budget: not a finite number", ErrInvalidProblem, i)
			case v < 0:
				return fmt.Errorf("%w: brands[%d].budget: negative budget %v (omit budget for no limit)", ErrInvalidProblem, i, v)
			case v > MaxBudget:
				return fmt.Errorf("%w: brands[%d].budget: %v is over the maximum %.0f (omit budget for no limit)", ErrInvalidProblem, i, v, MaxBudget)
			}
		}
		if b.Lives < 1 || b.Lives > MaxPlanLives {
			return fmt.Errorf("%w: brands[%d].lives: lives %d, want 1 to %d", ErrInvalidProblem, i, b.Lives, MaxPlanLives)
		}
	}
	infls := make(map[uint64]int, len(req.Influencers))
	for i, f := range req.Influencers {
		if j, dup := infls[f.InfluencerID]; dup {
			return fmt.Errorf("%w: influencers[%d].influencer_id: influencer %d is a duplicate of influencers[%d]", ErrInvalidProblem, i, f.InfluencerID, j)
		}
		infls[f.InfluencerID] = i
		if f.Capacity < 1 || f.Capacity > MaxPlanLives {
			return fmt.Errorf("%w: influencers[%d].capacity: capacity %d, want 1 to %d", ErrInvalidProblem, i, f.Capacity, MaxPlanLives)
		}
		if f.Fee != nil {
			switch v := *f.Fee; {
			case !finite(v):
				return fmt.Errorf("%w: influencers[%d].fee: not a finite number", ErrInvalidProblem, i)
			case v < 0:
				return fmt.Errorf("%w: influencers[%d].fee: negative fee %v", ErrInvalidProblem, i, v)
			case v > 0 && v < event.MinFee || v > event.MaxFee:
				return fmt.Errorf("%w: influencers[%d].fee: %v is outside the fees a live can have: 0 (none) or %v to %d EUR", ErrInvalidProblem, i, v, event.MinFee, event.MaxFee)
			}
		}
	}
	return nil
}

// planCandidates bounds the influencers per brand that enter the
// optimisation: the best by value, at least this many or 4× the lives
// wanted.
const planCandidates = 200

// Plan solves req. Unknown brands or influencers are ErrUnknownBrand or
// ErrUnknownInfluencer; a malformed request (negative budgets, zero
// capacity, too many brands) wraps ErrInvalidProblem.
func (m *Model) Plan(ctx context.Context, req PlanRequest, opts PlanOptions) (*PlanResult, error) {
	obj := req.Objective
	switch obj {
	case "":
		obj = ObjectiveGMV
	case ObjectiveGMV, ObjectiveProfit:
	default:
		return nil, fmt.Errorf("%w: objective %q is not gmv or profit", ErrInvalidProblem, req.Objective)
	}
	commission := DefaultCommission
	if req.Commission != nil {
		commission = *req.Commission
	}
	if commission < 0 || commission >= 1 || math.IsNaN(commission) {
		return nil, fmt.Errorf("%w: commission must be in [0, 1)", ErrInvalidProblem)
	}
	if len(req.Brands) == 0 {
		return nil, fmt.Errorf("%w: no brands", ErrInvalidProblem)
	}
	if max := cmp.Or(opts.MaxBrands, DefaultMaxBrands); len(req.Brands) > max {
		return nil, fmt.Errorf("%w: %d brands, at most %d per plan", ErrInvalidProblem, len(req.Brands), max)
	}
	if max := cmp.Or(opts.MaxInfluencers, DefaultMaxInfluencers); len(req.Influencers) > max {
		return nil, fmt.Errorf("%w: %d influencers, at most %d per plan", ErrInvalidProblem, len(req.Influencers), max)
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	var p Problem
	brands := make([]*Brand, len(req.Brands))
	for k, rb := range req.Brands {
		b, ok := m.brands[rb.BrandID]
		if !ok {
			return nil, fmt.Errorf("brands[%d].brand_id: %w %d", k, ErrUnknownBrand, rb.BrandID)
		}
		brands[k] = b
		budget := math.Inf(1)
		if rb.Budget != nil {
			budget = *rb.Budget
		}
		p.Brands = append(p.Brands, BrandDemand{ID: rb.BrandID, Budget: budget, Lives: rb.Lives})
	}
	// Influencers: the request's, or every known one with a fee, one live each.
	type supply struct {
		inf *Influencer
		fee float64
	}
	var infs []supply
	// A fee inferred from past sponsored lives counts only the lives the
	// caller may see (Model.View).
	feeOf := func(inf *Influencer) float64 { return m.feeFor(inf, opts.Visible) }
	if len(req.Influencers) == 0 {
		for _, inf := range m.influencers {
			if fee := feeOf(inf); knownFee(fee) {
				infs = append(infs, supply{inf, fee})
				p.Influencers = append(p.Influencers, InfluencerSupply{ID: inf.ID, Capacity: 1, Fee: fee})
			}
		}
	}
	for i, ri := range req.Influencers {
		inf, ok := m.inflByID[ri.InfluencerID]
		if !ok {
			return nil, fmt.Errorf("influencers[%d].influencer_id: %w %d", i, ErrUnknownInfluencer, ri.InfluencerID)
		}
		fee := feeOf(inf)
		if ri.Fee != nil {
			fee = *ri.Fee
		}
		infs = append(infs, supply{inf, fee})
		p.Influencers = append(p.Influencers, InfluencerSupply{ID: ri.InfluencerID, Capacity: ri.Capacity, Fee: fee})
	}
	// Values: each brand's best candidates by the objective.
	perBrand := planCandidates
	for k, b := range brands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		keep := max(perBrand, 4*req.Brands[k].Lives)
		var cands []Pair
		for _, s := range infs {
			mo := m.moments(b, s.inf)
			v := mo.mean
			if obj == ObjectiveProfit {
				v = mo.mean*(1-commission) - s.fee
			}
			if v > 0 && finite(v) {
				cands = append(cands, Pair{Brand: b.ID, Influencer: s.inf.ID, Value: v})
			}
		}
		if len(cands) > keep {
			slices.SortFunc(cands, func(a, b Pair) int { return cmp.Compare(b.Value, a.Value) })
			cands = cands[:keep]
		}
		p.Pairs = append(p.Pairs, cands...)
	}
	plan, err := Solve(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	res := &PlanResult{Objective: obj, Value: round2(plan.Objective), UpperBound: round2(plan.UpperBound), Gap: round4(plan.Gap),
		Method: plan.Method, Exact: plan.Exact, Lives: []PlannedLive{}, Brands: []PlanBrandTotal{}, CandidatesPerBrand: perBrand}
	gmv := map[uint64]float64{}
	for _, a := range plan.Assignments {
		b, inf := m.brands[a.Brand], m.View(m.inflByID[a.Influencer], opts.Visible)
		pred := m.Predict(b, inf, commission)
		pred.Fee = a.Fee
		pred.Profit = round2(pred.GMV*(1-commission) - a.Fee)
		pred.ROI = roi(pred.P50*(1-commission), a.Fee)
		gmv[a.Brand] += pred.GMV
		res.Lives = append(res.Lives, PlannedLive{BrandID: a.Brand, InfluencerID: a.Influencer, Handle: inf.Handle, Fee: a.Fee, Value: round2(a.Value), Prediction: pred})
	}
	budget := map[uint64]PlanBrand{}
	for _, rb := range req.Brands {
		budget[rb.BrandID] = rb
	}
	for _, t := range plan.Brands {
		res.Brands = append(res.Brands, PlanBrandTotal{BrandID: t.Brand, Lives: t.Lives, Fees: round2(t.Fees), GMV: round2(gmv[t.Brand]), Value: round2(t.Value),
			Budget: budget[t.Brand].Budget, Requested: budget[t.Brand].Lives})
	}
	if len(res.Lives) == 0 {
		switch {
		case len(infs) == 0:
			res.Note = "no influencer is available: none was given and none has a known fee"
		case len(p.Pairs) == 0:
			res.Note = "no live is worth anything under this objective: every predicted value is zero or less"
		default:
			res.Note = "no live fits the budgets: every candidate's fee exceeds what its brand can spend"
		}
	}
	return res, nil
}

// IsInvalid reports whether err is a problem with the request itself.
func IsInvalid(err error) bool {
	return errors.Is(err, ErrInvalidProblem) || errors.Is(err, ErrBadQuery)
}
