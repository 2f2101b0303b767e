package offline

import (
	"context"
	"math"
	"slices"

	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/sim"
)

// CandidateOptions size the built-in candidates.
type CandidateOptions struct {
	// Quick shrinks every grid to one or two settings, for tests and smoke
	// runs.
	Quick bool
	// Workers is the number of goroutines a model trains with (0 =
	// GOMAXPROCS).
	Workers int
	// Seed seeds the models' random initialisation.
	Seed int64
}

// Candidates returns the models `vetrina eval ranking` compares, in table
// order: global popularity, recent popularity, item neighbours, iALS, then
// the served blend (blend.go; with Quick, only the first setting of its
// grid).
func Candidates(o CandidateOptions) []Candidate {
	blend := BlendCandidate()
	if o.Quick && len(blend.Grid) > 1 {
		blend.Grid = blend.Grid[:1]
	}
	return []Candidate{
		PopularityCandidate(),
		RecentPopularityCandidate(o.Quick),
		NeighboursCandidate(o),
		ALSCandidate(o),
		blend,
	}
}

// PopularityCandidate ranks by the number of distinct users of each item,
// over all the training data: the same list for everyone.
func PopularityCandidate() Candidate {
	return Candidate{Name: "popularity", New: func(Params) Recommender { return &popularity{} }}
}

type popularity struct{ score []float64 }

func (p *popularity) Fit(_ context.Context, train *ranking.Dataset, _ int64) error {
	p.score = ranking.Popularity(train, 0)
	return nil
}

func (p *popularity) Score(_ int32, dst []float64) { copy(dst, p.score) }

// RecentPopularityCandidate ranks by the number of distinct users of each
// item within a window before the cut (Params "window", a fraction of the
// training timeline, tuned), ties broken by all-time popularity.
func RecentPopularityCandidate(quick bool) Candidate {
	windows := []float64{0.01, 0.03, 0.1, 0.3}
	if quick {
		windows = []float64{0.03, 0.1}
	}
	return Candidate{
		Name: "recent-popularity",
		Grid: Grid(map[string][]float64{"window": windows}),
		New:  func(p Params) Recommender { return &recentPopularity{window: p.Get("window", 0.1)} },
	}
}

type recentPopularity struct {
	window float64
	score  []float64
}

func (p *recentPopularity) Fit(_ context.Context, train *ranking.Dataset, now int64) error {
	since := now - int64(p.window*float64(now-train.MinUnix))
	p.score = ranking.Popularity(train, since)
	// Recent counts are integers; all-time popularity scaled below 1 only
	// orders items with equal recent counts.
	all := ranking.Popularity(train, 0)
	top := 1 + slices.Max(append(all, 0))
	for i, a := range all {
		p.score[i] += a / top
	}
	return nil
}

func (p *recentPopularity) Score(_ int32, dst []float64) { copy(dst, p.score) }

// NeighboursCandidate scores item j for a user by Σ sim(h, j)·w(h) over the
// items h of the user's history, where sim comes from
// ranking.BuildNeighbours (Params "shrink", tuned) and w(h) is the strength
// of the user's signal for h, halved every "halflife" (a fraction of the
// training timeline, 0 = no decay) of age before the cut. Items no history
// item points to follow in order of popularity.
func NeighboursCandidate(o CandidateOptions) Candidate {
	grid := Grid(map[string][]float64{"shrink": {1, 10, 50}, "halflife": {0, 0.05}})
	if o.Quick {
		grid = Grid(map[string][]float64{"shrink": {10}, "halflife": {0}})
	}
	return Candidate{
		Name: "item-neighbours",
		Grid: grid,
		New: func(p Params) Recommender {
			return &neighbours{shrink: p.Get("shrink", 10), halfLife: p.Get("halflife", 0), workers: o.Workers}
		},
	}
}

type neighbours struct {
	shrink, halfLife float64
	workers          int

	train   *ranking.Dataset
	nb      *ranking.Neighbours
	w       ranking.Weights
	now     int64
	halfSec float64
	fill    []float64 // popularity scaled into [-1, 0): the backfill
}

func (n *neighbours) Fit(ctx context.Context, train *ranking.Dataset, now int64) error {
	n.w = ranking.DefaultWeights()
	nb, err := ranking.BuildNeighbours(ctx, train, ranking.NeighbourConfig{Shrink: n.shrink, Weights: n.w, Workers: n.workers})
	if err != nil {
		return err
	}
	n.train, n.nb, n.now = train, nb, now
	n.halfSec = n.halfLife * float64(now-train.MinUnix)
	pop := ranking.Popularity(train, 0)
	top := 1 + slices.Max(append(pop, 0))
	n.fill = make([]float64, len(pop))
	for i, p := range pop {
		n.fill[i] = p/top - 1
	}
	return nil
}

func (n *neighbours) Score(u int32, dst []float64) {
	items, sigs := n.train.UserRow(u)
	for k, h := range items {
		w := n.w.Strength(sigs[k])
		if n.halfSec > 0 {
			w *= math.Exp2(-float64(n.now-int64(sigs[k].Last)) / n.halfSec)
		}
		nbs, sims := n.nb.Of(h)
		for x, j := range nbs {
			dst[j] += w * float64(sims[x])
		}
	}
	for j, s := range dst {
		if s <= 0 {
			dst[j] = n.fill[j]
		}
	}
}

// ALSCandidate is implicit ALS (ranking.TrainALS) with 8 iterations,
// tuned over Params "factors", "reg" and "alpha"; a user's score for an
// item is the dot product of their factors.
func ALSCandidate(o CandidateOptions) Candidate {
	grid := Grid(map[string][]float64{"factors": {32, 64}, "reg": {0.05, 0.5}, "alpha": {2, 10}})
	if o.Quick {
		grid = Grid(map[string][]float64{"factors": {32}, "reg": {0.5}, "alpha": {2, 10}})
	}
	return Candidate{
		Name: "ials",
		Grid: grid,
		New: func(p Params) Recommender {
			return &als{cfg: ranking.ALSConfig{
				Factors:    int(p.Get("factors", 64)),
				Iterations: 8,
				Reg:        p.Get("reg", 0.1),
				Alpha:      p.Get("alpha", 4),
				Workers:    o.Workers,
				Seed:       o.Seed,
			}}
		},
	}
}

type als struct {
	cfg ranking.ALSConfig
	f   *ranking.Factors
}

func (a *als) Fit(ctx context.Context, train *ranking.Dataset, _ int64) error {
	f, err := ranking.TrainALS(ctx, train, a.cfg)
	if err != nil {
		return err
	}
	a.f = f
	return nil
}

func (a *als) Score(u int32, dst []float64) { a.f.ScoreAll(a.f.UserVec(u, nil), dst) }

// OracleCandidate scores by the simulator's true affinity of the user for
// the item (sim.World.Affinity): no model can know more, so it bounds what
// the data allows. It is a Reference candidate.
func OracleCandidate(w *sim.World) Candidate {
	return Candidate{Name: "oracle", Reference: true, New: func(Params) Recommender { return &oracle{w: w} }}
}

type oracle struct {
	w     *sim.World
	train *ranking.Dataset
}

func (o *oracle) Fit(_ context.Context, train *ranking.Dataset, _ int64) error {
	o.train = train
	return nil
}

func (o *oracle) Score(u int32, dst []float64) {
	id := o.train.Users[u]
	for i := range dst {
		dst[i] = o.w.Affinity(id, o.train.Items[i].ID)
	}
}
