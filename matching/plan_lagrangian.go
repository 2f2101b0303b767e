package matching

// This file holds the Lagrangian relaxation of the budgets: the iteration
// of Solve when budgets bind, the per-brand dual and its minimisation.

import (
	"context"
	"fmt"
	"math"
)

// solveLagrangian plans with binding budgets; see Solve.
func (s *planSolver) solveLagrangian(ctx context.Context, opts PlanOptions) (*Plan, error) {
	nb, ni := len(s.brands), len(s.infl)
	method := MethodLagrangian
	upper := math.Inf(1)
	if opts.LPMaxPairs > 0 && len(s.pVal) <= opts.LPMaxPairs {
		if bound, ok := s.lpBound(); ok {
			upper = bound
			method = MethodLagrangianLP
		}
	}

	lambda := make([]float64, nb)
	beta := make([]float64, ni)
	scratch := make([]weightedFee, 0, 64)
	for b := range s.brands {
		if s.binding[b] {
			lambda[b], scratch = s.minimiseBrand(b, beta, scratch)
		}
	}
	upper = math.Min(upper, s.dualBound(lambda, beta, &scratch))

	rep := newPlanRepair(s)
	best := make([]bool, len(s.pVal))
	bestObj := rep.run(best) // the greedy plan from nothing
	copy(best, rep.chosen)

	s.buildNetwork()
	chosen := make([]bool, len(s.pVal))
	newLambda := make([]float64, nb)
	theta := 1.0
	stalled := 0
	iterations := 0
	for iterations < opts.MaxIterations {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plan %d pairs, lagrangian iteration %d: %w", len(s.pVal), iterations, err)
		}
		s.net.reset()
		for k := range s.pVal {
			b := s.pBrand[k]
			if s.binding[b] {
				s.net.setCost(k, -(s.pVal[k] - lambda[b]*s.pFee[k]))
			}
		}
		if err := s.net.solve(ctx); err != nil {
			return nil, fmt.Errorf("plan %d pairs, lagrangian iteration %d: %w", len(s.pVal), iterations, err)
		}
		iterations++
		for i := range beta {
			beta[i] = 0
			if s.caps[i] > 0 {
				beta[i] = math.Max(0, s.net.potential(s.sink)-s.net.potential(nb+i))
			}
		}
		improved := false
		current := s.dualBound(lambda, beta, &scratch)
		if current < upper-1e-12*math.Abs(upper) {
			upper, improved = current, true
		}
		for k := range chosen {
			b := s.pBrand[k]
			chosen[k] = s.net.flow(k) > 0 && s.pVal[k]-lambda[b]*s.pFee[k] > 0
		}
		if obj := rep.run(chosen); obj > bestObj {
			bestObj, improved = obj, true
			copy(best, rep.chosen)
		}
		if upper <= 0 || (upper-bestObj)/upper <= opts.GapTolerance {
			break
		}
		if improved {
			stalled = 0
		} else if stalled++; stalled >= 10 {
			break
		}

		// Block coordinate step: given the capacity prices β, each brand's
		// share of the dual is a convex function of λ_b alone, minimised
		// exactly.
		for b := range s.brands {
			newLambda[b] = 0
			if s.binding[b] {
				newLambda[b], scratch = s.minimiseBrand(b, beta, scratch)
			}
		}
		if d := s.dualBound(newLambda, beta, &scratch); d < current-1e-9*math.Abs(current) {
			upper = math.Min(upper, d)
			copy(lambda, newLambda)
			continue
		}
		// The coordinate step stalls at kinks of the dual; a Polyak
		// subgradient step moves all multipliers together. The budget slack
		// of the flow solution is a subgradient.
		spent := make([]float64, nb)
		for k, c := range chosen {
			if c {
				spent[s.pBrand[k]] += s.pFee[k]
			}
		}
		var norm float64
		for b := range s.brands {
			if s.binding[b] {
				g := s.brands[b].Budget - spent[b]
				if lambda[b] == 0 && g > 0 {
					g = 0 // projected onto λ ≥ 0
				}
				spent[b] = g
				norm += g * g
			}
		}
		if norm == 0 {
			break // the relaxed solution is feasible and complementary
		}
		step := theta * (current - bestObj) / norm
		for b := range s.brands {
			if s.binding[b] {
				lambda[b] = math.Max(0, lambda[b]-step*spent[b])
			}
		}
		theta *= 0.7
	}
	return s.result(best, upper, method, iterations), nil
}

// weightedFee is a pair's penalised value and fee, scratch for the per-brand
// dual.
type weightedFee struct{ w, fee float64 }

// brandDual returns brand b's share of the dual for multiplier lambda and
// influencer prices beta, without the λ·budget term: the sum of its
// lives[b] largest positive values value - β_i - λ·fee, and the fees of
// those pairs.
func (s *planSolver) brandDual(b int, lambda float64, beta []float64, scratch []weightedFee) (sum, fees float64, _ []weightedFee) {
	items := scratch[:0]
	for k := s.bStart[b]; k < s.bStart[b+1]; k++ {
		if w := s.pVal[k] - beta[s.pInf[k]] - lambda*s.pFee[k]; w > 0 {
			items = append(items, weightedFee{w, s.pFee[k]})
		}
	}
	top := items
	if l := s.lives[b]; len(items) > l {
		selectLargest(items, l)
		top = items[:l]
	}
	for _, it := range top {
		sum += it.w
		fees += it.fee
	}
	return sum, fees, items
}

// dualBound returns the Lagrangian dual value for multipliers lambda and
// influencer prices beta ≥ 0:
//
//	Σ_b (λ_b·budget_b + top-lives_b sum of positive value - β_i - λ_b·fee) + Σ_i capacity_i·β_i
//
// It is the LP dual of the b-matching with penalised values, minimised over
// the brands' lives prices, so it bounds every feasible plan for any
// λ, β ≥ 0, and equals the Lagrangian dual when β is the flow's optimal dual.
// Computing the bound from the duals rather than from the flow's value keeps
// it valid even if the flow were slightly suboptimal.
func (s *planSolver) dualBound(lambda, beta []float64, scratch *[]weightedFee) float64 {
	var total float64
	for i, c := range s.caps {
		total += float64(c) * beta[i]
	}
	for b := range s.brands {
		sum, _, sc := s.brandDual(b, lambda[b], beta, *scratch)
		*scratch = sc
		total += sum
		if lambda[b] > 0 {
			total += lambda[b] * s.brands[b].Budget
		}
	}
	return total
}

// minimiseBrand returns the λ ≥ 0 minimising brand b's share of the dual,
// h(λ) = λ·budget + brandDual(λ), given beta. h is convex and piecewise
// linear with slope budget - fees of the chosen pairs, so bisection on the
// sign of the slope finds its minimum; the upper end keeps the side where
// the chosen pairs fit the budget.
func (s *planSolver) minimiseBrand(b int, beta []float64, scratch []weightedFee) (float64, []weightedFee) {
	budget := s.brands[b].Budget
	_, fees, scratch := s.brandDual(b, 0, beta, scratch)
	if fees <= budget {
		return 0, scratch
	}
	// Above hi every pair with a fee has a non-positive penalised value.
	var hi float64
	for k := s.bStart[b]; k < s.bStart[b+1]; k++ {
		if f := s.pFee[k]; f > 0 {
			hi = math.Max(hi, (s.pVal[k]-beta[s.pInf[k]])/f)
		}
	}
	hi *= 1 + 1e-12
	lo := 0.0
	for it := 0; it < 100 && hi-lo > 1e-12*hi; it++ {
		mid := (lo + hi) / 2
		_, fees, scratch = s.brandDual(b, mid, beta, scratch)
		if fees > budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, scratch
}

// selectLargest reorders items so that items[:k] are the k with the largest
// w (quickselect, median-of-three pivot).
func selectLargest(items []weightedFee, k int) {
	lo, hi := 0, len(items)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		a, b, c := items[lo].w, items[mid].w, items[hi].w
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for items[i].w > pivot {
				i++
			}
			for items[j].w < pivot {
				j--
			}
			if i <= j {
				items[i], items[j] = items[j], items[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
