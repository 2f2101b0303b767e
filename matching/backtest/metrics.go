package backtest

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Estimate is a statistic with its 95% percentile bootstrap interval.
type Estimate struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// ranks returns the ranks (1-based, ties averaged) of xs.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// pearson returns the correlation of x and y, 0 if either is constant.
func pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Spearman returns the Spearman rank correlation of x and y: the Pearson
// correlation of their ranks, ties averaged. It is 0 when either is
// constant.
func Spearman(x, y []float64) float64 { return pearson(ranks(x), ranks(y)) }

// WAPE returns Σ|y − ŷ| / Σ y: the weighted absolute percentage error of
// the predictions pred of y (NaN when Σ y is 0).
func WAPE(pred, y []float64) float64 {
	var num, den float64
	for i := range y {
		num += math.Abs(y[i] - pred[i])
		den += y[i]
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// resampler draws bootstrap resamples of n items, seeded.
type resampler struct {
	draws [][]int
}

func newResampler(n, resamples int, seed uint64) *resampler {
	rng := rand.New(rand.NewPCG(seed, 0xbac7e57))
	r := &resampler{draws: make([][]int, resamples)}
	for k := range r.draws {
		d := make([]int, n)
		for i := range d {
			d[i] = rng.IntN(n)
		}
		r.draws[k] = d
	}
	return r
}

// estimate computes stat on the full sample and its percentile interval
// over the resamples; stat sees the resampled x and y.
func (r *resampler) estimate(x, y []float64, stat func(x, y []float64) float64) Estimate {
	e := Estimate{Value: stat(x, y)}
	if len(x) == 0 || len(r.draws) == 0 {
		e.Lo, e.Hi = e.Value, e.Value
		return e
	}
	vals := make([]float64, 0, len(r.draws))
	bx, by := make([]float64, len(x)), make([]float64, len(y))
	for _, d := range r.draws {
		for i, j := range d {
			bx[i], by[i] = x[j], y[j]
		}
		if v := stat(bx, by); !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	e.Lo, e.Hi = quantile(vals, 0.025), quantile(vals, 0.975)
	return e
}

// quantile returns the q-quantile of sorted xs by linear interpolation.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	p := q * float64(len(xs)-1)
	i := int(p)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := p - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantile(s, 0.5)
}
