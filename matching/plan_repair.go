package matching

// This file holds the repair step: turning a Lagrangian solution into a
// feasible plan and improving it by local exchanges.

import (
	"cmp"
	"slices"
)

// planRepair turns a set of pairs that respects lives and capacities but
// maybe not budgets into a feasible plan, and improves it locally.
type planRepair struct {
	s      *planSolver
	chosen []bool
	lives  []int
	fees   []float64
	used   []int
	drop   []int32

	// The pairs of influencer i are iPairs[iStart[i]:iStart[i+1]].
	iStart []int32
	iPairs []int32
}

func newPlanRepair(s *planSolver) *planRepair {
	r := &planRepair{
		s:      s,
		chosen: make([]bool, len(s.pVal)),
		lives:  make([]int, len(s.brands)),
		fees:   make([]float64, len(s.brands)),
		used:   make([]int, len(s.infl)),
		iStart: make([]int32, len(s.infl)+1),
		iPairs: make([]int32, len(s.pVal)),
	}
	for _, i := range s.pInf {
		r.iStart[i+1]++
	}
	for i := range s.infl {
		r.iStart[i+1] += r.iStart[i]
	}
	fill := slices.Clone(r.iStart[:len(s.infl)])
	for k, i := range s.pInf {
		r.iPairs[fill[i]] = int32(k)
		fill[i]++
	}
	return r
}

func (r *planRepair) fits(b int, fees float64) bool {
	budget := r.s.brands[b].Budget
	return fees <= budget+budgetSlack(budget)
}

// run repairs start into r.chosen and returns the plan's value: over budget
// brands drop their lives with the lowest value per fee until within budget,
// then spare lives, budget and capacity are filled greedily by value, then
// each brand swaps a live for a better affordable one while it can, and the
// capacity the swaps freed is filled again.
func (r *planRepair) run(start []bool) float64 {
	s := r.s
	copy(r.chosen, start)
	clear(r.lives)
	clear(r.fees)
	clear(r.used)
	for k, c := range r.chosen {
		if c {
			r.lives[s.pBrand[k]]++
			r.fees[s.pBrand[k]] += s.pFee[k]
			r.used[s.pInf[k]]++
		}
	}
	for b := range s.brands {
		if !r.fits(b, r.fees[b]) {
			r.dropToBudget(b)
		}
	}
	r.fill()
	for b := range s.brands {
		if r.lives[b] > 0 {
			r.swap(b)
		}
	}
	r.fill()
	return s.value(r.chosen)
}

func (r *planRepair) take(k int32) {
	s := r.s
	r.chosen[k] = true
	r.lives[s.pBrand[k]]++
	r.fees[s.pBrand[k]] += s.pFee[k]
	r.used[s.pInf[k]]++
}

func (r *planRepair) release(k int32) {
	s := r.s
	r.chosen[k] = false
	r.lives[s.pBrand[k]]--
	r.fees[s.pBrand[k]] -= s.pFee[k]
	r.used[s.pInf[k]]--
}

func (r *planRepair) dropToBudget(b int) {
	s := r.s
	r.drop = r.drop[:0]
	for k := s.bStart[b]; k < s.bStart[b+1]; k++ {
		if r.chosen[k] && s.pFee[k] > 0 {
			r.drop = append(r.drop, k)
		}
	}
	slices.SortFunc(r.drop, func(x, y int32) int {
		return cmp.Or(cmp.Compare(s.pVal[x]/s.pFee[x], s.pVal[y]/s.pFee[y]), cmp.Compare(x, y))
	})
	for _, k := range r.drop {
		if r.fits(b, r.fees[b]) {
			break
		}
		r.release(k)
	}
	if r.lives[b] == 0 {
		r.fees[b] = 0 // no rounding residue
	}
}

func (r *planRepair) fill() {
	s := r.s
	for _, k := range s.byValue {
		b, i := s.pBrand[k], s.pInf[k]
		if !r.chosen[k] && r.lives[b] < s.lives[b] && r.used[i] < s.caps[i] && r.fits(int(b), r.fees[b]+s.pFee[k]) {
			r.take(k)
		}
	}
}

// swap improves brand b's lives one exchange at a time, best gain first:
// a live p is replaced by an affordable pair q with spare capacity, or just
// dropped, and if p's influencer was full, the freed slot goes to the other
// brand that gains most by adding it. Counting that second brand's gain
// finds the exchanges a brand-by-brand search misses, where a brand gives
// up an influencer another brand values more.
func (r *planRepair) swap(b int) {
	s := r.s
	lo, hi := s.bStart[b], s.bStart[b+1]
	for round := 0; round < 2*s.lives[b]; round++ {
		bestGain, out, in, extra := 1e-9, int32(-1), int32(-1), int32(-1)
		for p := lo; p < hi; p++ {
			if !r.chosen[p] {
				continue
			}
			bonus, add := r.bestAddition(s.pInf[p], int32(b))
			if gain := bonus - s.pVal[p]; gain > bestGain {
				bestGain, out, in, extra = gain, p, -1, add
			}
			rest := r.fees[b] - s.pFee[p]
			for q := lo; q < hi; q++ {
				if gain := s.pVal[q] - s.pVal[p] + bonus; gain > bestGain && !r.chosen[q] &&
					r.used[s.pInf[q]] < s.caps[s.pInf[q]] && r.fits(b, rest+s.pFee[q]) {
					bestGain, out, in, extra = gain, p, q, add
				}
			}
		}
		if out < 0 {
			return
		}
		r.release(out)
		if in >= 0 {
			r.take(in)
		}
		if extra >= 0 {
			r.take(extra)
		}
	}
}

// bestAddition returns the most valuable pair at full influencer i that a
// brand other than except could add once a slot of i is freed, and its
// value; (0, -1) if i is not full or no brand can add it.
func (r *planRepair) bestAddition(i, except int32) (float64, int32) {
	s := r.s
	if r.used[i] < s.caps[i] {
		return 0, -1
	}
	best, add := 0.0, int32(-1)
	for _, k := range r.iPairs[r.iStart[i]:r.iStart[i+1]] {
		b := s.pBrand[k]
		if b != except && !r.chosen[k] && s.pVal[k] > best && r.lives[b] < s.lives[b] && r.fits(int(b), r.fees[b]+s.pFee[k]) {
			best, add = s.pVal[k], k
		}
	}
	return best, add
}
