package matching

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"
)

// brutePlan enumerates every subset of the pairs and returns the best
// feasible value.
func brutePlan(p Problem) float64 {
	brand := map[uint64]BrandDemand{}
	for _, b := range p.Brands {
		brand[b.ID] = b
	}
	infl := map[uint64]InfluencerSupply{}
	for _, f := range p.Influencers {
		infl[f.ID] = f
	}
	best := 0.0
	for mask := 0; mask < 1<<len(p.Pairs); mask++ {
		lives := map[uint64]int{}
		fees := map[uint64]float64{}
		used := map[uint64]int{}
		value := 0.0
		ok := true
		for k, pr := range p.Pairs {
			if mask&(1<<k) == 0 {
				continue
			}
			lives[pr.Brand]++
			fees[pr.Brand] += infl[pr.Influencer].Fee
			used[pr.Influencer]++
			value += pr.Value
			if lives[pr.Brand] > brand[pr.Brand].Lives || used[pr.Influencer] > infl[pr.Influencer].Capacity ||
				fees[pr.Brand] > brand[pr.Brand].Budget+budgetSlack(brand[pr.Brand].Budget) {
				ok = false
				break
			}
		}
		if ok && value > best {
			best = value
		}
	}
	return best
}

// checkPlan verifies that plan is feasible for p and consistent.
func checkPlan(t *testing.T, p Problem, plan *Plan) {
	t.Helper()
	brand := map[uint64]BrandDemand{}
	for _, b := range p.Brands {
		brand[b.ID] = b
	}
	infl := map[uint64]InfluencerSupply{}
	for _, f := range p.Influencers {
		infl[f.ID] = f
	}
	value := map[[2]uint64]float64{}
	for _, pr := range p.Pairs {
		value[[2]uint64{pr.Brand, pr.Influencer}] = pr.Value
	}
	totals := map[uint64]BrandTotal{}
	used := map[uint64]int{}
	seen := map[[2]uint64]bool{}
	var objective float64
	for k, a := range plan.Assignments {
		key := [2]uint64{a.Brand, a.Influencer}
		v, ok := value[key]
		if !ok || seen[key] || v <= 0 || v != a.Value || a.Fee != infl[a.Influencer].Fee {
			t.Fatalf("assignment %d %+v: not a usable pair of the problem once", k, a)
		}
		if k > 0 {
			prev := plan.Assignments[k-1]
			if prev.Brand > a.Brand || prev.Brand == a.Brand && prev.Influencer >= a.Influencer {
				t.Fatalf("assignments %d and %d out of order", k-1, k)
			}
		}
		seen[key] = true
		tot := totals[a.Brand]
		tot.Lives++
		tot.Fees += a.Fee
		tot.Value += a.Value
		totals[a.Brand] = tot
		used[a.Influencer]++
		objective += a.Value
	}
	for id, n := range used {
		if n > infl[id].Capacity {
			t.Fatalf("influencer %d: %d lives over capacity %d", id, n, infl[id].Capacity)
		}
	}
	if len(plan.Brands) != len(p.Brands) {
		t.Fatalf("%d brand totals, want %d", len(plan.Brands), len(p.Brands))
	}
	for k, bt := range plan.Brands {
		if k > 0 && plan.Brands[k-1].Brand >= bt.Brand {
			t.Fatalf("brand totals %d and %d out of order", k-1, k)
		}
		want := totals[bt.Brand]
		b := brand[bt.Brand]
		if bt.Lives != want.Lives || math.Abs(bt.Fees-want.Fees) > 1e-6 || math.Abs(bt.Value-want.Value) > 1e-6 {
			t.Fatalf("brand %d: total %+v, assignments sum to %+v", bt.Brand, bt, want)
		}
		if bt.Lives > b.Lives || bt.Fees > b.Budget+budgetSlack(b.Budget) {
			t.Fatalf("brand %d: %d lives for %d fees %g over budget %g", bt.Brand, bt.Lives, b.Lives, bt.Fees, b.Budget)
		}
	}
	if math.Abs(objective-plan.Objective) > 1e-6*math.Max(1, objective) {
		t.Fatalf("objective %g, assignments sum to %g", plan.Objective, objective)
	}
	if plan.UpperBound < plan.Objective || plan.Gap < 0 || plan.Gap > 1 {
		t.Fatalf("upper bound %g, objective %g, gap %g", plan.UpperBound, plan.Objective, plan.Gap)
	}
}

// smallRandomProblem draws up to 3 brands × 4 influencers with most pairs
// present, some with non-positive values. Budgets are unlimited unless
// withBudgets.
func smallRandomProblem(rng *rand.Rand, withBudgets bool) Problem {
	nb, ni := 1+rng.IntN(3), 2+rng.IntN(3)
	var p Problem
	for i := 0; i < ni; i++ {
		p.Influencers = append(p.Influencers, InfluencerSupply{
			ID: uint64(100 + i), Capacity: 1 + rng.IntN(3), Fee: float64(rng.IntN(6) * 10),
		})
	}
	for b := 0; b < nb; b++ {
		budget := math.Inf(1)
		if withBudgets {
			budget = float64(20 + rng.IntN(6)*10)
		}
		p.Brands = append(p.Brands, BrandDemand{ID: uint64(1 + b), Budget: budget, Lives: 1 + rng.IntN(4)})
		for i := 0; i < ni; i++ {
			if rng.Float64() < 0.85 {
				p.Pairs = append(p.Pairs, Pair{
					Brand: uint64(1 + b), Influencer: uint64(100 + i), Value: math.Round(rng.Float64()*120-20) / 2,
				})
			}
		}
	}
	return p
}

func TestSolve_CapacityOnly_EqualsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		p := smallRandomProblem(rng, false)
		plan, err := Solve(context.Background(), p, PlanOptions{})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		checkPlan(t, p, plan)
		if want := brutePlan(p); math.Abs(plan.Objective-want) > 1e-9 {
			t.Fatalf("trial %d: objective %g, brute force %g\n%+v", trial, plan.Objective, want, p)
		}
		if !plan.Exact || plan.Gap != 0 || plan.Method != MethodFlow {
			t.Fatalf("trial %d: exact %v gap %g method %q, want an exact min-cost flow", trial, plan.Exact, plan.Gap, plan.Method)
		}
	}
}

// TestSolve_Budgets_FeasibleAndBounded checks the Lagrangian plan against
// brute force: feasible, never above the optimum, the optimum never above
// the reported bound, and small gaps on average. It runs each problem with
// the LP bound and with the Lagrangian bound alone.
//
// Two gaps are measured. The gap to the optimum (known here by brute force)
// is the plan's real loss. The reported gap, to the upper bound, is larger
// on such tiny problems: with one to four lives per brand the LP relaxation
// takes a fraction of one more live within each binding budget, worth
// several percent of the brand's value, and no bound of the LP family can
// see past that. On large problems the same fraction is spread over many
// lives (the 1000 × 10000 benchmark reports 0.05 %).
func TestSolve_Budgets_FeasibleAndBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const trials = 1000
	for _, lp := range []struct {
		name     string
		maxPairs int
	}{{"lp", 0}, {"lagrangian only", -1}} {
		t.Run(lp.name, func(t *testing.T) {
			var sumTrue, sumReported float64
			var exact, binding, below int
			var worst float64
			for trial := 0; trial < trials; trial++ {
				p := smallRandomProblem(rng, true)
				plan, err := Solve(context.Background(), p, PlanOptions{LPMaxPairs: lp.maxPairs})
				if err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				checkPlan(t, p, plan)
				opt := brutePlan(p)
				if plan.Objective > opt+1e-9 {
					t.Fatalf("trial %d: objective %g above the optimum %g", trial, plan.Objective, opt)
				}
				if opt > plan.UpperBound+1e-6*math.Max(1, opt) {
					t.Fatalf("trial %d: optimum %g above the upper bound %g\n%+v", trial, opt, plan.UpperBound, p)
				}
				if plan.Method == MethodFlow {
					if math.Abs(plan.Objective-opt) > 1e-9 {
						t.Fatalf("trial %d: no budget binds yet objective %g, optimum %g", trial, plan.Objective, opt)
					}
					continue
				}
				binding++
				trueGap := 0.0
				if opt > 0 {
					trueGap = (opt - plan.Objective) / opt
				}
				if trueGap > 1e-9 {
					below++
				}
				worst = math.Max(worst, trueGap)
				sumTrue += trueGap
				sumReported += plan.Gap
				if plan.Exact {
					exact++
				}
			}
			meanTrue, meanReported := sumTrue/float64(binding), sumReported/float64(binding)
			t.Logf("%d of %d problems with binding budgets: mean gap to the optimum %.3f%% (worst %.1f%%, %d below it), mean reported gap %.3f%%, %d proven exact",
				binding, trials, 100*meanTrue, 100*worst, below, 100*meanReported, exact)
			if binding < trials/4 {
				t.Fatalf("only %d problems with binding budgets; the generator needs tuning", binding)
			}
			if meanTrue > 0.005 {
				t.Errorf("mean gap to the optimum %.2f%%, want < 0.5%%", 100*meanTrue)
			}
			if meanReported > 0.12 {
				t.Errorf("mean reported gap %.2f%%, want < 12%%", 100*meanReported)
			}
		})
	}
}

// TestSolve_LagrangianBoundNearLP compares the Lagrangian bound alone with
// the LP relaxation on instances too big for brute force but small enough
// for the simplex. In theory the best Lagrangian bound equals the LP bound.
func TestSolve_LagrangianBoundNearLP(t *testing.T) {
	var sum, worst float64
	const trials = 20
	for seed := uint64(0); seed < trials; seed++ {
		p := randomPlanProblem(seed, 6, 25, 20)
		withLP, err := Solve(context.Background(), p, PlanOptions{LPMaxPairs: 1000})
		if err != nil {
			t.Fatal(err)
		}
		alone, err := Solve(context.Background(), p, PlanOptions{LPMaxPairs: -1})
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p, withLP)
		checkPlan(t, p, alone)
		if withLP.Method != MethodLagrangianLP {
			t.Fatalf("seed %d: method %q, want %q", seed, withLP.Method, MethodLagrangianLP)
		}
		excess := (alone.UpperBound - withLP.UpperBound) / withLP.UpperBound
		if excess < -1e-6 {
			t.Fatalf("seed %d: lagrangian bound %g below the LP bound %g", seed, alone.UpperBound, withLP.UpperBound)
		}
		sum += excess
		worst = math.Max(worst, excess)
	}
	t.Logf("lagrangian bound above the LP bound by %.3f%% on average, %.3f%% at worst", 100*sum/trials, 100*worst)
	if sum/trials > 0.01 {
		t.Errorf("lagrangian bound %.2f%% above the LP bound on average, want < 1%%", 100*sum/trials)
	}
}

func TestSolve_InvalidProblem(t *testing.T) {
	valid := func() Problem {
		return Problem{
			Brands:      []BrandDemand{{ID: 1, Budget: 100, Lives: 2}, {ID: 2, Budget: math.Inf(1), Lives: 1}},
			Influencers: []InfluencerSupply{{ID: 7, Capacity: 1, Fee: 10}, {ID: 8, Capacity: 2, Fee: 0}},
			Pairs:       []Pair{{Brand: 1, Influencer: 7, Value: 5}, {Brand: 2, Influencer: 8, Value: 3}},
		}
	}
	tests := []struct {
		name   string
		change func(p *Problem)
		opts   PlanOptions
		want   string
	}{
		{"negative budget", func(p *Problem) { p.Brands[0].Budget = -5 }, PlanOptions{},
			"invalid plan problem: brand 1: negative budget -5"},
		{"NaN budget", func(p *Problem) { p.Brands[1].Budget = math.NaN() }, PlanOptions{},
			"invalid plan problem: brand 2: invalid budget NaN"},
		{"no lives", func(p *Problem) { p.Brands[1].Lives = 0 }, PlanOptions{},
			"invalid plan problem: brand 2: lives 0, want at least 1"},
		{"duplicate brand", func(p *Problem) { p.Brands[1].ID = 1 }, PlanOptions{},
			"invalid plan problem: brand 1: duplicate id (brands[0] and brands[1])"},
		{"zero capacity", func(p *Problem) { p.Influencers[0].Capacity = 0 }, PlanOptions{},
			"invalid plan problem: influencer 7: capacity 0, want at least 1"},
		{"negative fee", func(p *Problem) { p.Influencers[1].Fee = -1 }, PlanOptions{},
			"invalid plan problem: influencer 8: negative fee -1"},
		{"infinite fee", func(p *Problem) { p.Influencers[1].Fee = math.Inf(1) }, PlanOptions{},
			"invalid plan problem: influencer 8: invalid fee +Inf"},
		{"duplicate influencer", func(p *Problem) { p.Influencers[1].ID = 7 }, PlanOptions{},
			"invalid plan problem: influencer 7: duplicate id (influencers[0] and influencers[1])"},
		{"unknown brand", func(p *Problem) { p.Pairs[1].Brand = 9 }, PlanOptions{},
			"invalid plan problem: pair 1 (brand 9, influencer 8): unknown brand"},
		{"unknown influencer", func(p *Problem) { p.Pairs[0].Influencer = 9 }, PlanOptions{},
			"invalid plan problem: pair 0 (brand 1, influencer 9): unknown influencer"},
		{"NaN value", func(p *Problem) { p.Pairs[1].Value = math.NaN() }, PlanOptions{},
			"invalid plan problem: pair 1 (brand 2, influencer 8): invalid value NaN"},
		{"infinite value", func(p *Problem) { p.Pairs[0].Value = math.Inf(-1) }, PlanOptions{},
			"invalid plan problem: pair 0 (brand 1, influencer 7): invalid value -Inf"},
		{"duplicate pair", func(p *Problem) { p.Pairs = append(p.Pairs, Pair{Brand: 1, Influencer: 7, Value: 1}) }, PlanOptions{},
			"invalid plan problem: pair 2 (brand 1, influencer 7): duplicate of pair 0"},
		{"too many brands", func(*Problem) {}, PlanOptions{MaxBrands: 1},
			"invalid plan problem: 2 brands, more than the limit 1"},
		{"too many influencers", func(*Problem) {}, PlanOptions{MaxInfluencers: 1},
			"invalid plan problem: 2 influencers, more than the limit 1"},
		{"too many pairs", func(*Problem) {}, PlanOptions{MaxPairs: 1},
			"invalid plan problem: 2 pairs, more than the limit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(&p)
			plan, err := Solve(context.Background(), p, tt.opts)
			if !errors.Is(err, ErrInvalidProblem) {
				t.Fatalf("err = %v, want ErrInvalidProblem", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("err = %q, want %q", err, tt.want)
			}
			if plan != nil {
				t.Fatalf("plan %+v with an error", plan)
			}
		})
	}
	if _, err := Solve(context.Background(), valid(), PlanOptions{}); err != nil {
		t.Fatalf("valid problem: %v", err)
	}
}

func TestSolve_NoUsablePairs_EmptyPlan(t *testing.T) {
	tests := map[string]Problem{
		"empty problem": {},
		"no pairs": {
			Brands:      []BrandDemand{{ID: 2, Budget: 10, Lives: 1}, {ID: 1, Budget: 0, Lives: 3}},
			Influencers: []InfluencerSupply{{ID: 5, Capacity: 1, Fee: 1}},
		},
		"only non-positive values and unaffordable fees": {
			Brands:      []BrandDemand{{ID: 2, Budget: 10, Lives: 1}, {ID: 1, Budget: 0, Lives: 3}},
			Influencers: []InfluencerSupply{{ID: 5, Capacity: 1, Fee: 1}, {ID: 6, Capacity: 1, Fee: 20}},
			Pairs: []Pair{
				{Brand: 2, Influencer: 5, Value: 0}, {Brand: 1, Influencer: 5, Value: -3},
				{Brand: 2, Influencer: 6, Value: 50}, {Brand: 1, Influencer: 6, Value: 50},
			},
		},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			plan, err := Solve(context.Background(), p, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, p, plan)
			if len(plan.Assignments) != 0 || plan.Objective != 0 || plan.UpperBound != 0 || !plan.Exact {
				t.Fatalf("plan %+v, want empty and exact", plan)
			}
			for _, bt := range plan.Brands {
				if bt.Lives != 0 || bt.Fees != 0 || bt.Value != 0 {
					t.Fatalf("brand total %+v, want zero", bt)
				}
			}
		})
	}
}

func TestSolve_ZeroBudgetTakesOnlyFreeLives(t *testing.T) {
	p := Problem{
		Brands:      []BrandDemand{{ID: 1, Budget: 0, Lives: 3}},
		Influencers: []InfluencerSupply{{ID: 5, Capacity: 1, Fee: 0}, {ID: 6, Capacity: 1, Fee: 1}, {ID: 7, Capacity: 1, Fee: 0}},
		Pairs:       []Pair{{1, 5, 4}, {1, 6, 100}, {1, 7, 0}},
	}
	plan, err := Solve(context.Background(), p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)
	want := []Assignment{{Brand: 1, Influencer: 5, Value: 4, Fee: 0}}
	if !reflect.DeepEqual(plan.Assignments, want) || !plan.Exact {
		t.Fatalf("assignments %+v (exact %v), want %+v", plan.Assignments, plan.Exact, want)
	}
}

func TestSolve_SameProblemAnyPairOrder_SamePlan(t *testing.T) {
	p := randomPlanProblem(11, 20, 60, 15)
	first, err := Solve(context.Background(), p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, first)
	rng := rand.New(rand.NewPCG(1, 1))
	for range 3 {
		rng.Shuffle(len(p.Pairs), func(i, j int) { p.Pairs[i], p.Pairs[j] = p.Pairs[j], p.Pairs[i] })
		again, err := Solve(context.Background(), p, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("plans differ:\n%+v\n%+v", first, again)
		}
	}
}

func TestSolve_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, p := range []Problem{randomPlanProblem(1, 30, 100, 20), smallRandomProblem(rand.New(rand.NewPCG(9, 9)), false)} {
		if _, err := Solve(ctx, p, PlanOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
}

// TestSolve_FullSize runs the largest allowed shape: 1000 brands × 10000
// influencers, 200 candidate pairs per brand.
func TestSolve_FullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size plan in -short mode")
	}
	p := randomPlanProblem(2, 1000, 10000, 200)
	start := time.Now()
	plan, err := Solve(context.Background(), p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)
	t.Logf("%d pairs: %d lives, objective %.0f, bound %.0f, gap %.4f%%, %d flows, %v",
		len(p.Pairs), len(plan.Assignments), plan.Objective, plan.UpperBound, 100*plan.Gap, plan.Iterations, time.Since(start))
}

func TestSortByValueDesc_MatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 100, 5000, 70000} {
		vals := make([]float64, n)
		for k := range vals {
			vals[k] = float64(1+rng.IntN(300)) / 7 // many ties
			if rng.IntN(50) == 0 {
				vals[k] = rng.Float64() * 1e9
			}
		}
		got := sortByValueDesc(vals)
		for j := 1; j < n; j++ {
			x, y := got[j-1], got[j]
			if vals[x] < vals[y] || vals[x] == vals[y] && x > y {
				t.Fatalf("n=%d: positions %d, %d out of order: %d (%g) before %d (%g)", n, j-1, j, x, vals[x], y, vals[y])
			}
		}
		if len(got) != n {
			t.Fatalf("n=%d: %d indices", n, len(got))
		}
	}
}

// TestSolve_CapacityOnly_EqualsLP checks the min-cost flow on problems too
// big for brute force against gonum's simplex: without budgets the LP
// relaxation of a bipartite b-matching has an integral optimum, so the two
// values must agree.
func TestSolve_CapacityOnly_EqualsLP(t *testing.T) {
	for seed := uint64(0); seed < 10; seed++ {
		p := randomPlanProblem(seed, 8, 30, 15)
		for k := range p.Brands {
			p.Brands[k].Budget = math.Inf(1)
			p.Brands[k].Lives += 3
		}
		for k := range p.Influencers {
			p.Influencers[k].Capacity = 1 // brands compete for influencers
		}
		plan, err := Solve(context.Background(), p, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p, plan)
		s, err := newPlanSolver(p, PlanOptions{}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		lpValue, ok := s.lpBound()
		if !ok {
			t.Fatalf("seed %d: simplex failed", seed)
		}
		if math.Abs(plan.Objective-lpValue) > 1e-6*lpValue {
			t.Fatalf("seed %d: flow %g, LP %g", seed, plan.Objective, lpValue)
		}
		if !plan.Exact || plan.Method != MethodFlow {
			t.Fatalf("seed %d: exact %v method %q", seed, plan.Exact, plan.Method)
		}
	}
}

// TestSolve_DegenerateLPTerminates: the plan problem the matching back-test
// met (testdata/degenerate_lp.json: 9 brands, 50 influencers, many equal
// fees) has a degenerate LP on which gonum's simplex cycled for ever. It
// must now finish, within its bound, like any other.
func TestSolve_DegenerateLPTerminates(t *testing.T) {
	data, err := os.ReadFile("testdata/degenerate_lp.json")
	if err != nil {
		t.Fatal(err)
	}
	var p Problem
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	type result struct {
		plan *Plan
		err  error
	}
	done := make(chan result, 1)
	go func() {
		plan, err := Solve(context.Background(), p, PlanOptions{})
		done <- result{plan, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		checkPlan(t, p, r.plan)
		if r.plan.Method != MethodLagrangianLP {
			t.Errorf("method %s: the LP bound was not used", r.plan.Method)
		}
		if r.plan.UpperBound < r.plan.Objective {
			t.Errorf("bound %g below the objective %g", r.plan.UpperBound, r.plan.Objective)
		}
	case <-time.After(time.Minute):
		t.Fatal("still solving after a minute: the LP bound cycles")
	}
}
