package matching

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestNonFinite_RoundingAndROI: rounding never overflows to an infinity or
// passes a NaN on, and an ROI over a negligible fee is nil, not +Inf.
func TestNonFinite_RoundingAndROI(t *testing.T) {
	for _, v := range []float64{1e308, -1e308, math.MaxFloat64, 1e17, 5e-324} {
		for _, r := range []float64{round2(v), round3(v), round4(v)} {
			if !finite(r) || math.Abs(r-v) > math.Abs(v)*1e-15+0.01 {
				t.Errorf("rounding %v gives %v", v, r)
			}
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if r := round2(v); r != 0 {
			t.Errorf("round2(%v) = %v, want 0", v, r)
		}
	}
	if r := roi(100, 5e-324); r != nil {
		t.Errorf("ROI over a fee of 5e-324: %v, want nil", *r)
	}
	if r := roi(100, 0.009); r != nil {
		t.Errorf("ROI over a fee under a cent: %v, want nil", *r)
	}
	if r := roi(1e308, 0.01); r != nil {
		t.Errorf("ROI that overflows: %v, want nil", *r)
	}
	if r := roi(150, 100); r == nil || *r != 0.5 {
		t.Errorf("ROI of 150 over 100: %v", r)
	}
}

// TestNonFinite_OddFeesInTheProfiles: fees outside the contract's bounds
// that reached the store before ingest checked them (1e308, 5e-324) count
// as unknown; rankings and plans over them stay finite and encodable.
func TestNonFinite_OddFeesInTheProfiles(t *testing.T) {
	w := baseWorld()
	w.in.Influencers[0].Fee = 1e308
	w.in.Influencers[1].Fee = 5e-324
	w.in.Influencers[2].Fee = math.Inf(1)
	w.in.Products[0].Price = 1e308
	m := w.build(t)
	for _, sort := range []string{SortROI, SortP50, SortGMV} {
		r, err := m.Rank(context.Background(), brandKitchen, Query{Sort: sort, Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("ranking by %s does not encode: %v", sort, err)
		}
	}
	for _, obj := range []string{ObjectiveGMV, ObjectiveProfit} {
		p, err := m.Plan(context.Background(), PlanRequest{Objective: obj, Brands: []PlanBrand{{BrandID: brandKitchen, Lives: 3}, {BrandID: brandBeauty, Lives: 2}}}, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Errorf("%s plan does not encode: %v", obj, err)
		}
		for _, l := range p.Lives {
			if !knownFee(l.Fee) || l.Fee > 1e7 {
				t.Errorf("%s plan uses fee %v", obj, l.Fee)
			}
		}
	}
	for _, inf := range []uint64{w.in.Influencers[0].InfluencerID, w.in.Influencers[1].InfluencerID} {
		if got, _ := m.Influencer(inf); got.Fee != 0 {
			t.Errorf("influencer %d: fee %v, want 0 (unknown)", inf, got.Fee)
		}
	}
}

// TestPlan_RequestBounds: a plan request's numbers beyond the maxima are
// invalid, named by their path.
func TestPlan_RequestBounds(t *testing.T) {
	m := baseWorld().build(t)
	fee := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		req  PlanRequest
		want string
	}{
		{PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 100, Capacity: 1, Fee: fee(1e308)}}}, "influencers[0].fee"},
		{PlanRequest{Objective: ObjectiveProfit, Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 100, Capacity: 1, Fee: fee(5e-324)}}}, "influencers[0].fee"},
		{PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1, Budget: fee(1e308)}}}, "brands[0].budget"},
		{PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: MaxPlanLives + 1}}}, "brands[0].lives"},
		{PlanRequest{Brands: []PlanBrand{{BrandID: 1, Lives: 1}}, Influencers: []PlanInfluencer{{InfluencerID: 100, Capacity: math.MaxInt}}}, "influencers[0].capacity"},
	} {
		_, err := m.Plan(context.Background(), tc.req, PlanOptions{})
		if !IsInvalid(err) || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an invalid problem naming %s", tc.req, err, tc.want)
		}
	}
}
