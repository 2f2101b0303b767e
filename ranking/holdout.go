package ranking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// Holdout examples: users drawn, negatives paired with each positive, and
// the purchases needed to learn from purchases alone.
const (
	holdoutUsers      = 5000
	holdoutTrainUsers = 200_000 // users the holdout's parts train on at most
	randomNegatives   = 16
	minPositives      = 50
)

// learnBlendOnHoldout trains the parts on the data up to cut and learns the
// blend from what users did after it: their products after the cut are the
// positives (purchases when there are enough, else any interaction).
func learnBlendOnHoldout(ctx context.Context, d *Dataset, cut int64, cfg TrainConfig) (Blend, error) {
	past, future := SplitAt(d, cut, holdoutTrainUsers, cfg.Seed)
	full := cfg.Progress
	cfg.Progress = full.prefixed("blend on the holdout: ")
	sub := cfg
	sub.IndexClusters = -1 // the holdout model ranks by exact scans only
	m, err := trainParts(ctx, past, sub)
	if err != nil {
		return Blend{}, fmt.Errorf("learn blend: %w", err)
	}
	var eases []EASEChoice
	if cfg.ChooseEASE {
		if users := judgeUsersOf(m, future); len(users) > 0 {
			eases, err = chooseEASE(ctx, m, past, newJudge(m, users, cfg.ALS.Workers), sub.EASE, full.prefixed("blend on the holdout: "))
			if err != nil {
				return Blend{}, fmt.Errorf("learn blend: choose EASE: %w", err)
			}
		}
	}
	full.update("blend on the holdout: learn the weights", 0, 1)
	defer full.update("blend on the holdout: learn the weights", 1, 1)
	x, y := holdoutExamples(m, future, cfg.Seed)
	b, err := LearnBlend(x, y, 1e-3)
	if err != nil {
		return Blend{}, fmt.Errorf("learn blend on the last %.0f%% of the timeline: %w", cfg.BlendHoldout*100, err)
	}
	b.Bias = 0 // pairwise: only differences of scores mean anything
	b.EASE = eases
	// The pairwise fit orders positives above the catalog on average (AUC);
	// the feed is judged by its top, on the holdout users' pools: refine
	// the weights for NDCG@10 and shrink them towards equal weights of the
	// standardised features, as much as priorUsers users' worth of
	// evidence.
	pools := holdoutPools(ctx, m, future, cfg.Seed, cfg.ALS.Workers)
	std := featureStd(pools)
	b.Scale = std
	if len(pools) > 0 {
		b.Weights = tuneForNDCG(b.Weights, pools)
	}
	prior := equalWeights(pools)
	b.Weights = shrinkWeights(b.Weights, prior, float64(len(pools))/(float64(len(pools))+priorUsers))
	b.How = HowPrior
	if !cfg.ChooseBlend || len(pools) < minChoosePools {
		return b, nil // too few users to choose between blends
	}
	// Enough users: let the holdout choose between this blend, fixed ones
	// (one feature alone: popularity on sparse data) and weights fitted
	// for NDCG@10 (chooseBlend), judged on the whole catalog.
	var start Features
	for k := range NumFeatures {
		start[k] = b.Weights[k] * std[k]
	}
	judge := newJudge(m, pools[:min(len(pools), judgeUsers)], cfg.ALS.Workers)
	c := chooseBlend(ctx, pools, std, start, judge)
	b.Weights, b.Long, b.LongFrom, b.How = fromStandard(c.v, std), fromStandard(c.long, std), c.longFrom, c.how
	return b, ctx.Err()
}

// fromStandard maps weights of standardised features back to the
// features' units.
func fromStandard(v, std Features) Features {
	var w Features
	for k := range NumFeatures {
		if std[k] > 0 {
			w[k] = v[k] / std[k]
		}
	}
	return w
}

// Future is what users did after a cut: per user id, the dense items (of
// the past dataset's item space) and whether they were bought.
type Future map[uint64][]FutureItem

// FutureItem is one product a user touched after the cut.
type FutureItem struct {
	Item   int32
	Bought bool
	First  uint32 // Unix seconds of the user's first interaction with it
}

// SplitAt splits d at cut (Unix seconds): the past holds every pair whose
// first interaction is at or before cut, with its signal as it stood at the
// cut (signalAt), and the future every pair whose first interaction is
// after it. Both use d's item space (same dense indexes).
// With maxUsers > 0 only that many users are kept (seeded sample): up to
// holdoutUsers of those with a future, the rest drawn from all; the blend
// learns from a few thousand users, and a sample trains the parts behind
// its features faster and in less memory than everyone.
func SplitAt(d *Dataset, cut int64, maxUsers int, seed int64) (*Dataset, Future) {
	fut := Future{}
	for u := range d.Users {
		items, sigs := d.UserRow(int32(u))
		for k, i := range items {
			if s := sigs[k]; int64(s.First) > cut {
				fut[d.Users[u]] = append(fut[d.Users[u]], FutureItem{Item: i, Bought: s.Purchases > 0, First: s.First})
			}
		}
	}
	keep := func(int32) bool { return true }
	if maxUsers > 0 && d.NumUsers() > maxUsers {
		rng := rand.New(rand.NewPCG(uint64(seed), 19))
		kept := make(map[int32]bool, maxUsers)
		var withFuture []int32
		for id := range fut {
			if u, ok := d.UserIndex(id); ok {
				withFuture = append(withFuture, u)
			}
		}
		slices.Sort(withFuture)
		rng.Shuffle(len(withFuture), func(a, b int) { withFuture[a], withFuture[b] = withFuture[b], withFuture[a] })
		for _, u := range withFuture[:min(len(withFuture), holdoutUsers, maxUsers)] {
			kept[u] = true
		}
		for _, u := range rng.Perm(d.NumUsers()) {
			if len(kept) >= maxUsers {
				break
			}
			kept[int32(u)] = true
		}
		for id := range fut {
			if u, ok := d.UserIndex(id); !ok || !kept[u] {
				delete(fut, id)
			}
		}
		keep = func(u int32) bool { return kept[u] }
	}
	b := NewBuilder()
	for _, it := range d.Items {
		b.AddItem(it)
	}
	for u := range d.Users {
		if !keep(int32(u)) {
			continue
		}
		items, sigs := d.UserRow(int32(u))
		for k, i := range items {
			if s, ok := signalAt(sigs[k], cut); ok {
				b.AddSignal(d.Users[u], d.Items[i].ID, s)
			}
		}
	}
	return b.Build(), fut
}

// signalAt estimates what s was at cut: s itself if its last interaction
// is at or before cut, nothing if its first is after it, and otherwise
// (a product bought again and again across the cut, as groceries are) the
// interactions before the cut, assuming they were evenly spaced between
// First and Last: that many of them, views first, then chats, then
// purchases (a look comes before a purchase, so a product viewed before
// the cut and bought after it is a view), their share of the dwell time,
// and the last of them as Last.
func signalAt(s Signal, cut int64) (Signal, bool) {
	switch {
	case int64(s.Last) <= cut:
		return s, true
	case int64(s.First) > cut:
		return Signal{}, false
	}
	n := int64(s.Views) + int64(s.Chats) + int64(s.Purchases)
	span := int64(s.Last) - int64(s.First)
	before := int64(1) // interactions at or before cut
	if n > 1 {
		before = min((cut-int64(s.First))*(n-1)/span+1, n-1)
	}
	out := Signal{First: s.First, Last: s.First, DwellSec: uint16((int64(s.DwellSec)*before + n/2) / max(n, 1))}
	if n > 1 {
		out.Last = uint32(int64(s.First) + (before-1)*span/(n-1))
	}
	left := before
	take := func(c uint16) uint16 {
		k := min(int64(c), left)
		left -= k
		return uint16(k)
	}
	out.Views = take(s.Views)
	out.Chats = take(s.Chats)
	out.Purchases = take(s.Purchases)
	if left == before { // no counts at all (a dwell-only signal): one view
		out.Views = 1
	}
	return out, true
}

// holdoutExamples builds pairwise examples: for each product a user touched
// after the cut (a positive), the feature difference to products they did
// not touch (drawn uniformly from the catalog), labelled true, and its
// negation labelled false. A logistic fit on them learns weights that
// order positives above the rest of the catalog, which is what ranking the
// whole catalog asks; pointwise labels with the parts' top products as
// negatives taught the opposite (a high factor score looked like a
// negative).
func holdoutExamples(m *Model, fut Future, seed int64) ([]Features, []bool) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	n := m.Data.NumItems()
	var xs []Features
	var ys []bool
	users := 0
	fut.each(m, func(u int32, pos map[int32]bool) bool {
		if len(pos) == 0 {
			return true
		}
		if users++; users > holdoutUsers {
			return false
		}
		items, sigs := m.Data.UserRow(u)
		usr := m.userFrom(items, sigs, m.Factors.UserVec(u, nil))
		usr.sortExclude()
		df := m.denseFeatures(usr, nil) // factor scores of the drawn items only
		posList := make([]int32, 0, len(pos))
		for i := range pos {
			posList = append(posList, i)
		}
		slices.Sort(posList)
		for _, p := range posList[:min(len(posList), 20)] {
			var fp Features
			m.fillDense(usr, p, df, &fp)
			for range randomNegatives {
				neg := int32(rng.IntN(n))
				if pos[neg] || usr.excludes(neg) {
					continue
				}
				var fn, d Features
				m.fillDense(usr, neg, df, &fn)
				for j := range NumFeatures {
					d[j] = fp[j] - fn[j]
				}
				xs = append(xs, d)
				ys = append(ys, true)
				for j := range NumFeatures {
					d[j] = -d[j]
				}
				xs = append(xs, d)
				ys = append(ys, false)
			}
		}
		return true
	})
	return xs, ys
}

// each calls fn, in user-id order (deterministic), with every user of the
// future the model knows and the products that count as positives: the
// bought ones when there are at least minPositives purchases in all,
// otherwise every one touched. fn returns false to stop.
func (fut Future) each(m *Model, fn func(u int32, pos map[int32]bool) bool) {
	purchasesOnly := countBought(fut) >= minPositives
	ids := make([]uint64, 0, len(fut))
	for id := range fut {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		u, ok := m.Data.UserIndex(id)
		if !ok {
			continue
		}
		pos := map[int32]bool{}
		for _, it := range fut[id] {
			if it.Bought || !purchasesOnly {
				pos[it.Item] = true
			}
		}
		if !fn(u, pos) {
			return
		}
	}
}

// pool is one holdout user's candidates: the products any part ranks in
// its top 100 and a uniform sample of the catalog, with their features and
// whether the user touched them after the cut.
type pool struct {
	feats []Features
	rel   []bool
	nRel  int
	hist  int   // products in the user's history
	u     int32 // the user
	pos   []int32
	first uint32 // when the user came back after the cut (Unix seconds)
}

// priorUsers is the weight of the given blend, in holdout users, when the
// learned weights are shrunk towards it.
const priorUsers = 200

// equalWeights weighs every feature of inPrior by 1/its standard deviation
// over the pools: the plain sum of standardised features, a prior that
// assumes little about the data.
func equalWeights(pools []pool) Features {
	std := featureStd(pools)
	var w Features
	for j, s := range std {
		if s > 0 && inPrior[j] {
			w[j] = 1 / s
		}
	}
	return w
}

// inPrior marks the features the equal-weights prior weighs. Popularity is
// left out, as trending and recent already carry it (three popularity
// features would outweigh the rest), and so is the season, which must
// show its worth on the holdout: on data shorter than a year it is 0, on a
// film catalog it is noise.
var inPrior = func() (in [NumFeatures]bool) {
	for k := range in {
		in[k] = k != FeatPopularity && k != FeatSeason
	}
	return in
}()

// featureStd is each feature's standard deviation over the pools (0 for a
// constant one).
func featureStd(pools []pool) Features {
	var sum, sq Features
	n := 0.0
	for _, p := range pools {
		for _, f := range p.feats {
			for j := range NumFeatures {
				sum[j] += f[j]
				sq[j] += f[j] * f[j]
			}
			n++
		}
	}
	var std Features
	for j := range NumFeatures {
		if n == 0 {
			break
		}
		m := sum[j] / n
		if v := sq[j]/n - m*m; v > 1e-12 {
			std[j] = math.Sqrt(v)
		}
	}
	return std
}

// shrinkWeights returns a·learned + (1−a)·prior, both normalised to the
// prior's length (a ranking only depends on the weights' direction).
func shrinkWeights(learned, prior Features, a float64) Features {
	lp, ll := floats.Norm(prior[:], 2), floats.Norm(learned[:], 2)
	if lp == 0 || ll == 0 {
		return learned
	}
	var w Features
	for j := range NumFeatures {
		w[j] = a*learned[j]*lp/ll + (1-a)*prior[j]
	}
	return w
}

const (
	poolUsers   = 2000
	poolPerPart = 100
	poolRandom  = 100
)

// holdoutPools builds the pools of up to poolUsers users of the future,
// in user-id order, on workers goroutines; each user's random products
// come from a generator seeded by seed and the user, so the pools do not
// depend on the number of workers.
func holdoutPools(ctx context.Context, m *Model, fut Future, seed int64, workers int) []pool {
	type cand struct {
		u     int32
		pos   map[int32]bool
		first uint32
	}
	var cands []cand
	fut.each(m, func(u int32, pos map[int32]bool) bool {
		if len(pos) > 0 {
			first := uint32(math.MaxUint32)
			for _, it := range fut[m.Data.Users[u]] {
				first = min(first, it.First)
			}
			cands = append(cands, cand{u, pos, first})
		}
		return true
	})
	workers = modelWorkers(workers)
	tops := m.globalTops()
	factors := make([][]float64, workers)
	for w := range factors {
		factors[w] = make([]float64, m.Data.NumItems())
	}
	var out []pool
	// In chunks of the users still needed: a user whose positives are all
	// in their history makes no pool.
	for len(cands) > 0 && len(out) < poolUsers {
		chunk := cands[:min(len(cands), poolUsers-len(out))]
		cands = cands[len(chunk):]
		got := make([]pool, len(chunk))
		ok := make([]bool, len(chunk))
		err := runBlocks(ctx, evenBlocks(len(chunk), 16), workers, func(w, lo, hi int) {
			for k := lo; k < hi; k++ {
				c := chunk[k]
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(c.u)<<8|13))
				got[k], ok[k] = m.userPool(c.u, c.pos, factors[w], tops, rng)
				got[k].first = c.first
			}
		})
		if err != nil {
			return out
		}
		for k := range got {
			if ok[k] {
				out = append(out, got[k])
			}
		}
	}
	return out
}

// globalTops lists the poolPerPart products of largest trending, recent,
// popularity and season features: the parts that are the same for every
// user.
func (m *Model) globalTops() [][]int32 {
	var tops [][]int32
	for _, score := range [][]float64{m.trendFeat, m.recentFeat, m.popFeat, m.seasonFeat} {
		tops = append(tops, topN(score, poolPerPart))
	}
	return tops
}

// userPool builds user u's pool. Positives are not added as such: a pool
// that always held them would reward ranking first whatever no part likes.
// They count when a part's top or the random sample of the catalog holds
// them. ok is false when pos has nothing outside the user's history (and
// pos is not empty).
func (m *Model) userPool(u int32, pos map[int32]bool, factor []float64, tops [][]int32, rng *rand.Rand) (pool, bool) {
	items, sigs := m.Data.UserRow(u)
	usr := m.userFrom(items, sigs, m.Factors.UserVec(u, nil))
	usr.sortExclude()
	p := pool{hist: len(items), u: u}
	for i := range pos {
		if !usr.excludes(i) {
			p.nRel++
			p.pos = append(p.pos, i)
		}
	}
	slices.Sort(p.pos)
	if len(pos) > 0 && p.nRel == 0 {
		return p, false
	}
	df := m.denseFeatures(usr, factor)
	in := map[int32]bool{}
	add := func(i int32) {
		if in[i] || usr.excludes(i) {
			return
		}
		in[i] = true
		var f Features
		m.fillDense(usr, i, df, &f)
		p.feats = append(p.feats, f)
		p.rel = append(p.rel, pos[i])
	}
	for _, score := range [][]float64{df.factor, df.nb, df.ease} {
		for _, i := range topN(score, poolPerPart) {
			add(i)
		}
	}
	for _, top := range tops {
		for _, i := range top {
			add(i)
		}
	}
	for range poolRandom {
		add(int32(rng.IntN(len(factor))))
	}
	return p, true
}

// equalBlend weighs the features equally once standardised over the pools
// of up to 500 random users: the blend used when none is learned, and the
// prior a learned one is shrunk towards. It needs no labels.
func equalBlend(m *Model, seed int64) Blend {
	rng := rand.New(rand.NewPCG(uint64(seed), 17))
	factor := make([]float64, m.Data.NumItems())
	var pools []pool
	tops := m.globalTops()
	for range min(500, m.Data.NumUsers()) {
		if p, ok := m.userPool(int32(rng.IntN(m.Data.NumUsers())), nil, factor, tops, rng); ok {
			pools = append(pools, p)
		}
	}
	return Blend{Weights: equalWeights(pools), Scale: featureStd(pools), LiveBoost: 1}
}

func countBought(fut Future) int {
	n := 0
	for _, its := range fut {
		for _, it := range its {
			if it.Bought {
				n++
			}
		}
	}
	return n
}

// poolNDCG is the mean NDCG@10 of the pools ranked by w.
func poolNDCG(w Features, pools []pool) float64 {
	total := 0.0
	scores := make([]float64, 0, 512)
	for _, p := range pools {
		scores = scores[:0]
		for k := range p.feats {
			s := 0.0
			for j := range NumFeatures {
				s += w[j] * p.feats[k][j]
			}
			scores = append(scores, s)
		}
		dcg := 0.0
		for r, k := range topN(scores, 10) {
			if p.rel[k] {
				dcg += 1 / math.Log2(float64(r+2))
			}
		}
		idcg := 0.0
		for r := range min(p.nRel, 10) {
			idcg += 1 / math.Log2(float64(r+2))
		}
		total += dcg / idcg
	}
	return total / float64(len(pools))
}

// tuneForNDCG searches the weights (Nelder–Mead, gonum/optimize) for the
// best NDCG@10 on the pools, from start. The ranking only depends on the
// weights' direction, so they are normalised; a result not clearly better
// (by 2%) than start is not taken, which keeps small holdouts from
// overfitting.
func tuneForNDCG(start Features, pools []pool) Features {
	norm := func(x []float64) Features {
		var w Features
		l := floats.Norm(x, 2)
		if l == 0 {
			return w
		}
		for j := range NumFeatures {
			w[j] = x[j] / l
		}
		return w
	}
	base := poolNDCG(start, pools)
	p := optimize.Problem{Func: func(x []float64) float64 { return -poolNDCG(norm(x), pools) }}
	x0 := norm(start[:])
	res, err := optimize.Minimize(p, x0[:], &optimize.Settings{FuncEvaluations: 300}, &optimize.NelderMead{})
	if res == nil || (err != nil && res.X == nil) {
		return start
	}
	if best := -res.F; best > base*1.02 {
		w := norm(res.X)
		scale := floats.Norm(start[:], 2) // keep the pairwise fit's scale (LiveBoost is in its units)
		for j := range NumFeatures {
			w[j] *= scale
		}
		return w
	}
	return start
}
