package ranking

import (
	"cmp"
	"context"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
)

// How a learned blend chose its weights (Blend.How).
const (
	// HowPrior: the pairwise fit, refined for NDCG@10 and shrunk towards
	// equal standardised weights; not chosen between others
	// (TrainConfig.ChooseBlend off, or too few holdout users).
	HowPrior = "prior"
	// HowPairwise: the same blend as HowPrior, kept because no other was
	// clearly better on the holdout.
	HowPairwise = "pairwise"
	// HowFitted: weights fitted for NDCG@10 on the holdout's pools by
	// coordinate ascent, clearly better in two-fold cross-validation over
	// time.
	HowFitted = "fitted"
	// HowSegments: as HowFitted, with separate weights for users with long
	// histories (Blend.Long), clearly better than one set.
	HowSegments = "segments"
	// HowEqual: equal standardised weights (of the features inPrior),
	// clearly better.
	HowEqual = "equal"
	// HowSingle: one feature alone (the only weight), clearly better:
	// popularity on sparse data, say.
	HowSingle = "single"
)

// Thresholds of blend selection.
const (
	// minChoosePools is the number of holdout pools below which the blend
	// is not chosen by cross-validation (HowPrior).
	minChoosePools = 200
	// minSegmentPools is the number of pools each history segment needs
	// for separate weights to be tried.
	minSegmentPools = 200
	// ascentRounds bounds the sweeps of coordinate ascent.
	ascentRounds = 4
)

// ascentSteps are the changes coordinate ascent tries for one standardised
// weight, the weights' vector being of unit length.
var ascentSteps = [...]float64{-0.6, -0.3, -0.12, -0.04, 0.04, 0.12, 0.3, 0.6}

// zset holds the holdout's pools with standardised features (each divided
// by its standard deviation over all pools), flattened: pool p's items are
// z[off[p]:off[p+1]]. Subsets of pools (folds, history segments) are lists
// of pool indexes, so nothing is copied.
type zset struct {
	z    []Features
	rel  []bool
	off  []int
	nRel []int
	hist []int
	// score and try are working memory, one score per item.
	score, try []float64
}

// blendChoice is the outcome of chooseBlend, in standardised units.
type blendChoice struct {
	v, long  Features // long applies from longFrom history items when longFrom > 0
	longFrom int
	how      string
	cv       float64 // the chosen option's estimated NDCG@10 on the pools
}

// chooseBlend picks the blend for the holdout, by NDCG@10 over the whole
// catalog of the judge's users. It starts from start, the pairwise fit
// refined and shrunk towards equal weights, and replaces it only when the
// data clearly favour another blend (by more than minGain standard errors
// of the paired per-user difference):
//
//   - a fixed blend: one feature alone (popularity, say, or EASE) or equal
//     standardised weights, the best of them;
//   - weights fitted for NDCG@10 on the pools by coordinate ascent from
//     start, judged by two-fold cross-validation over time (each user
//     ranked by the weights fitted on the users who came back in the other
//     half of the holdout, timeFolds);
//   - the same with separate weights for the users with the longer half of
//     the histories, if each half has minSegmentPools pools.
//
// On sparse data, where personal features add nothing reliable, the
// blend stays with what the pairwise fit found (popularity, mostly) or
// popularity alone; on dense data the personal features win. std is each
// feature's standard deviation over the pools; start and the result are in
// standardised units. The pools' features are standardised in place.
func chooseBlend(ctx context.Context, pools []pool, std Features, start Features, j *judge) blendChoice {
	zs := standardise(pools, std)
	all := zs.all()
	start = unit(start)
	fold := timeFolds(pools)
	var folds [2][]int32
	for p := range all {
		folds[fold[p]] = append(folds[fold[p]], int32(p))
	}
	cands := []judged{{how: HowPairwise}}
	cands[0].by[0].v, cands[0].by[1].v = start, start
	var eq Features
	for k := range NumFeatures {
		if std[k] > 0 {
			if inPrior[k] {
				eq[k] = 1
			}
			var one Features
			one[k] = 1
			cands = append(cands, fixedCand(HowSingle, one))
		}
	}
	cands = append(cands, fixedCand(HowEqual, eq))
	nFixed := len(cands)
	fit := judged{how: HowFitted}
	for f := range 2 {
		fit.by[f].v = zs.ascend(start, folds[1-f])
	}
	cands = append(cands, fit)
	// Segments: the longer half of the histories gets its own weights.
	hs := slices.Clone(zs.hist)
	slices.Sort(hs)
	t := hs[len(hs)/2]
	long := func(ps []int32, want bool) []int32 {
		var out []int32
		for _, p := range ps {
			if (zs.hist[p] >= t) == want {
				out = append(out, p)
			}
		}
		return out
	}
	segments := t > hs[0] && len(long(all, true)) >= minSegmentPools && len(long(all, false)) >= minSegmentPools
	if segments {
		seg := judged{how: HowSegments}
		for f := range 2 {
			seg.by[f] = blendChoice{v: zs.ascend(fit.by[f].v, long(folds[1-f], false)),
				long: zs.ascend(fit.by[f].v, long(folds[1-f], true)), longFrom: t}
		}
		cands = append(cands, seg)
	}
	per := j.perUser(ctx, cands, std, fold)
	if ctx.Err() != nil {
		return blendChoice{v: start, how: HowPrior}
	}
	best := 0
	bestFixed := 1
	for c := 1; c < nFixed; c++ {
		if mean(per[c]) > mean(per[bestFixed]) {
			bestFixed = c
		}
	}
	if _, ok := clearGain(per[bestFixed], per[best]); ok {
		best = bestFixed
	}
	for c := nFixed; c < len(cands); c++ {
		if _, ok := clearGain(per[c], per[best]); ok {
			best = c
		}
	}
	out := cands[best].by[0]
	out.how = cands[best].how
	switch out.how {
	case HowFitted:
		out.v = zs.ascend(start, all)
	case HowSegments:
		v := zs.ascend(start, all)
		out.v, out.long, out.longFrom = zs.ascend(v, long(all, false)), zs.ascend(v, long(all, true)), t
	}
	out.cv = mean(per[best])
	return out
}

// judged is a blend to judge: by[f] ranks the users of fold f (see
// timeFolds), so that weights fitted on one fold are judged on the other.
type judged struct {
	how string
	by  [2]blendChoice
}

// timeFolds splits the pools in two folds by when their user came back
// after the cut: the earlier half and the later half. Weights fitted on
// one half of the holdout's time are judged on the other, as the served
// blend, fitted on the past, meets the future: what only held while the
// holdout lasted (the lives then on air, say) does not pass for a gain, as
// it would between two random halves of the same users.
func timeFolds(pools []pool) []uint8 {
	order := make([]int, len(pools))
	for p := range order {
		order[p] = p
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pools[a].first, pools[b].first) })
	fold := make([]uint8, len(pools))
	for r, p := range order {
		if r >= len(order)/2 {
			fold[p] = 1
		}
	}
	return fold
}

func fixedCand(how string, v Features) judged {
	c := judged{how: how}
	c.by[0].v, c.by[1].v = v, v
	return c
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return floats.Sum(xs) / float64(len(xs))
}

// judgeUsers is how many holdout users judge blends on the whole catalog.
const judgeUsers = 1000

// judge ranks the whole catalog for holdout users as the offline
// evaluation does: their history left out, ties against the relevant
// item, NDCG@10 of the products they touched after the cut.
type judge struct {
	m       *Model
	users   []pool // u, pos and hist of each; the pool index is the fold's
	workers int
}

func newJudge(m *Model, pools []pool, workers int) *judge {
	return &judge{m: m, users: pools, workers: modelWorkers(workers)}
}

// perUser returns, for each blend, the NDCG@10 of every judged user
// (indexed like the pools). Weights are standardised: std maps them back.
func (j *judge) perUser(ctx context.Context, cands []judged, std Features, fold []uint8) [][]float64 {
	m := j.m
	n := m.Data.NumItems()
	raw := make([][2]blendChoice, len(cands))
	for c, cd := range cands {
		for f := range 2 {
			b := cd.by[f]
			raw[c][f] = blendChoice{v: fromStandard(b.v, std), long: fromStandard(b.long, std), longFrom: b.longFrom}
		}
	}
	per := make([][]float64, len(cands))
	for c := range per {
		per[c] = make([]float64, len(j.users))
	}
	type work struct {
		factor []float64
		mark   []uint8
		top    []top10
		w      []*Features
	}
	ws := make([]work, j.workers)
	for k := range ws {
		ws[k] = work{factor: make([]float64, n), mark: make([]uint8, n), top: make([]top10, len(cands)), w: make([]*Features, len(cands))}
	}
	_ = runBlocks(ctx, evenBlocks(len(j.users), 8), j.workers, func(wk, lo, hi int) {
		w := &ws[wk]
		for p := lo; p < hi; p++ {
			ju := &j.users[p]
			items, sigs := m.Data.UserRow(ju.u)
			usr := m.userFrom(items, sigs, m.Factors.UserVec(ju.u, nil))
			df := m.denseFeatures(usr, w.factor)
			for _, i := range items {
				w.mark[i] = 1
			}
			for _, i := range ju.pos {
				w.mark[i] = 2
			}
			for c := range raw {
				b := &raw[c][fold[p]]
				w.w[c] = &b.v
				if b.longFrom > 0 && len(items) >= b.longFrom {
					w.w[c] = &b.long
				}
			}
			for c := range w.top {
				w.top[c].n = 0
			}
			for i := range n {
				if w.mark[i] == 1 {
					continue
				}
				rel := w.mark[i] == 2
				var f Features
				m.fillDense(usr, int32(i), df, &f)
				for c := range raw {
					s := 0.0
					for k, x := range w.w[c] {
						s += x * f[k]
					}
					w.top[c].add(s, rel)
				}
			}
			for c := range raw {
				per[c][p] = w.top[c].ndcg(len(ju.pos))
			}
			for _, i := range items {
				w.mark[i] = 0
			}
			for _, i := range ju.pos {
				w.mark[i] = 0
			}
		}
	})
	return per
}

// minGain is how many standard errors a more complex blend must gain over
// a simpler one, per user in cross-validation, to replace it (one-sided,
// about 95%).
const minGain = 1.65

// clearGain returns the mean of x − y and whether it exceeds minGain
// standard errors.
func clearGain(x, y []float64) (float64, bool) {
	n := float64(len(x))
	if n < 2 {
		return 0, false
	}
	var s, ss float64
	for i := range x {
		d := x[i] - y[i]
		s += d
		ss += d * d
	}
	mean := s / n
	sd := math.Sqrt(max(ss/n-mean*mean, 0) * n / (n - 1))
	return mean, mean > minGain*sd/math.Sqrt(n)
}

// standardise flattens the pools into a zset, dividing each feature by
// std (0 for a constant one). The pools' feature slices are released.
func standardise(pools []pool, std Features) *zset {
	n := 0
	for _, p := range pools {
		n += len(p.feats)
	}
	zs := &zset{z: make([]Features, 0, n), rel: make([]bool, 0, n), off: make([]int, 1, len(pools)+1),
		nRel: make([]int, len(pools)), hist: make([]int, len(pools)), score: make([]float64, n), try: make([]float64, n)}
	for i := range pools {
		p := &pools[i]
		for _, f := range p.feats {
			var z Features
			for k := range NumFeatures {
				if std[k] > 0 {
					z[k] = f[k] / std[k]
				}
			}
			zs.z = append(zs.z, z)
		}
		zs.rel = append(zs.rel, p.rel...)
		zs.off = append(zs.off, len(zs.z))
		zs.nRel[i], zs.hist[i] = p.nRel, p.hist
		p.feats = nil
	}
	return zs
}

// all lists every pool.
func (zs *zset) all() []int32 {
	out := make([]int32, len(zs.nRel))
	for p := range out {
		out[p] = int32(p)
	}
	return out
}

// unit returns v scaled to length 1 (v itself if 0).
func unit(v Features) Features {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	if n == 0 {
		return v
	}
	n = math.Sqrt(n)
	for k := range v {
		v[k] /= n
	}
	return v
}

// scores writes v·z of the pools of view into dst.
func (zs *zset) scores(v Features, view []int32, dst []float64) {
	for _, p := range view {
		for i := zs.off[p]; i < zs.off[p+1]; i++ {
			s := 0.0
			for k, x := range zs.z[i] {
				s += v[k] * x
			}
			dst[i] = s
		}
	}
}

// ndcg is the mean NDCG@10 of the pools of view ranked by v.
func (zs *zset) ndcg(v Features, view []int32) float64 {
	zs.scores(v, view, zs.score)
	return zs.ndcgOf(zs.score, view)
}

// ascend maximises the NDCG@10 of the pools of view over the direction of
// v by coordinate ascent (Metzler and Croft's linear feature-based
// ranker): each sweep tries ascentSteps on every weight in turn, keeps the
// best, and renormalises; it stops after a sweep without gain or
// ascentRounds. NDCG is a step function of the weights, which gradient
// methods cannot follow. A step changes one weight, so a trial costs one
// multiply-add per item on top of the current scores.
func (zs *zset) ascend(v Features, view []int32) Features {
	if len(view) == 0 {
		return v
	}
	v = unit(v)
	zs.scores(v, view, zs.score)
	best := zs.ndcgOf(zs.score, view)
	for range ascentRounds {
		improved := false
		for k := range NumFeatures {
			step := 0.0
			for _, s := range ascentSteps {
				for _, p := range view {
					for i := zs.off[p]; i < zs.off[p+1]; i++ {
						zs.try[i] = zs.score[i] + s*zs.z[i][k]
					}
				}
				if x := zs.ndcgOf(zs.try, view); x > best+1e-12 {
					best, step = x, s
				}
			}
			if step != 0 {
				v[k] += step
				v = unit(v)
				zs.scores(v, view, zs.score)
				improved = true
			}
		}
		if !improved {
			break
		}
	}
	return v
}

// ndcgOf is the mean NDCG@10 of the pools of view ranked by score (one
// per item; ties against the relevant item, as the offline evaluation
// breaks them).
func (zs *zset) ndcgOf(score []float64, view []int32) float64 {
	if len(view) == 0 {
		return 0
	}
	return zs.ndcgInto(score, view, nil) / float64(len(view))
}

// ndcgInto sums the NDCG@10 of the pools of view ranked by score, writing
// each pool's into per[p] unless per is nil.
func (zs *zset) ndcgInto(score []float64, view []int32, per []float64) float64 {
	total := 0.0
	var t top10
	for _, p := range view {
		t.n = 0
		for i := zs.off[p]; i < zs.off[p+1]; i++ {
			t.add(score[i], zs.rel[i])
		}
		x := t.ndcg(zs.nRel[p])
		total += x
		if per != nil {
			per[p] = x
		}
	}
	return total
}

// top10 is the top 10 of a ranking with whether each item is relevant:
// higher score first, an irrelevant item before a relevant one of equal
// score (ties count against the ranking, as the offline evaluation breaks
// them).
type top10 struct {
	s   [10]float64
	rel [10]bool
	n   int
}

func (t *top10) add(s float64, rel bool) {
	n := t.n
	if n == len(t.s) && !(s > t.s[n-1] || s == t.s[n-1] && !rel && t.rel[n-1]) {
		return
	}
	j := min(n, len(t.s)-1)
	for j > 0 && (s > t.s[j-1] || s == t.s[j-1] && !rel && t.rel[j-1]) {
		t.s[j], t.rel[j] = t.s[j-1], t.rel[j-1]
		j--
	}
	t.s[j], t.rel[j] = s, rel
	t.n = min(n+1, len(t.s))
}

// ndcg is the NDCG@10 of the top 10 for a user with nRel relevant items.
func (t *top10) ndcg(nRel int) float64 {
	dcg, idcg := 0.0, 0.0
	for r := range t.n {
		if t.rel[r] {
			dcg += discount[r]
		}
	}
	for r := range min(nRel, len(t.s)) {
		idcg += discount[r]
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// discount[r] is 1/log2(r+2), the gain of rank r+1.
var discount = func() (d [10]float64) {
	for r := range d {
		d[r] = 1 / math.Log2(float64(r+2))
	}
	return d
}()
