package matching

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func rank(t *testing.T, m *Model, brand uint64, q Query) *Ranking {
	t.Helper()
	r, err := m.Rank(context.Background(), brand, q)
	if err != nil {
		t.Fatalf("rank brand %d %+v: %v", brand, q, err)
	}
	return r
}

// sortKey is the value a ranking sorts by, recomputed from a prediction.
func sortKey(sort string, p Prediction) float64 {
	switch sort {
	case SortP10:
		return p.P10
	case SortGMV:
		return p.GMV
	case SortROI:
		if p.ROI == nil {
			return math.Inf(-1)
		}
		return *p.ROI
	}
	return p.P50
}

// TestRank_SortOrders: for every order, the items are the influencers
// with the best keys, by decreasing key then id, each with the
// prediction and reasons Predict gives.
func TestRank_SortOrders(t *testing.T) {
	m := predictWorld().build(t)
	for _, brand := range []uint64{brandKitchen, brandMixed, brandVolt} {
		b := mustBrand(t, m, brand)
		tops := map[string][]uint64{}
		for _, sort := range []string{"", SortP50, SortP10, SortGMV, SortROI} {
			r := rank(t, m, brand, Query{Sort: sort, Limit: 10})
			want := sort
			if sort == "" {
				want = SortP50
			}
			if r.Sort != want || r.BrandID != brand || r.Brand != b.Name || !r.AsOf.Equal(testAsOf) || r.Note != "" {
				t.Errorf("brand %d sort %q: header %+v", brand, sort, r)
			}
			if r.Matched != m.NumInfluencers() || len(r.Items) != 10 {
				t.Errorf("brand %d sort %q: matched %d items %d, want %d and 10", brand, sort, r.Matched, len(r.Items), m.NumInfluencers())
			}
			// The best 10 keys of all influencers, recomputed.
			var keys []float64
			for _, inf := range m.influencers {
				keys = append(keys, sortKey(want, m.Predict(b, inf, DefaultCommission)))
			}
			slices.Sort(keys)
			slices.Reverse(keys)
			for k, c := range r.Items {
				inf := mustInfluencer(t, m, c.InfluencerID)
				p := m.Predict(b, inf, DefaultCommission)
				if c.Prediction != p && !(p.ROI != nil && c.Prediction.ROI != nil && *p.ROI == *c.Prediction.ROI) {
					t.Errorf("brand %d sort %s item %d: prediction %+v, Predict gives %+v", brand, want, k, c.Prediction, p)
				}
				if !slices.Equal(c.Reasons, m.Reasons(b, inf, p)) || c.Handle != inf.Handle || c.Followers != inf.Followers || c.Lives != inf.Lives || c.Country != inf.Country {
					t.Errorf("brand %d sort %s item %d: candidate %+v does not match the profile", brand, want, k, c)
				}
				if got := sortKey(want, c.Prediction); got != keys[k] {
					t.Errorf("brand %d sort %s item %d: key %v, want the %d-th best %v", brand, want, k, got, k+1, keys[k])
				}
				if k > 0 {
					prev := r.Items[k-1]
					if pk := sortKey(want, prev.Prediction); pk == keys[k] && prev.InfluencerID > c.InfluencerID {
						t.Errorf("brand %d sort %s: tie between %d and %d not broken by id", brand, want, prev.InfluencerID, c.InfluencerID)
					}
				}
				tops[want] = append(tops[want], c.InfluencerID)
			}
		}
		if slices.Equal(tops[SortP50], tops[SortROI]) {
			t.Errorf("brand %d: ranking by ROI equals ranking by P50 %v; fees must matter", brand, tops[SortP50])
		}
	}
	// By ROI, influencers without a fee come last.
	r := rank(t, m, brandKitchen, Query{Sort: SortROI, Limit: MaxLimit})
	seenNil := false
	for _, c := range r.Items {
		if c.Prediction.ROI == nil {
			seenNil = true
		} else if seenNil {
			t.Fatalf("influencer %d with an ROI after one without", c.InfluencerID)
		}
	}
	if !seenNil {
		t.Fatal("the base world has influencers without a fee; none in the ROI ranking")
	}
}

// TestRank_Filters: each filter alone and together keeps exactly the
// influencers that pass it, counted independently.
func TestRank_Filters(t *testing.T) {
	m := predictWorld().build(t)
	cases := map[string]struct {
		q    Query
		pass func(*Influencer) bool
	}{
		"category":      {Query{Category: "beauty"}, func(i *Influencer) bool { return slices.Contains(i.Categories, "beauty") }},
		"country":       {Query{Country: "FR"}, func(i *Influencer) bool { return i.Country == "FR" }},
		"min_followers": {Query{MinFollowers: 100000}, func(i *Influencer) bool { return i.Followers >= 100000 }},
		"max_fee":       {Query{MaxFee: 400}, func(i *Influencer) bool { return i.Fee > 0 && i.Fee <= 400 }},
		"all": {Query{Category: "fashion", Country: "IT", MinFollowers: 20000, MaxFee: 600}, func(i *Influencer) bool {
			return slices.Contains(i.Categories, "fashion") && i.Country == "IT" && i.Followers >= 20000 && i.Fee > 0 && i.Fee <= 600
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var want []uint64
			for _, inf := range m.influencers {
				if tc.pass(inf) {
					want = append(want, inf.ID)
				}
			}
			if len(want) == 0 || len(want) == m.NumInfluencers() {
				t.Fatalf("filter keeps %d of %d influencers: a useless case", len(want), m.NumInfluencers())
			}
			q := tc.q
			q.Limit = MaxLimit
			r := rank(t, m, brandVolt, q)
			var got []uint64
			for _, c := range r.Items {
				got = append(got, c.InfluencerID)
			}
			slices.Sort(got)
			if r.Matched != len(want) || !slices.Equal(got, want) {
				t.Errorf("matched %d %v, want %d %v", r.Matched, got, len(want), want)
			}
		})
	}
}

// TestRank_Limits: default 20, up to MaxLimit, anything else is a bad
// query; a limit above the matches returns them all.
func TestRank_Limits(t *testing.T) {
	w := predictWorld()
	for k := range MaxLimit {
		w.influencer(uint64(10000+k), 5000, "ES", 100, "beauty")
	}
	m := w.build(t)
	if m.NumInfluencers() <= MaxLimit {
		t.Fatalf("%d influencers; the test needs more than %d", m.NumInfluencers(), MaxLimit)
	}
	for limit, want := range map[int]int{0: 20, 1: 1, 7: 7, MaxLimit: MaxLimit} {
		if r := rank(t, m, brandBeauty, Query{Limit: limit}); len(r.Items) != want || r.Matched != m.NumInfluencers() {
			t.Errorf("limit %d: %d items of %d matched, want %d", limit, len(r.Items), r.Matched, want)
		}
	}
	if r := rank(t, m, brandBeauty, Query{Limit: MaxLimit, Country: "DE"}); len(r.Items) != r.Matched || r.Matched == 0 || r.Matched >= MaxLimit {
		t.Errorf("%d items of %d matched: want all", len(r.Items), r.Matched)
	}
	for _, limit := range []int{-1, MaxLimit + 1, math.MaxInt} {
		_, err := m.Rank(context.Background(), brandBeauty, Query{Limit: limit})
		if !errors.Is(err, ErrBadQuery) || !IsInvalid(err) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("limit %d: error %v, want a bad query about the limit", limit, err)
		}
	}
}

// TestRank_Errors: unknown brands and malformed queries.
func TestRank_Errors(t *testing.T) {
	m := baseWorld().build(t)
	if _, err := m.Rank(context.Background(), 424242, Query{}); !errors.Is(err, ErrUnknownBrand) || IsInvalid(err) {
		t.Errorf("unknown brand: %v", err)
	}
	for name, tc := range map[string]struct {
		q    Query
		word string
	}{
		"sort":             {Query{Sort: "bogus"}, "sort"},
		"sort case":        {Query{Sort: "P50"}, "sort"},
		"negative max_fee": {Query{MaxFee: -1}, "max_fee"},
		"NaN max_fee":      {Query{MaxFee: math.NaN()}, "max_fee"},
		"commission 1":     {Query{Commission: ptr(1.0)}, "commission"},
		"commission < 0":   {Query{Commission: ptr(-0.1)}, "commission"},
		"NaN commission":   {Query{Commission: ptr(math.NaN())}, "commission"},
	} {
		_, err := m.Rank(context.Background(), brandKitchen, tc.q)
		if !errors.Is(err, ErrBadQuery) || !IsInvalid(err) || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("%s: error %v, want a bad query about %s", name, err, tc.word)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Rank(ctx, brandKitchen, Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRank_Commission: an explicit commission of 0 means the brand keeps
// all the GMV (not the default); none means DefaultCommission.
func TestRank_Commission(t *testing.T) {
	m := baseWorld().build(t)
	b := mustBrand(t, m, brandKitchen)
	for _, tc := range []struct {
		c    *float64
		want float64
	}{{nil, DefaultCommission}, {ptr(0.0), 0}, {ptr(0.4), 0.4}} {
		r := rank(t, m, brandKitchen, Query{Commission: tc.c, Sort: SortROI, Limit: 5})
		for _, c := range r.Items {
			if want := m.Predict(b, mustInfluencer(t, m, c.InfluencerID), tc.want); *c.Prediction.ROI != *want.ROI || c.Prediction.Profit != want.Profit {
				t.Errorf("commission %v: influencer %d ROI %v profit %v, want %v %v", tc.want, c.InfluencerID, *c.Prediction.ROI, c.Prediction.Profit, *want.ROI, want.Profit)
			}
		}
	}
}

// TestRank_Notes: an empty or degenerate ranking says why.
func TestRank_Notes(t *testing.T) {
	m := baseWorld().build(t)
	r := rank(t, m, brandKitchen, Query{Country: "JP"})
	if r.Matched != 0 || len(r.Items) != 0 || r.Items == nil || !strings.Contains(r.Note, "filters") {
		t.Errorf("nothing passes the filters: %+v", r)
	}
	r = rank(t, m, brandNone, Query{})
	if len(r.Items) != 20 || !strings.Contains(r.Note, "no products") {
		t.Errorf("brand without products: note %q, %d items", r.Note, len(r.Items))
	}
	for _, c := range r.Items {
		if c.Prediction.GMV != 0 || c.Prediction.P90 != 0 {
			t.Errorf("brand without products: influencer %d predicted %+v", c.InfluencerID, c.Prediction)
		}
	}
	w := newWorld()
	w.brand(1, "alone")
	w.product(1, "beauty", 10, 100, 1)
	r = rank(t, w.build(t), 1, Query{})
	if r.Matched != 0 || r.Items == nil || !strings.Contains(r.Note, "no influencers") {
		t.Errorf("no influencers: %+v", r)
	}
}

// TestPlan_Requests runs Model.Plan on requests: budgets, lives and
// capacities hold, the totals add up, and malformed requests are
// invalid with a message that says what is wrong.
func TestPlan_Requests(t *testing.T) {
	m := predictWorld().build(t)
	ctx := context.Background()
	check := func(t *testing.T, req PlanRequest, res *PlanResult) {
		t.Helper()
		commission := DefaultCommission
		if req.Commission != nil {
			commission = *req.Commission
		}
		caps := map[uint64]int{}
		fees := map[uint64]*float64{}
		for _, ri := range req.Influencers {
			caps[ri.InfluencerID] = ri.Capacity
			fees[ri.InfluencerID] = ri.Fee
		}
		used := map[uint64]int{}
		type total struct {
			lives      int
			fees, gmv  float64
			value      float64
			budget     *float64
			livesAsked int
		}
		totals := map[uint64]*total{}
		for _, rb := range req.Brands {
			totals[rb.BrandID] = &total{budget: rb.Budget, livesAsked: rb.Lives}
		}
		sum := 0.0
		for _, l := range res.Lives {
			inf := mustInfluencer(t, m, l.InfluencerID)
			tot := totals[l.BrandID]
			if tot == nil {
				t.Fatalf("live for brand %d, not in the request", l.BrandID)
			}
			used[l.InfluencerID]++
			wantFee := inf.Fee
			if f := fees[l.InfluencerID]; f != nil {
				wantFee = *f
			}
			if l.Fee != wantFee || l.Prediction.Fee != wantFee || l.Handle != inf.Handle {
				t.Errorf("live %+v: fee %v, want %v", l, l.Fee, wantFee)
			}
			p := m.Predict(mustBrand(t, m, l.BrandID), inf, commission)
			if l.Prediction.GMV != p.GMV || l.Prediction.P50 != p.P50 {
				t.Errorf("live %d×%d: prediction %+v, Predict gives %+v", l.BrandID, l.InfluencerID, l.Prediction, p)
			}
			wantValue := p.GMV
			if res.Objective == ObjectiveProfit {
				wantValue = p.GMV*(1-commission) - wantFee
			}
			if !near(l.Value, wantValue, 0.011) || l.Value <= 0 {
				t.Errorf("live %d×%d: value %v, want %v > 0", l.BrandID, l.InfluencerID, l.Value, wantValue)
			}
			tot.lives++
			tot.fees += l.Fee
			tot.gmv += l.Prediction.GMV
			tot.value += l.Value
			sum += l.Value
		}
		for id, n := range used {
			limit := 1 // every influencer with a fee, one live each
			if len(req.Influencers) > 0 {
				limit = caps[id]
			}
			if n > limit {
				t.Errorf("influencer %d runs %d lives, capacity %d", id, n, limit)
			}
		}
		if len(res.Brands) != len(req.Brands) {
			t.Errorf("%d brand totals for %d brands", len(res.Brands), len(req.Brands))
		}
		for _, bt := range res.Brands {
			tot := totals[bt.BrandID]
			if bt.Lives != tot.lives || !near(bt.Fees, tot.fees, 0.011) || !near(bt.GMV, tot.gmv, 0.011*float64(tot.lives+1)) || !near(bt.Value, tot.value, 0.011*float64(tot.lives+1)) {
				t.Errorf("brand %d totals %+v, lives sum to %+v", bt.BrandID, bt, *tot)
			}
			if tot.lives > tot.livesAsked || bt.Requested != tot.livesAsked {
				t.Errorf("brand %d: %d lives, %d asked (reported %d)", bt.BrandID, tot.lives, tot.livesAsked, bt.Requested)
			}
			if tot.budget != nil && (tot.fees > *tot.budget+1e-6 || bt.Budget == nil || *bt.Budget != *tot.budget) {
				t.Errorf("brand %d: fees %v over the budget %v", bt.BrandID, tot.fees, *tot.budget)
			}
		}
		if !near(res.Value, sum, 0.011*float64(len(res.Lives)+1)) || res.UpperBound < res.Value-0.01 || res.Gap < 0 {
			t.Errorf("plan value %v bound %v gap %v; lives sum to %v", res.Value, res.UpperBound, res.Gap, sum)
		}
	}

	t.Run("budgets bind", func(t *testing.T) {
		req := PlanRequest{Brands: []PlanBrand{
			{BrandID: brandKitchen, Budget: ptr(700.0), Lives: 3},
			{BrandID: brandBeauty, Budget: ptr(1000.0), Lives: 2},
			{BrandID: brandVolt, Lives: 4},
		}}
		res, err := m.Plan(ctx, req, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lives) == 0 || res.Objective != ObjectiveGMV || res.Note != "" {
			t.Fatalf("plan %+v", res)
		}
		check(t, req, res)
		// The budgets bind: the unlimited plan of the same brands spends more.
		free := PlanRequest{Brands: []PlanBrand{{BrandID: brandKitchen, Lives: 3}, {BrandID: brandBeauty, Lives: 2}, {BrandID: brandVolt, Lives: 4}}}
		fres, err := m.Plan(ctx, free, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, free, fres)
		if fres.Value < res.Value || fres.Brands[0].Fees <= 700 && fres.Brands[1].Fees <= 1000 {
			t.Errorf("budgets do not bind: limited %+v, free %+v", res.Brands, fres.Brands)
		}
		if !fres.Exact || fres.Method != MethodFlow {
			t.Errorf("a plan without budgets is exact min-cost flow: %s exact %v", fres.Method, fres.Exact)
		}
	})

	t.Run("capacities and fees", func(t *testing.T) {
		req := PlanRequest{Objective: ObjectiveProfit, Commission: ptr(0.1),
			Brands: []PlanBrand{{BrandID: brandKitchen, Lives: 4}, {BrandID: brandBeauty, Lives: 4}, {BrandID: brandVolt, Lives: 4}},
			Influencers: []PlanInfluencer{
				{InfluencerID: 600, Capacity: 2},
				{InfluencerID: firstBackground + 20, Capacity: 3, Fee: ptr(50.0)},
				{InfluencerID: firstBackground + 23, Capacity: 1, Fee: ptr(10.0)}, // no rate card
				{InfluencerID: firstBackground, Capacity: 1},
			}}
		res, err := m.Plan(ctx, req, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, req, res)
		if len(res.Lives) < 5 || res.Objective != ObjectiveProfit {
			t.Errorf("%d lives for 7 capacity and 12 lives asked: %+v", len(res.Lives), res)
		}
	})

	t.Run("nothing fits", func(t *testing.T) {
		req := PlanRequest{Brands: []PlanBrand{{BrandID: brandKitchen, Budget: ptr(1.0), Lives: 2}}}
		res, err := m.Plan(ctx, req, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, req, res)
		if len(res.Lives) != 0 || !strings.Contains(res.Note, "budget") {
			t.Errorf("a 1 EUR budget: %+v", res)
		}
		req = PlanRequest{Brands: []PlanBrand{{BrandID: brandNone, Lives: 2}}}
		if res, err = m.Plan(ctx, req, PlanOptions{}); err != nil || len(res.Lives) != 0 || res.Note == "" {
			t.Errorf("a brand without products: %+v %v", res, err)
		}
	})

	invalid := map[string]struct {
		req  PlanRequest
		opts PlanOptions
		word string
	}{
		"no brands":          {PlanRequest{}, PlanOptions{}, "no brands"},
		"objective":          {PlanRequest{Objective: "roi", Brands: []PlanBrand{{BrandID: 1, Lives: 1}}}, PlanOptions{}, "objective"},
		"commission":         {PlanRequest{Commission: ptr(1.0), Brands: []PlanBrand{{BrandID: 1, Lives: 1}}}, PlanOptions{}, "commission"},
		"negative budget":    {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Budget: ptr(-5.0), Lives: 1}}}, PlanOptions{}, "negative budget"},
		"zero lives":         {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 0}}}, PlanOptions{}, "lives 0"},
		"zero capacity":      {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 600, Capacity: 0}}}, PlanOptions{}, "capacity 0"},
		"negative fee":       {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 600, Capacity: 1, Fee: ptr(-1.0)}}}, PlanOptions{}, "negative fee"},
		"duplicate brand":    {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}, {BrandID: 1, Lives: 2}}}, PlanOptions{}, "duplicate"},
		"too many brands":    {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}, {BrandID: 2, Lives: 1}, {BrandID: 3, Lives: 1}}}, PlanOptions{MaxBrands: 2}, "3 brands, at most 2"},
		"too many (default)": {PlanRequest{Brands: make([]PlanBrand, DefaultMaxBrands+1)}, PlanOptions{}, "brands"},
		"too many influencers": {PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}},
			Influencers: []PlanInfluencer{{InfluencerID: 600, Capacity: 1}, {InfluencerID: 601, Capacity: 1}}}, PlanOptions{MaxInfluencers: 1}, "2 influencers, at most 1"},
	}
	for name, tc := range invalid {
		t.Run(name, func(t *testing.T) {
			_, err := m.Plan(ctx, tc.req, tc.opts)
			if !IsInvalid(err) || !errors.Is(err, ErrInvalidProblem) || !strings.Contains(err.Error(), tc.word) {
				t.Errorf("error %v, want an invalid request saying %q", err, tc.word)
			}
		})
	}
	if _, err := m.Plan(ctx, PlanRequest{Brands: []PlanBrand{{BrandID: 424242, Lives: 1}}}, PlanOptions{}); !errors.Is(err, ErrUnknownBrand) || IsInvalid(err) {
		t.Errorf("unknown brand: %v", err)
	}
	if _, err := m.Plan(ctx, PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 424242, Capacity: 1}}}, PlanOptions{}); !errors.Is(err, ErrUnknownInfluencer) || IsInvalid(err) {
		t.Errorf("unknown influencer: %v", err)
	}
}

// exhaustiveRank is the ranking by definition: every influencer that
// passes the filters predicted in full (by predict), sorted by key then id.
func exhaustiveRank(m *Model, brandID uint64, q Query, predict func(*Brand, *Influencer, float64) Prediction) *Ranking {
	if err := q.normalize(); err != nil {
		panic(err)
	}
	b := m.brands[brandID]
	type scored struct {
		inf *Influencer
		p   Prediction
	}
	var all []scored
	for _, inf := range m.influencers {
		if q.Category != "" && !slices.Contains(inf.Categories, q.Category) || q.Country != "" && inf.Country != q.Country ||
			inf.Followers < q.MinFollowers || q.MaxFee > 0 && (inf.Fee <= 0 || inf.Fee > q.MaxFee) {
			continue
		}
		all = append(all, scored{inf, predict(b, inf, *q.Commission)})
	}
	slices.SortStableFunc(all, func(x, y scored) int {
		kx, ky := sortKey(q.Sort, x.p), sortKey(q.Sort, y.p)
		switch {
		case kx > ky:
			return -1
		case kx < ky:
			return 1
		}
		switch {
		case x.inf.ID < y.inf.ID:
			return -1
		case x.inf.ID > y.inf.ID:
			return 1
		}
		return 0
	})
	r := &Ranking{BrandID: b.ID, Brand: b.Name, Sort: q.Sort, AsOf: m.AsOf, Matched: len(all), Items: []Candidate{}}
	for _, s := range all[:min(q.Limit, len(all))] {
		r.Items = append(r.Items, Candidate{InfluencerID: s.inf.ID, Handle: s.inf.Handle, Followers: s.inf.Followers, Country: s.inf.Country,
			Categories: s.inf.Categories, Lives: s.inf.Lives, Prediction: s.p, Reasons: m.Reasons(b, s.inf, s.p)})
	}
	return r
}

// TestRank_SameAsExhaustive: on random platforms, for every order and a
// range of limits and filters, Rank answers exactly what predicting every
// influencer and sorting them all answers.
func TestRank_SameAsExhaustive(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 99))
		m, err := Build(randomInputs(rng, 300+rng.IntN(300), 2+rng.IntN(10), 20, seed%2 == 1))
		if err != nil {
			t.Fatal(err)
		}
		var brands []uint64
		for id := range m.brands {
			brands = append(brands, id)
		}
		slices.Sort(brands)
		// Predictions are memoised: the exhaustive rankings share them.
		type key struct {
			brand, inf uint64
			c          float64
		}
		memo := map[key]Prediction{}
		predict := func(b *Brand, inf *Influencer, c float64) Prediction {
			k := key{b.ID, inf.ID, c}
			p, ok := memo[k]
			if !ok {
				p = m.Predict(b, inf, c)
				memo[k] = p
			}
			return p
		}
		for _, brand := range brands[:min(len(brands), 3)] {
			for _, q := range []Query{
				{}, {Limit: 1}, {Limit: 7}, {Limit: MaxLimit}, {Country: "IT", Limit: 50}, {MaxFee: 500}, {MinFollowers: 20000, Limit: 30},
				{Commission: ptr(0.0)}, {Commission: ptr(0.8), Limit: 100},
			} {
				for _, sort := range []string{SortP50, SortP10, SortGMV, SortROI} {
					q := q
					q.Sort = sort
					got, err := m.Rank(context.Background(), brand, q)
					if err != nil {
						t.Fatal(err)
					}
					want := exhaustiveRank(m, brand, q, predict)
					want.Note = got.Note
					gj, _ := json.Marshal(got)
					wj, _ := json.Marshal(want)
					if string(gj) != string(wj) {
						t.Fatalf("seed %d brand %d %+v:\n got %s\nwant %s", seed, brand, q, gj, wj)
					}
				}
			}
		}
	}
}

// TestRank_PagesEndAtMaxLimit: pages of any size walk the MaxLimit best in
// order, the last one cut at MaxLimit, and an offset past it is refused.
func TestRank_PagesEndAtMaxLimit(t *testing.T) {
	m, err := Build(randomInputs(rand.New(rand.NewPCG(7, 7)), 400, 5, 10, false))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	brand := uint64(0)
	for id, b := range m.brands {
		if b.Products > 0 && (brand == 0 || id < brand) {
			brand = id
		}
	}
	all, err := m.Rank(ctx, brand, Query{Limit: MaxLimit})
	if err != nil || len(all.Items) != MaxLimit {
		t.Fatalf("the %d best: %d items, %v", MaxLimit, len(all.Items), err)
	}
	var got []uint64
	for off := 0; off < MaxLimit; off += 7 {
		page, err := m.Rank(ctx, brand, Query{Limit: 7, Offset: off})
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		for _, c := range page.Items {
			got = append(got, c.InfluencerID)
		}
	}
	if len(got) != MaxLimit {
		t.Fatalf("pages of 7 gave %d influencers, want %d", len(got), MaxLimit)
	}
	for k, c := range all.Items {
		if got[k] != c.InfluencerID {
			t.Fatalf("position %d: %d, want %d", k, got[k], c.InfluencerID)
		}
	}
	if _, err := m.Rank(ctx, brand, Query{Offset: MaxLimit}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("offset %d: %v, want ErrBadQuery", MaxLimit, err)
	}
}
