package sim

import (
	"math"
	"math/rand/v2"
)

// PCG stream selectors: every entity family gets its own stream so that the
// families stay independent of each other's sizes.
const (
	streamWorld uint64 = 0x5157_4f52_4c44_0001 + iota
	streamUsers
	streamBrands
	streamProducts
	streamInfluencers
	streamGenerator
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// logNormal returns exp(N(mu, sigma²)).
func logNormal(r *rand.Rand, mu, sigma float64) float64 {
	return math.Exp(mu + sigma*r.NormFloat64())
}

// logNormalMean returns a log-normal variate with the given mean.
func logNormalMean(r *rand.Rand, mean, sigma float64) float64 {
	return logNormal(r, math.Log(mean)-sigma*sigma/2, sigma)
}

// uniform returns a uniform variate in [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// gammaVariate samples Gamma(shape, 1) (Marsaglia and Tsang).
func gammaVariate(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := r.Float64()
		return gammaVariate(r, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// pickWeighted returns an index with probability proportional to w (which
// must have a positive sum), by linear scan.
func pickWeighted(r *rand.Rand, w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	u := r.Float64() * sum
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] > 0 {
			return i
		}
	}
	return len(w) - 1
}

// pickDistinct returns k distinct indices drawn with probability
// proportional to w (successive draws without replacement); fewer if fewer
// indices have positive weight.
func pickDistinct(r *rand.Rand, w []float64, k int) []int {
	left := append([]float64(nil), w...)
	var out []int
	for len(out) < k {
		var sum float64
		for _, x := range left {
			sum += x
		}
		if sum <= 0 {
			break
		}
		i := pickWeighted(r, left)
		out = append(out, i)
		left[i] = 0
	}
	return out
}

// aliasTable samples an index in O(1) with probability proportional to the
// weights it was built from (Vose's alias method, with 32-bit thresholds).
type aliasTable struct {
	entries []aliasEntry
	stack   []uint32 // scratch for build
}

// aliasEntry keeps index i with probability thr/2^32, else goes to alias.
type aliasEntry struct {
	thr   uint32
	alias uint32
}

// build fills t from w, reusing t's buffers. work must hold len(w) floats
// (it is overwritten). Entries of weight 0 are never sampled unless all are.
func (t *aliasTable) build(w []float64, work []float64) {
	n := len(w)
	if cap(t.entries) < n {
		t.entries = make([]aliasEntry, n)
		t.stack = make([]uint32, n)
	}
	t.entries, t.stack = t.entries[:n], t.stack[:n]
	e := t.entries
	var sum float64
	for _, x := range w {
		sum += x
	}
	if !(sum > 0) {
		for i := range e {
			e[i] = aliasEntry{thr: math.MaxUint32, alias: uint32(i)}
		}
		return
	}
	// Under-full indices are stacked from the front of t.stack, over-full
	// ones from the back.
	scaled := work[:n]
	ns, nl := 0, n
	for i, x := range w {
		scaled[i] = x * float64(n) / sum
		if scaled[i] < 1 {
			t.stack[ns] = uint32(i)
			ns++
		} else {
			nl--
			t.stack[nl] = uint32(i)
		}
	}
	for ns > 0 && nl < n {
		ns--
		s := t.stack[ns]
		l := t.stack[nl]
		e[s] = aliasEntry{thr: prob32(scaled[s]), alias: l}
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			nl++
			t.stack[ns] = l
			ns++
		}
	}
	for _, i := range t.stack[nl:] {
		e[i] = aliasEntry{thr: math.MaxUint32, alias: i}
	}
	for _, i := range t.stack[:ns] { // only from rounding
		e[i] = aliasEntry{thr: math.MaxUint32, alias: i}
	}
}

func prob32(p float64) uint32 {
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return math.MaxUint32
	}
	return uint32(p * (1 << 32))
}

// sample draws an index using one 64-bit random number.
func (t *aliasTable) sample(r *rand.Rand) int {
	x := r.Uint64()
	i := (uint64(uint32(x>>32)) * uint64(len(t.entries))) >> 32
	e := t.entries[i]
	if uint32(x) < e.thr {
		return int(i)
	}
	return int(e.alias)
}
