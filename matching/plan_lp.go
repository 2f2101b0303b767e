package matching

// This file holds the LP relaxation bound computed with gonum's simplex
// for small problems.

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// lpBound solves the LP relaxation of the problem over the usable pairs
// with gonum's dense simplex: maximise Σ value·x subject to the lives,
// budget and capacity rows and 0 ≤ x ≤ 1. ok is false if the simplex
// fails, which leaves the Lagrangian bound.
func (s *planSolver) lpBound() (bound float64, ok bool) {
	np := len(s.pVal)
	var rows [][]float64
	var rhs []float64
	addRow := func(ks []int, coef func(k int) float64, h float64) {
		row := make([]float64, np)
		for _, k := range ks {
			row[k] = coef(k)
		}
		rows = append(rows, row)
		rhs = append(rhs, h)
	}
	one := func(int) float64 { return 1 }
	fee := func(k int) float64 { return s.pFee[k] }
	implied := make([]bool, np) // x_k ≤ 1 already follows from a row
	for b := range s.brands {
		lo, hi := int(s.bStart[b]), int(s.bStart[b+1])
		ks := make([]int, 0, hi-lo)
		for k := lo; k < hi; k++ {
			ks = append(ks, k)
		}
		if s.lives[b] < hi-lo {
			addRow(ks, one, float64(s.lives[b]))
			if s.lives[b] == 1 {
				for _, k := range ks {
					implied[k] = true
				}
			}
		}
		if s.binding[b] {
			addRow(ks, fee, s.brands[b].Budget)
		}
	}
	byInf := make([][]int, len(s.infl))
	for k, i := range s.pInf {
		byInf[i] = append(byInf[i], k)
	}
	for i, ks := range byInf {
		if s.caps[i] < len(ks) {
			addRow(ks, one, float64(s.caps[i]))
			if s.caps[i] == 1 {
				for _, k := range ks {
					implied[k] = true
				}
			}
		}
	}
	for k := range implied {
		if !implied[k] {
			addRow([]int{k}, one, 1)
		}
	}
	if len(rows) == 0 {
		return 0, false
	}
	// Standard form [G I]·(x, slack) = h, with the slacks a feasible basis
	// (every right-hand side is ≥ 0), which skips the simplex's phase one.
	// (lp.Convert would also split x into free parts, doubling the columns.)
	m := len(rows)
	a := mat.NewDense(m, np+m, nil)
	basis := make([]int, m)
	for r, row := range rows {
		a.SetRow(r, append(row, make([]float64, m)...))
		a.Set(r, np+r, 1)
		basis[r] = np + r
	}
	c := make([]float64, np+m)
	for k, v := range s.pVal {
		c[k] = -v
	}
	// Degenerate vertices (many rows tight at once: capacities of 1, lives
	// of 1) make the simplex's pivoting cycle forever. Distinct tiny
	// relaxations of the right-hand sides break the ties; the bound stays
	// an upper bound (of a slightly looser problem) and moves by about
	// 1e-7 of the objective.
	for r := range rhs {
		frac := math.Mod(float64(r+1)*0.6180339887498949, 1)
		rhs[r] += 1e-7 * math.Max(1, math.Abs(rhs[r])) * (1 + frac)
	}
	opt, _, err := lp.Simplex(c, a, rhs, 1e-10, basis)
	if err != nil {
		return 0, false
	}
	return -opt, true
}
