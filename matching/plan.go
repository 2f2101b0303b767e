package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInvalidProblem is wrapped by the errors Solve returns for a Problem it
// refuses: bad numbers, duplicate or unknown ids, sizes over the limits. The
// message says what is wrong and where, so an HTTP layer can answer 400 with
// it.
var ErrInvalidProblem = errors.New("invalid plan problem")

// Methods reported in Plan.Method.
const (
	// MethodFlow: no budget binds, the plan is an exact b-matching found by
	// min-cost flow.
	MethodFlow = "min-cost flow"
	// MethodLagrangian: budgets bind; the plan is the best feasible repair of
	// Lagrangian solutions and the bound is the best Lagrangian dual.
	MethodLagrangian = "lagrangian"
	// MethodLagrangianLP: as MethodLagrangian, and the instance was small
	// enough to also solve its LP relaxation for the bound.
	MethodLagrangianLP = "lagrangian+lp"
)

// BrandDemand is a brand asking for sponsored lives.
type BrandDemand struct {
	ID uint64
	// Budget is the most the brand spends on fees, in EUR. Zero allows only
	// fee-free lives; math.Inf(1) means no limit. Negative or NaN is invalid.
	Budget float64
	// Lives is how many lives the brand wants at most; at least 1.
	Lives int
}

// InfluencerSupply is an influencer available for sponsored lives.
type InfluencerSupply struct {
	ID uint64
	// Capacity is how many lives the influencer can run; at least 1.
	Capacity int
	// Fee is the influencer's fee per live, in EUR; not negative.
	Fee float64
}

// Pair says that Influencer may run a live for Brand and what one such live
// is worth: expected GMV, ROI or any score to maximise, computed by the
// caller. Pairs missing from a Problem are not allowed; pairs with a value
// of zero or less are allowed but never chosen.
type Pair struct {
	Brand, Influencer uint64
	Value             float64
}

// Problem is a planning request: choose at most one live per pair so that
// each brand gets at most Lives lives within its Budget and each influencer
// runs at most Capacity lives, maximising the total value.
type Problem struct {
	Brands      []BrandDemand
	Influencers []InfluencerSupply
	Pairs       []Pair
}

// Assignment is one planned live.
type Assignment struct {
	Brand, Influencer uint64
	Value, Fee        float64
}

// BrandTotal sums a plan for one brand.
type BrandTotal struct {
	Brand uint64
	Lives int
	Fees  float64
	Value float64
}

// Plan is the answer to a Problem.
type Plan struct {
	// Assignments are the planned lives, sorted by brand then influencer id.
	Assignments []Assignment
	// Brands has one total per brand of the problem, sorted by id, including
	// brands that got no live.
	Brands []BrandTotal
	// Objective is the total value of Assignments.
	Objective float64
	// UpperBound is a proven bound on the value of any feasible plan: the
	// best Lagrangian dual found, lowered to the LP relaxation when it was
	// solved. It equals Objective when Exact.
	UpperBound float64
	// Gap is (UpperBound - Objective) / UpperBound, 0 when UpperBound is 0:
	// the plan is at most this fraction below the optimum.
	Gap float64
	// Method is MethodFlow, MethodLagrangian or MethodLagrangianLP.
	Method string
	// Exact reports that the plan is proven optimal.
	Exact bool
	// Iterations counts the min-cost flow solves.
	Iterations int
}

// Default limits and settings of PlanOptions.
const (
	DefaultMaxBrands      = 1000
	DefaultMaxInfluencers = 10000
	DefaultMaxPairs       = 2000000
	DefaultMaxIterations  = 60
	DefaultGapTolerance   = 1e-4
	// DefaultLPMaxPairs is the default size, in usable pairs, up to which
	// Solve also computes the LP relaxation with gonum's dense simplex. Each
	// simplex pivot factorises a dense basis of about pairs + brands +
	// influencers rows, so time grows with the cube of the size; measured
	// here: 0.01 s at 76 pairs, 0.09 s at 148, 0.5 s at 246, 1.8 s at 396,
	// and 23 s at 50 brands × 200 influencers. The LP bound is the value the
	// Lagrangian dual tends to (the b-matching polytope is integral; in the
	// tests the Lagrangian bound ends 0.004 % above it on average), so larger
	// problems lose little without it.
	DefaultLPMaxPairs = 150
)

// PlanOptions tunes Solve. The zero value uses the defaults.
type PlanOptions struct {
	// MaxBrands, MaxInfluencers and MaxPairs bound the problem size; a larger
	// problem is an ErrInvalidProblem. Zero means the default.
	MaxBrands, MaxInfluencers, MaxPairs int
	// MaxIterations bounds the Lagrangian iterations (min-cost flow solves);
	// they also stop after 10 iterations that improve neither the plan nor
	// the bound. Zero means DefaultMaxIterations.
	MaxIterations int
	// GapTolerance stops the Lagrangian iterations once the relative gap
	// is below it. Zero means DefaultGapTolerance.
	GapTolerance float64
	// LPMaxPairs is the size in usable pairs (positive value, fee within
	// the brand's budget) up to which the LP relaxation bound is computed.
	// Zero means DefaultLPMaxPairs; negative disables it.
	LPMaxPairs int
	// Visible is what the caller of Model.Plan may see of other brands'
	// sponsored lives (nil: everything): fees inferred from past lives, and
	// the figures of the planned lives' influencers, are as it sees them
	// (Model.View). Solve does not use it.
	Visible Visible
}

func (o PlanOptions) withDefaults() PlanOptions {
	if o.MaxBrands == 0 {
		o.MaxBrands = DefaultMaxBrands
	}
	if o.MaxInfluencers == 0 {
		o.MaxInfluencers = DefaultMaxInfluencers
	}
	if o.MaxPairs == 0 {
		o.MaxPairs = DefaultMaxPairs
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	if o.GapTolerance <= 0 {
		o.GapTolerance = DefaultGapTolerance
	}
	if o.LPMaxPairs == 0 {
		o.LPMaxPairs = DefaultLPMaxPairs
	}
	return o
}

// Solve plans the lives of p: it chooses pairs maximising the total value
// under the brands' lives and budgets and the influencers' capacities.
//
// Without binding budgets (every brand's budget covers the fees of its Lives
// most expensive usable pairs) the problem is a bipartite b-matching, solved
// exactly by min-cost flow. Budgets make it NP-hard (it contains knapsack),
// so Solve relaxes them with Lagrange multipliers λ_b: pair values become
// value - λ_b·fee and each λ gives a b-matching solved by min-cost flow,
// whose value plus Σ λ_b·budget_b bounds every feasible plan. The multipliers
// are improved by exact per-brand minimisation of that bound given the
// influencers' capacity prices (the flow's dual), falling back to
// subgradient steps when that stalls. Each flow solution is repaired into a
// feasible plan (drop a brand's lives with the lowest value per fee until
// within budget, fill spare lives, budget and capacity greedily by value,
// then exchange lives while that gains, including giving an influencer up to
// a brand that values it more) and the best plan is returned with the bound
// and the gap. Small problems (PlanOptions.LPMaxPairs) also get the LP
// relaxation's bound from gonum's simplex; in theory the best Lagrangian
// bound equals it, because the b-matching polytope is integral.
//
// An invalid problem returns an error wrapping ErrInvalidProblem; a problem
// without usable pairs returns an empty plan. Output is deterministic:
// the same problem gives the same plan.
func Solve(ctx context.Context, p Problem, opts PlanOptions) (*Plan, error) {
	opts = opts.withDefaults()
	s, err := newPlanSolver(p, opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan %d pairs: %w", len(p.Pairs), err)
	}
	if len(s.pVal) == 0 {
		return s.result(nil, 0, MethodFlow, 0), nil
	}
	if !s.anyBinding {
		chosen, err := s.solveExact(ctx)
		if err != nil {
			return nil, err
		}
		obj := s.value(chosen)
		return s.result(chosen, obj, MethodFlow, 1), nil
	}
	return s.solveLagrangian(ctx, opts)
}

// planSolver holds a validated problem reduced to its usable pairs.
type planSolver struct {
	brands []BrandDemand
	infl   []InfluencerSupply

	// Usable pairs (positive value, fee within the brand's budget), grouped
	// by brand in compressed rows: brand b owns pairs bStart[b]..bStart[b+1]-1,
	// ordered by influencer index.
	bStart []int32
	pBrand []int32
	pInf   []int32
	pVal   []float64
	pFee   []float64

	lives      []int  // per brand: min(Lives, usable pairs)
	caps       []int  // per influencer: min(Capacity, usable pairs)
	binding    []bool // per brand: the budget can bind
	anyBinding bool
	byValue    []int32 // pair indices by decreasing value

	net  *flowNetwork
	sink int
}

// budgetSlack is the absolute rounding allowed on a budget: fees that sum
// to the budget in decimal may exceed it by an ulp in binary.
func budgetSlack(budget float64) float64 {
	return 1e-9 * math.Max(1, budget)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidProblem, fmt.Sprintf(format, args...))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// newPlanSolver validates p and keeps its usable pairs.
func newPlanSolver(p Problem, opts PlanOptions) (*planSolver, error) {
	if n := len(p.Brands); n > opts.MaxBrands {
		return nil, invalid("%d brands, more than the limit %d", n, opts.MaxBrands)
	}
	if n := len(p.Influencers); n > opts.MaxInfluencers {
		return nil, invalid("%d influencers, more than the limit %d", n, opts.MaxInfluencers)
	}
	if n := len(p.Pairs); n > opts.MaxPairs {
		return nil, invalid("%d pairs, more than the limit %d", n, opts.MaxPairs)
	}
	brandIdx := newIDIndex(len(p.Brands))
	for i, b := range p.Brands {
		if j := brandIdx.insert(b.ID, int32(i)); j >= 0 {
			return nil, invalid("brand %d: duplicate id (brands[%d] and brands[%d])", b.ID, j, i)
		}
		switch {
		case math.IsNaN(b.Budget) || math.IsInf(b.Budget, -1):
			return nil, invalid("brand %d: invalid budget %v", b.ID, b.Budget)
		case b.Budget < 0:
			return nil, invalid("brand %d: negative budget %v", b.ID, b.Budget)
		case b.Lives < 1:
			return nil, invalid("brand %d: lives %d, want at least 1", b.ID, b.Lives)
		}
	}
	inflIdx := newIDIndex(len(p.Influencers))
	for i, f := range p.Influencers {
		if j := inflIdx.insert(f.ID, int32(i)); j >= 0 {
			return nil, invalid("influencer %d: duplicate id (influencers[%d] and influencers[%d])", f.ID, j, i)
		}
		switch {
		case !finite(f.Fee):
			return nil, invalid("influencer %d: invalid fee %v", f.ID, f.Fee)
		case f.Fee < 0:
			return nil, invalid("influencer %d: negative fee %v", f.ID, f.Fee)
		case f.Capacity < 1:
			return nil, invalid("influencer %d: capacity %d, want at least 1", f.ID, f.Capacity)
		}
	}

	// Resolve ids; pairs usually come grouped by brand, so remember the last.
	pairBrand := make([]int32, len(p.Pairs))
	pairInf := make([]int32, len(p.Pairs))
	lastID, last := uint64(0), int32(-1)
	for k, pr := range p.Pairs {
		b := last
		if b < 0 || pr.Brand != lastID {
			if b = brandIdx.get(pr.Brand); b < 0 {
				return nil, invalid("pair %d (brand %d, influencer %d): unknown brand", k, pr.Brand, pr.Influencer)
			}
			lastID, last = pr.Brand, b
		}
		f := inflIdx.get(pr.Influencer)
		if f < 0 {
			return nil, invalid("pair %d (brand %d, influencer %d): unknown influencer", k, pr.Brand, pr.Influencer)
		}
		if !finite(pr.Value) {
			return nil, invalid("pair %d (brand %d, influencer %d): invalid value %v", k, pr.Brand, pr.Influencer, pr.Value)
		}
		pairBrand[k], pairInf[k] = b, f
	}
	// Order the pairs by brand, influencer and input position with two
	// stable counting sorts (linear, unlike a map of seen pairs at two
	// million entries); duplicates become neighbours. The reported duplicate
	// is the first one in input order.
	order := make([]int32, len(p.Pairs))
	for k := range order {
		order[k] = int32(k)
	}
	order = countingSort(order, pairInf, len(p.Influencers))
	order = countingSort(order, pairBrand, len(p.Brands))
	dup, dupOf := int32(-1), int32(-1)
	for j := 1; j < len(order); j++ {
		x, y := order[j-1], order[j]
		if pairBrand[x] == pairBrand[y] && pairInf[x] == pairInf[y] && (dup < 0 || y < dup) {
			dup, dupOf = y, x
			for j+1 < len(order) && pairBrand[order[j+1]] == pairBrand[y] && pairInf[order[j+1]] == pairInf[y] {
				j++ // later copies of the same pair come after y in input order
			}
		}
	}
	if dup >= 0 {
		pr := p.Pairs[dup]
		return nil, invalid("pair %d (brand %d, influencer %d): duplicate of pair %d", dup, pr.Brand, pr.Influencer, dupOf)
	}
	keep := order[:0]
	for _, k := range order {
		b, f := pairBrand[k], pairInf[k]
		budget := p.Brands[b].Budget
		if p.Pairs[k].Value <= 0 || p.Influencers[f].Fee > budget+budgetSlack(budget) {
			continue // never worth taking, or never affordable
		}
		keep = append(keep, k)
	}

	nb, ni, np := len(p.Brands), len(p.Influencers), len(keep)
	s := &planSolver{
		brands:  p.Brands,
		infl:    p.Influencers,
		bStart:  make([]int32, nb+1),
		pBrand:  make([]int32, np),
		pInf:    make([]int32, np),
		pVal:    make([]float64, np),
		pFee:    make([]float64, np),
		lives:   make([]int, nb),
		caps:    make([]int, ni),
		binding: make([]bool, nb),
	}
	for k, src := range keep {
		b, f := pairBrand[src], pairInf[src]
		s.pBrand[k], s.pInf[k], s.pVal[k] = b, f, p.Pairs[src].Value
		s.pFee[k] = p.Influencers[f].Fee
		s.bStart[b+1]++
		s.caps[f]++
	}
	for b := 0; b < nb; b++ {
		s.bStart[b+1] += s.bStart[b]
	}
	for i := range s.caps {
		s.caps[i] = min(s.caps[i], p.Influencers[i].Capacity)
	}
	fees := make([]float64, 0)
	for b, br := range p.Brands {
		lo, hi := s.bStart[b], s.bStart[b+1]
		s.lives[b] = min(br.Lives, int(hi-lo))
		if math.IsInf(br.Budget, 1) {
			continue
		}
		fees = append(fees[:0], s.pFee[lo:hi]...)
		slices.SortFunc(fees, func(x, y float64) int { return cmp.Compare(y, x) })
		var worst float64
		for _, f := range fees[:s.lives[b]] {
			worst += f
		}
		if worst > br.Budget+budgetSlack(br.Budget) {
			s.binding[b] = true
			s.anyBinding = true
		}
	}
	s.byValue = sortByValueDesc(s.pVal)
	return s, nil
}

// idIndex maps ids to positions by open addressing with linear probing: a
// large problem resolves millions of pair ids, several times faster than
// with a Go map.
type idIndex struct {
	keys  []uint64
	pos   []int32 // position + 1; 0 marks an empty slot
	shift uint
}

func newIDIndex(n int) *idIndex {
	bits := 1
	for 1<<bits < 2*n {
		bits++
	}
	return &idIndex{keys: make([]uint64, 1<<bits), pos: make([]int32, 1<<bits), shift: uint(64 - bits)}
}

// insert records id at position i, or returns the position already
// recorded for id (-1 if none).
func (x *idIndex) insert(id uint64, i int32) int32 {
	mask := uint64(len(x.keys) - 1)
	for h := (id * 0x9E3779B97F4A7C15) >> x.shift; ; h = (h + 1) & mask {
		switch {
		case x.pos[h] == 0:
			x.keys[h], x.pos[h] = id, i+1
			return -1
		case x.keys[h] == id:
			return x.pos[h] - 1
		}
	}
}

// get returns the position of id, -1 if absent.
func (x *idIndex) get(id uint64) int32 {
	mask := uint64(len(x.keys) - 1)
	for h := (id * 0x9E3779B97F4A7C15) >> x.shift; ; h = (h + 1) & mask {
		switch {
		case x.pos[h] == 0:
			return -1
		case x.keys[h] == id:
			return x.pos[h] - 1
		}
	}
}

// countingSort returns order stably sorted by key[order[j]] in [0, n).
func countingSort(order, key []int32, n int) []int32 {
	start := make([]int32, n+1)
	for _, k := range order {
		start[key[k]+1]++
	}
	for v := 0; v < n; v++ {
		start[v+1] += start[v]
	}
	out := make([]int32, len(order))
	for _, k := range order {
		out[start[key[k]]] = k
		start[key[k]]++
	}
	return out
}

// sortByValueDesc returns the indices of vals, all positive, by decreasing
// value and then increasing index. Positive floats order as their bit
// patterns, so a stable LSD radix sort on the complemented bits does it in
// linear time; it matters at two million pairs, where a comparison sort
// takes longer than a flow solve.
func sortByValueDesc(vals []float64) []int32 {
	n := len(vals)
	order := make([]int32, n)
	for k := range order {
		order[k] = int32(k)
	}
	if n < 1<<12 {
		slices.SortStableFunc(order, func(x, y int32) int { return cmp.Compare(vals[y], vals[x]) })
		return order
	}
	key := func(k int32) uint64 { return ^math.Float64bits(vals[k]) }
	tmp := make([]int32, n)
	var count [1 << 16]int32
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range order {
			count[(key(k)>>shift)&0xffff]++
		}
		if int(count[(key(order[0])>>shift)&0xffff]) == n {
			continue // every key has this digit
		}
		var sum int32
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range order {
			d := (key(k) >> shift) & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		order, tmp = tmp, order
	}
	return order
}

// buildNetwork lays out the b-matching as a flow network: brand b supplies
// its lives, each usable pair is an arc brand → influencer of capacity 1 and
// cost -value, each influencer drains into the sink through an arc of its
// capacity, and an arc brand → sink of cost 0 carries the lives the brand
// leaves unused. A minimum cost flow is then a maximum value b-matching:
// routing every unit (through the unused-lives arc if nothing better) makes
// each augmentation worth taking, so no search runs past the point where
// more lives stop adding value, unlike a max-flow formulation. Pair arc k is
// pair k.
func (s *planSolver) buildNetwork() {
	nb, ni := len(s.brands), len(s.infl)
	s.sink = nb + ni
	g := newFlowNetwork(nb+ni+1, len(s.pVal)+ni+nb)
	for k := range s.pVal {
		g.addArc(int(s.pBrand[k]), nb+int(s.pInf[k]), 1, -s.pVal[k])
	}
	for i, c := range s.caps {
		if c > 0 {
			g.addArc(nb+i, s.sink, c, 0)
		}
	}
	total := 0
	for b, l := range s.lives {
		if l > 0 {
			g.addArc(b, s.sink, l, 0)
			g.addSupply(b, l)
			total += l
		}
	}
	g.addSupply(s.sink, -total)
	s.net = g
}

// solveExact solves the b-matching without budgets.
func (s *planSolver) solveExact(ctx context.Context) ([]bool, error) {
	s.buildNetwork()
	if err := s.net.solve(ctx); err != nil {
		return nil, fmt.Errorf("plan %d pairs: %w", len(s.pVal), err)
	}
	chosen := make([]bool, len(s.pVal))
	for k := range chosen {
		chosen[k] = s.net.flow(k) > 0
	}
	return chosen, nil
}

func (s *planSolver) value(chosen []bool) float64 {
	var v float64
	for k, c := range chosen {
		if c {
			v += s.pVal[k]
		}
	}
	return v
}

// result turns chosen pairs into a Plan.
func (s *planSolver) result(chosen []bool, upper float64, method string, iterations int) *Plan {
	plan := &Plan{Method: method, Iterations: iterations, Brands: make([]BrandTotal, len(s.brands))}
	for b, br := range s.brands {
		plan.Brands[b].Brand = br.ID
	}
	for k, c := range chosen {
		if !c {
			continue
		}
		b, i := s.pBrand[k], s.pInf[k]
		plan.Assignments = append(plan.Assignments, Assignment{
			Brand: s.brands[b].ID, Influencer: s.infl[i].ID, Value: s.pVal[k], Fee: s.pFee[k],
		})
		t := &plan.Brands[b]
		t.Lives++
		t.Fees += s.pFee[k]
		t.Value += s.pVal[k]
	}
	slices.SortFunc(plan.Assignments, func(x, y Assignment) int {
		return cmp.Or(cmp.Compare(x.Brand, y.Brand), cmp.Compare(x.Influencer, y.Influencer))
	})
	slices.SortFunc(plan.Brands, func(x, y BrandTotal) int { return cmp.Compare(x.Brand, y.Brand) })
	for _, a := range plan.Assignments {
		plan.Objective += a.Value
	}
	if method == MethodFlow {
		upper = plan.Objective
	}
	plan.UpperBound = math.Max(upper, plan.Objective)
	if plan.UpperBound > 0 {
		plan.Gap = (plan.UpperBound - plan.Objective) / plan.UpperBound
	}
	plan.Exact = plan.Gap <= 1e-9
	if plan.Exact {
		plan.UpperBound, plan.Gap = plan.Objective, 0
	}
	return plan
}
