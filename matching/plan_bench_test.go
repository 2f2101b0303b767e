package matching

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomPlanProblem returns a problem of nb brands and ni influencers with
// perBrand candidate influencers per brand (drawn without replacement):
// fees 100–500 EUR, values 0–2000, lives and capacities 1–5. Half of the
// brands get a budget below the fees of their most expensive lives, so it
// binds for about half of them; the others get no limit.
func randomPlanProblem(seed uint64, nb, ni, perBrand int) Problem {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := Problem{
		Brands:      make([]BrandDemand, nb),
		Influencers: make([]InfluencerSupply, ni),
		Pairs:       make([]Pair, 0, nb*perBrand),
	}
	for i := range p.Influencers {
		p.Influencers[i] = InfluencerSupply{
			ID:       uint64(1000000 + i),
			Capacity: 1 + rng.IntN(5),
			Fee:      math.Round(100 + 400*rng.Float64()),
		}
	}
	perBrand = min(perBrand, ni)
	for b := range p.Brands {
		lives := 1 + rng.IntN(5)
		budget := math.Inf(1)
		if b%2 == 0 {
			budget = math.Round(float64(lives) * (200 + 200*rng.Float64()))
		}
		p.Brands[b] = BrandDemand{ID: uint64(1 + b), Budget: budget, Lives: lives}
		for _, i := range rng.Perm(ni)[:perBrand] {
			p.Pairs = append(p.Pairs, Pair{
				Brand:      p.Brands[b].ID,
				Influencer: p.Influencers[i].ID,
				Value:      math.Round(2000*rng.Float64()*100) / 100,
			})
		}
	}
	return p
}

func BenchmarkSolve(b *testing.B) {
	sizes := []struct{ brands, influencers, perBrand int }{
		{50, 200, 200},      // every pair
		{1000, 10000, 200},  // sparse
		{1000, 10000, 2000}, // dense-ish: the default MaxPairs
	}
	for _, sz := range sizes {
		p := randomPlanProblem(1, sz.brands, sz.influencers, sz.perBrand)
		b.Run(fmt.Sprintf("%dx%d/%dperbrand", sz.brands, sz.influencers, sz.perBrand), func(b *testing.B) {
			b.ReportAllocs()
			var plan *Plan
			for b.Loop() {
				var err error
				if plan, err = Solve(context.Background(), p, PlanOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(plan.Gap*100, "gap%")
			b.ReportMetric(float64(plan.Iterations), "flows")
		})
	}
}
