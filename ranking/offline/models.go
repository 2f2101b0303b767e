package offline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

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
	// Repeats: the evaluation counts items bought again (Config.Repeats).
	// The served blend then keeps the user's history out of its ranking,
	// as the feed does, and two more models compete: buy-again and the
	// blend with restock slots (rebuy.go).
	Repeats bool
}

// Candidates returns the models `vetrina eval ranking` compares, in table
// order: global popularity, recent popularity, item neighbours, iALS, EASE,
// (with Repeats, buy-again and the blend with restock slots,) then the
// served blend (blend.go; with Quick, only the first setting of its grid,
// with an EASE head of 1000 items).
func Candidates(o CandidateOptions) []Candidate {
	blend := BlendCandidate()
	if o.Repeats {
		blend = withoutHistory(blend)
	}
	if o.Quick && len(blend.Grid) > 0 {
		// One setting, and a small EASE head: a smoke run.
		p := Params{"items": 1000}
		for k, v := range blend.Grid[0] {
			p[k] = v
		}
		blend.Grid = []Params{p}
	}
	out := []Candidate{
		PopularityCandidate(),
		RecentPopularityCandidate(o.Quick),
		NeighboursCandidate(o),
		ALSCandidate(o),
		EASECandidate(o),
	}
	if o.Repeats {
		out = append(out, BuyAgainCandidate(o.Quick), RestockCandidate(o.Quick))
	}
	return append(out, blend)
}

// SelectCandidates keeps the candidates named in the comma-separated list
// names, in their order in cands; an empty list keeps all. A name that no
// candidate has is an error.
func SelectCandidates(cands []Candidate, names string) ([]Candidate, error) {
	if strings.TrimSpace(names) == "" {
		return cands, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []Candidate
	for _, c := range cands {
		if want[c.Name] {
			out = append(out, c)
			delete(want, c.Name)
		}
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		slices.Sort(missing)
		var have []string
		for _, c := range cands {
			have = append(have, c.Name)
		}
		return nil, fmt.Errorf("no model named %s (have %s)", strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return out, nil
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

// EASECandidate is ranking.TrainEASE on the head of the catalog (the
// MaxItems items with the most users, default 4000), tuned over λ (Params
// "lambda") and the half-life of its recency weighting (Params
// "halflife", a fraction of the training timeline, 0 = none); "items"
// overrides the head's size. A user scores a head item by
// Σ_h x_h·B[h, j] over their history, with the full dense B; items
// outside the head follow, in order of popularity.
func EASECandidate(o CandidateOptions) Candidate {
	grid := Grid(map[string][]float64{"lambda": {250, 1000, 4000}, "halflife": {0, 0.2}})
	if o.Quick {
		grid = Grid(map[string][]float64{"lambda": {1000}, "items": {1000}})
	}
	return Candidate{
		Name: "ease",
		Grid: grid,
		New: func(p Params) Recommender {
			return &ease{cfg: ranking.EASEConfig{
				Lambda:   p.Get("lambda", 1000),
				MaxItems: int(p.Get("items", 4000)),
				HalfLife: p.Get("halflife", 0),
				Workers:  o.Workers,
			}}
		},
	}
}

type ease struct {
	cfg   ranking.EASEConfig
	train *ranking.Dataset
	e     *ranking.EASE
	fill  []float64 // popularity below every head score, for the tail
}

func (e *ease) Fit(ctx context.Context, train *ranking.Dataset, now int64) error {
	cfg := e.cfg
	// halflife is a fraction of the training timeline.
	cfg.HalfLife *= float64(now - train.MinUnix)
	m, err := ranking.TrainEASE(ctx, train, cfg)
	if err != nil {
		return err
	}
	e.train, e.e = train, m
	pop := ranking.Popularity(train, 0)
	top := 1 + slices.Max(append(pop, 0))
	e.fill = make([]float64, len(pop))
	for i, p := range pop {
		e.fill[i] = p/top - 1e9
	}
	return nil
}

func (e *ease) Score(u int32, dst []float64) {
	items, sigs := e.train.UserRow(u)
	e.e.ScoreInto(items, sigs, dst)
	for j := range dst {
		if e.e.HeadPos(int32(j)) < 0 {
			dst[j] = e.fill[j]
		}
	}
}
