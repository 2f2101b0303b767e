// Package backtest measures influencer matching against a simulated world
// whose true parameters are known. Run simulates a seeded world, writes its
// events into a ClickHouse database with the store's writer, and then, at
// several cut times (rolling origins), freezes the matching profiles as of
// the cut (matching.Load + matching.Build), predicts the GMV of every
// sponsored live that starts in the window after the cut, and compares the
// predictions with the GMV the store attributes to each live and with the
// simulator's true expectation. Naive baselines (followers, the last 30
// days' GMV, engagement) are scored the same way. At each origin it also
// plans sponsored lives for the brands of the window under budgets and
// capacities with scores from the model, each baseline and the truth, and
// measures each plan's true expected GMV against the oracle plan's.
//
// docs/matching.md describes the metrics and shows a measured table.
package backtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// Predictor names: the rows of the report.
const (
	ModelP50   = "model P50"
	ModelMean  = "model mean"
	Followers  = "followers"
	GMV30      = "GMV last 30 days"
	Engagement = "engagement"
	Oracle     = "oracle (true E[GMV])"
)

// Predictors lists the rows in report order.
var Predictors = []string{ModelP50, ModelMean, Followers, GMV30, Engagement, Oracle}

// Defaults of Config.
const (
	DefaultHorizon   = 0.1
	DefaultResamples = 1000
	// gmvWindow is the look-back of the GMV baseline.
	gmvWindow = 30 * 24 * time.Hour
)

// DefaultOrigins are the default cut points, as fractions of the simulated
// timeline: with DefaultHorizon their windows tile its second half.
var DefaultOrigins = []float64{0.5, 0.6, 0.7, 0.8, 0.9}

// DefaultStart is the default simulated start time.
var DefaultStart = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// Config configures Run.
type Config struct {
	// World is the simulated world (its Seed included).
	World sim.Config
	// Seed seeds the generator, the plan problems and the bootstrap.
	Seed int64
	// Events is the number of events (views, chats, purchases) to simulate.
	Events int
	// Start is the simulated start time; zero means DefaultStart.
	Start time.Time
	// Origins are the cut points as fractions of the simulated timeline, in
	// (0, 1); nil means DefaultOrigins.
	Origins []float64
	// Horizon is the length of the window after each cut, as a fraction of
	// the timeline; 0 means DefaultHorizon.
	Horizon float64
	// Resamples is the number of bootstrap resamples; 0 means
	// DefaultResamples.
	Resamples int
	// Store is an empty, migrated database the events are written to.
	Store *store.Store
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Progress, if set, hears how far the events' loading and the origins
	// are.
	Progress func(step string, done, total int)
}

// Report is the result of Run.
type Report struct {
	Seed   int64      `json:"seed"`
	World  sim.Config `json:"world"`
	Events int        `json:"events"`
	// SimStart and SimEnd bound the simulated timeline (SimEnd is the time
	// of the last event).
	SimStart time.Time `json:"sim_start"`
	SimEnd   time.Time `json:"sim_end"`
	// AllLives and SponsoredLives count the simulated lives.
	AllLives       int     `json:"all_lives"`
	SponsoredLives int     `json:"sponsored_lives"`
	Horizon        float64 `json:"horizon"`
	// Rows has one row per predictor, in the order of Predictors.
	Rows    []Row          `json:"rows"`
	Origins []OriginReport `json:"origins"`
	// Lives are the predicted lives, by origin then live id.
	Lives []LiveResult `json:"lives"`
	// LoadSeconds is the time spent simulating and writing the events,
	// EvalSeconds the time spent on the origins.
	LoadSeconds float64 `json:"load_seconds"`
	EvalSeconds float64 `json:"eval_seconds"`
}

// Row is one predictor's scores over the lives of every origin.
type Row struct {
	Name string `json:"name"`
	// Spearman is the rank correlation of the predictions with the
	// realised GMV of the lives, SpearmanTrue with their true expected
	// GMV; both with 95% bootstrap intervals over lives.
	Spearman     Estimate `json:"spearman"`
	SpearmanTrue Estimate `json:"spearman_true"`
	// WAPE is Σ|realised − predicted| / Σ realised, with its interval;
	// WAPETrue the same against the true expected GMV.
	WAPE     Estimate `json:"wape"`
	WAPETrue float64  `json:"wape_true"`
	// Coverage is the share of lives whose realised GMV is within the
	// model's P10–P90 interval (model rows only).
	Coverage *Estimate `json:"coverage,omitempty"`
	Lives    int       `json:"lives"`
	// Regret is 1 − (true expected GMV of the predictor's plans) / (that
	// of the oracle's plans), summed over origins.
	Regret float64 `json:"regret"`
	// PlanValue is the true expected GMV of the predictor's plans, summed
	// over origins.
	PlanValue float64 `json:"plan_value"`
}

// OriginReport is what happened at one cut.
type OriginReport struct {
	Fraction float64   `json:"fraction"`
	Cut      time.Time `json:"cut"`
	End      time.Time `json:"end"`
	// Lives is the number of sponsored lives predicted.
	Lives int `json:"lives"`
	// Profiled is the number of influencers with lives before the cut.
	Profiled int `json:"profiled_influencers"`
	// MeanDurationMinutes is the mean duration of the lives before the cut.
	MeanDurationMinutes float64 `json:"mean_duration_minutes"`
	// Scale is each baseline's fitted factor to GMV.
	Scale map[string]float64 `json:"scale"`
	// Spearman of the model's P50 and Coverage of its P10–P90 interval
	// over this origin's lives.
	Spearman     float64    `json:"spearman_p50"`
	Coverage     float64    `json:"coverage"`
	Plan         PlanReport `json:"plan"`
	BuildSeconds float64    `json:"build_seconds"`
}

// PlanReport is the planning exercise at one cut.
type PlanReport struct {
	Brands      int `json:"brands"`
	Influencers int `json:"influencers"`
	LivesWanted int `json:"lives_wanted"`
	// OracleMethod, OracleExact and OracleGap describe the oracle's solve:
	// when it is not exact, a plan may beat it by up to the gap.
	OracleMethod string  `json:"oracle_method"`
	OracleExact  bool    `json:"oracle_exact"`
	OracleGap    float64 `json:"oracle_gap"`
	// OracleSolveValue is the true value of Solve's plan on the true
	// values; when another predictor's plan is worth more, the oracle
	// takes that plan and OracleFrom names it.
	OracleSolveValue float64 `json:"oracle_solve_value"`
	OracleFrom       string  `json:"oracle_from,omitempty"`
	// Value is each predictor's plan's true expected GMV, Planned its
	// number of lives, Regret 1 − Value / oracle's Value.
	Value   map[string]float64 `json:"value"`
	Planned map[string]int     `json:"planned"`
	Regret  map[string]float64 `json:"regret"`
}

// LiveResult is one predicted live.
type LiveResult struct {
	Origin          int       `json:"origin"`
	LiveID          uint64    `json:"live_id"`
	InfluencerID    uint64    `json:"influencer_id"`
	BrandID         uint64    `json:"brand_id"`
	Start           time.Time `json:"start"`
	DurationMinutes float64   `json:"duration_minutes"`
	// PastLives is how many lives the influencer had before the cut.
	PastLives int `json:"past_lives"`
	// Realised is the GMV the store attributes to the live; TrueExpected
	// the simulator's expectation of it.
	Realised     float64 `json:"realised"`
	TrueExpected float64 `json:"true_expected"`
	// The model's prediction, scaled to the live's duration.
	P10  float64 `json:"p10"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Mean float64 `json:"mean"`
	// The baselines, scaled to GMV.
	Followers  float64 `json:"followers"`
	GMV30      float64 `json:"gmv_30d"`
	Engagement float64 `json:"engagement"`
}

func (l *LiveResult) prediction(name string) float64 {
	switch name {
	case ModelP50:
		return l.P50
	case ModelMean:
		return l.Mean
	case Followers:
		return l.Followers
	case GMV30:
		return l.GMV30
	case Engagement:
		return l.Engagement
	}
	return l.TrueExpected
}

// Run runs the back-test described by cfg.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Store == nil {
		return nil, errors.New("backtest: no store")
	}
	if cfg.Events <= 0 {
		return nil, fmt.Errorf("backtest: %d events, want at least 1", cfg.Events)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	start = start.UTC().Truncate(time.Second)
	origins := cfg.Origins
	if origins == nil {
		origins = DefaultOrigins
	}
	horizon := cmp.Or(cfg.Horizon, DefaultHorizon)
	if !(horizon > 0 && horizon <= 1) {
		return nil, fmt.Errorf("backtest: horizon %v, want a fraction in (0, 1]", horizon)
	}
	for _, f := range origins {
		if !(f > 0 && f < 1) {
			return nil, fmt.Errorf("backtest: origin %v, want a fraction in (0, 1)", f)
		}
	}
	resamples := cmp.Or(cfg.Resamples, DefaultResamples)

	w, err := sim.NewWorld(cfg.World)
	if err != nil {
		return nil, err
	}
	st := cfg.Store
	t0 := time.Now()
	g := sim.NewGenerator(w, cfg.Seed, start)
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	n, err := load(ctx, st, w, g, cfg.Events, log, progress)
	if err != nil {
		return nil, fmt.Errorf("backtest: write events: %w", err)
	}
	rep := &Report{Seed: cfg.Seed, World: w.Config, Events: n, SimStart: start, SimEnd: g.Now(), Horizon: horizon,
		LoadSeconds: time.Since(t0).Seconds()}
	log.Info("backtest: events written", "events", n, "sim_days", rep.SimEnd.Sub(start).Hours()/24, "took", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()

	lives := g.Lives()
	rep.AllLives = len(lives)
	for _, l := range lives {
		if l.SponsorBrandID != 0 {
			rep.SponsoredLives++
		}
	}
	// The realised GMV of every live, as the store attributes purchases.
	sales, err := st.LiveProducts(ctx, rep.SimEnd.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	realised := map[uint64]float64{}
	for _, s := range sales {
		realised[s.LiveID] += s.GMV
	}

	oracle := w.NewOracle()
	span := rep.SimEnd.Sub(start)
	const step = "profile, predict and plan at each origin"
	progress(step, 0, len(origins))
	for k, f := range origins {
		cut := start.Add(time.Duration(f * float64(span))).Truncate(time.Second)
		end := cut.Add(time.Duration(horizon * float64(span)))
		if end.After(rep.SimEnd) {
			end = rep.SimEnd
		}
		var test []sim.Live
		for _, l := range lives {
			// Sponsored, starting in the window, and over (with its
			// purchases) before the last event.
			if l.SponsorBrandID != 0 && !l.Start.Before(cut) && l.Start.Before(end) && !l.End().Add(sim.MaxPurchaseDelay).After(rep.SimEnd) {
				test = append(test, l)
			}
		}
		or, results, err := evalOrigin(ctx, st, w, oracle, k, f, cut, end, test, realised, cfg.Seed)
		if err != nil {
			return nil, err
		}
		or.End = end
		rep.Origins = append(rep.Origins, or)
		rep.Lives = append(rep.Lives, results...)
		log.Info("backtest: origin", "cut", cut.Format(time.RFC3339), "lives", or.Lives, "spearman_p50", round(or.Spearman, 3),
			"coverage", round(or.Coverage, 3), "build", time.Duration(or.BuildSeconds*float64(time.Second)).Round(time.Millisecond))
		progress(step, k+1, len(origins))
	}
	rep.Rows = summarize(rep, resamples, uint64(cfg.Seed))
	rep.EvalSeconds = time.Since(t0).Seconds()
	return rep, nil
}

// originState holds the profiles frozen at one cut and what the
// predictors derive from them.
type originState struct {
	in *matching.Inputs
	m  *matching.Model
	// meanDur is the mean duration of the lives completed before the cut;
	// inflDur each influencer's, shrunk towards meanDur by one live.
	meanDur float64
	inflDur map[uint64]float64
	// gmv30 is each influencer's GMV in the 30 days before the cut.
	gmv30 map[uint64]float64
	scale map[string]float64
}

// baseline returns the unscaled score of a baseline for influencer id,
// for a live of the mean duration.
func (s *originState) baseline(name string, id uint64) float64 {
	inf, ok := s.m.Influencer(id)
	if !ok {
		return 0
	}
	switch name {
	case Followers:
		return float64(inf.Followers)
	case GMV30:
		return s.gmv30[id]
	case Engagement:
		return inf.ChatsPerViewer * inf.ViewersPerLive
	}
	return 0
}

// modelFactor converts the model's prediction for influencer id (a live
// like their past ones) to a live of dur minutes.
func (s *originState) modelFactor(id uint64, dur float64) float64 {
	if d, ok := s.inflDur[id]; ok && d > 0 {
		return dur / d
	}
	return dur / s.meanDur
}

var baselines = []string{Followers, GMV30, Engagement}

func newOriginState(ctx context.Context, st *store.Store, cut time.Time) (*originState, error) {
	in, err := matching.Load(ctx, st, cut)
	if err != nil {
		return nil, err
	}
	m, err := matching.Build(in)
	if err != nil {
		return nil, err
	}
	s := &originState{in: in, m: m, inflDur: map[uint64]float64{}, gmv30: map[uint64]float64{}, scale: map[string]float64{}}
	// Durations of the lives completed before the cut.
	type durs struct{ sum, n float64 }
	per := map[uint64]durs{}
	var sum, cnt float64
	for _, l := range in.Lives {
		if l.EndedAt.IsZero() || l.EndedAt.After(cut) {
			continue
		}
		d := l.EndedAt.Sub(l.StartedAt).Minutes()
		sum += d
		cnt++
		x := per[l.InfluencerID]
		x.sum += d
		x.n++
		per[l.InfluencerID] = x
	}
	s.meanDur = sim.MeanLiveDuration.Minutes()
	if cnt > 0 {
		s.meanDur = sum / cnt
	}
	for id, x := range per {
		s.inflDur[id] = (s.meanDur + x.sum) / (1 + x.n)
	}
	// GMV per live before the cut, and the 30-day GMV per influencer.
	liveGMV := map[uint64]float64{}
	for _, p := range in.LiveProducts {
		liveGMV[p.LiveID] += p.GMV
	}
	for _, a := range in.Audiences {
		if !a.Start.Before(cut.Add(-gmvWindow)) {
			s.gmv30[a.InfluencerID] += liveGMV[a.LiveID]
		}
	}
	// Each baseline's factor to GMV: Σ GMV / Σ score over the sponsored
	// lives completed (purchases included) before the cut.
	for _, name := range baselines {
		var y, x float64
		for _, l := range in.Lives {
			if l.SponsorBrandID == 0 || l.EndedAt.IsZero() || l.EndedAt.Add(sim.MaxPurchaseDelay).After(cut) {
				continue
			}
			y += liveGMV[l.LiveID]
			x += s.baseline(name, l.InfluencerID) * l.EndedAt.Sub(l.StartedAt).Minutes() / s.meanDur
		}
		if x > 0 {
			s.scale[name] = y / x
		}
	}
	return s, nil
}

func evalOrigin(ctx context.Context, st *store.Store, w *sim.World, oracle *sim.Oracle, k int, frac float64, cut, end time.Time,
	test []sim.Live, realised map[uint64]float64, seed int64) (OriginReport, []LiveResult, error) {
	or := OriginReport{Fraction: frac, Cut: cut, Lives: len(test)}
	t0 := time.Now()
	s, err := newOriginState(ctx, st, cut)
	if err != nil {
		return or, nil, err
	}
	or.BuildSeconds = time.Since(t0).Seconds()
	or.MeanDurationMinutes = s.meanDur
	or.Scale = s.scale
	for _, e := range s.in.Influencers {
		if inf, ok := s.m.Influencer(e.InfluencerID); ok && inf.Lives > 0 {
			or.Profiled++
		}
	}
	var results []LiveResult
	covered := 0
	for _, l := range test {
		b, okB := s.m.Brand(l.SponsorBrandID)
		inf, okI := s.m.Influencer(l.InfluencerID)
		dur := l.Duration.Minutes()
		r := LiveResult{Origin: k, LiveID: l.ID, InfluencerID: l.InfluencerID, BrandID: l.SponsorBrandID, Start: l.Start,
			DurationMinutes: dur, Realised: realised[l.ID], TrueExpected: l.TrueExpectedGMV}
		if okB && okI {
			p := s.m.Predict(b, inf, matching.DefaultCommission)
			f := s.modelFactor(l.InfluencerID, dur)
			r.P10, r.P50, r.P90, r.Mean = p.P10*f, p.P50*f, p.P90*f, p.GMV*f
			r.PastLives = inf.Lives
		}
		fb := dur / s.meanDur
		r.Followers = s.scale[Followers] * s.baseline(Followers, l.InfluencerID) * fb
		r.GMV30 = s.scale[GMV30] * s.baseline(GMV30, l.InfluencerID) * fb
		r.Engagement = s.scale[Engagement] * s.baseline(Engagement, l.InfluencerID) * fb
		if r.P10 <= r.Realised && r.Realised <= r.P90 {
			covered++
		}
		results = append(results, r)
	}
	if len(results) > 0 {
		or.Coverage = float64(covered) / float64(len(results))
		x, y := make([]float64, len(results)), make([]float64, len(results))
		for i := range results {
			x[i], y[i] = results[i].P50, results[i].Realised
		}
		or.Spearman = Spearman(x, y)
	}
	plan, err := planOrigin(ctx, s, w, oracle, test, seed, k)
	if err != nil {
		return or, nil, err
	}
	or.Plan = plan
	return or, results, nil
}

// planOrigin plans sponsored lives for the brands of the window with each
// predictor's scores and values every plan with the true expected GMV.
func planOrigin(ctx context.Context, s *originState, w *sim.World, oracle *sim.Oracle, test []sim.Live, seed int64, k int) (PlanReport, error) {
	rep := PlanReport{Value: map[string]float64{}, Planned: map[string]int{}, Regret: map[string]float64{}}
	var brandIDs []uint64
	for _, l := range test {
		if !slices.Contains(brandIDs, l.SponsorBrandID) {
			brandIDs = append(brandIDs, l.SponsorBrandID)
		}
	}
	slices.Sort(brandIDs)
	if len(brandIDs) == 0 {
		return rep, nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(k)+1))
	var infs []matching.InfluencerSupply
	var fees []float64
	for _, e := range s.in.Influencers {
		if e.Fee > 0 {
			fees = append(fees, e.Fee)
		}
	}
	medFee := median(fees)
	var p matching.Problem
	for _, id := range brandIDs {
		lives := 2 + rng.IntN(2)
		rep.LivesWanted += lives
		p.Brands = append(p.Brands, matching.BrandDemand{ID: id, Lives: lives, Budget: math.Round(float64(lives) * medFee * (0.75 + 0.75*rng.Float64()))})
	}
	ids := make([]uint64, 0, len(s.in.Influencers))
	for _, e := range s.in.Influencers {
		if e.Fee > 0 {
			ids = append(ids, e.InfluencerID)
		}
	}
	slices.Sort(ids)
	fee := map[uint64]float64{}
	for _, e := range s.in.Influencers {
		fee[e.InfluencerID] = e.Fee
	}
	for _, id := range ids {
		infs = append(infs, matching.InfluencerSupply{ID: id, Capacity: 1 + rng.IntN(2), Fee: fee[id]})
	}
	p.Influencers = infs
	rep.Brands, rep.Influencers = len(p.Brands), len(p.Influencers)

	// The truth, influencer by influencer (the oracle's cache).
	truth := make(map[[2]uint64]float64, len(brandIDs)*len(ids))
	for _, i := range ids {
		for _, b := range brandIDs {
			truth[[2]uint64{b, i}] = oracle.SponsoredGMV(b, i, 0)
		}
	}
	score := func(name string, b, i uint64) float64 {
		switch name {
		case Oracle:
			return truth[[2]uint64{b, i}]
		case ModelP50, ModelMean:
			br, ok1 := s.m.Brand(b)
			inf, ok2 := s.m.Influencer(i)
			if !ok1 || !ok2 {
				return 0
			}
			pr := s.m.Predict(br, inf, matching.DefaultCommission)
			v := pr.P50
			if name == ModelMean {
				v = pr.GMV
			}
			// Per live of the mean duration, like the oracle's.
			return v * s.modelFactor(i, s.meanDur)
		}
		// A naive planner keeps to the brand's categories, then sorts.
		br, ok1 := s.m.Brand(b)
		inf, ok2 := s.m.Influencer(i)
		if !ok1 || !ok2 || !slices.ContainsFunc(inf.Categories, func(c string) bool { return br.Mix[c] > 0 }) {
			return 0
		}
		return s.scale[name] * s.baseline(name, i)
	}
	for _, name := range Predictors {
		q := p
		q.Pairs = nil
		for _, b := range brandIDs {
			for _, i := range ids {
				q.Pairs = append(q.Pairs, matching.Pair{Brand: b, Influencer: i, Value: score(name, b, i)})
			}
		}
		plan, err := matching.Solve(ctx, q, matching.PlanOptions{})
		if err != nil {
			return rep, fmt.Errorf("backtest: plan with %s: %w", name, err)
		}
		var v float64
		for _, a := range plan.Assignments {
			v += truth[[2]uint64{a.Brand, a.Influencer}]
		}
		rep.Value[name] = v
		rep.Planned[name] = len(plan.Assignments)
		if name == Oracle {
			rep.OracleMethod, rep.OracleExact, rep.OracleGap = plan.Method, plan.Exact, plan.Gap
			rep.OracleSolveValue = v
		}
	}
	// With binding budgets Solve is not always exact: the oracle's plan is
	// the best plan under the true values among its own and the others'
	// (all are feasible), so no plan beats it.
	for _, name := range Predictors {
		if rep.Value[name] > rep.Value[Oracle] {
			rep.Value[Oracle] = rep.Value[name]
			rep.Planned[Oracle] = rep.Planned[name]
			rep.OracleFrom = name
		}
	}
	for _, name := range Predictors {
		if o := rep.Value[Oracle]; o > 0 {
			rep.Regret[name] = 1 - rep.Value[name]/o
		}
	}
	return rep, nil
}

// summarize computes the rows over the lives of every origin.
func summarize(rep *Report, resamples int, seed uint64) []Row {
	n := len(rep.Lives)
	rs := newResampler(n, resamples, seed)
	y, truth := make([]float64, n), make([]float64, n)
	for i := range rep.Lives {
		y[i], truth[i] = rep.Lives[i].Realised, rep.Lives[i].TrueExpected
	}
	var oracleValue float64
	for _, o := range rep.Origins {
		oracleValue += o.Plan.Value[Oracle]
	}
	var rows []Row
	for _, name := range Predictors {
		pred := make([]float64, n)
		for i := range rep.Lives {
			pred[i] = rep.Lives[i].prediction(name)
		}
		row := Row{Name: name, Lives: n,
			Spearman:     rs.estimate(pred, y, Spearman),
			SpearmanTrue: rs.estimate(pred, truth, Spearman),
			WAPE:         rs.estimate(pred, y, WAPE),
			WAPETrue:     WAPE(pred, truth),
		}
		if name == ModelP50 {
			lo, hi := make([]float64, n), make([]float64, n)
			for i := range rep.Lives {
				lo[i], hi[i] = rep.Lives[i].P10, rep.Lives[i].P90
			}
			// Coverage as a statistic of (index, realised): x carries the
			// live's index into lo and hi.
			idx := make([]float64, n)
			for i := range idx {
				idx[i] = float64(i)
			}
			cov := rs.estimate(idx, y, func(ix, yy []float64) float64 {
				if len(ix) == 0 {
					return math.NaN()
				}
				c := 0
				for j, v := range ix {
					if lo[int(v)] <= yy[j] && yy[j] <= hi[int(v)] {
						c++
					}
				}
				return float64(c) / float64(len(ix))
			})
			row.Coverage = &cov
		}
		for _, o := range rep.Origins {
			row.PlanValue += o.Plan.Value[name]
		}
		if oracleValue > 0 {
			row.Regret = 1 - row.PlanValue/oracleValue
		}
		rows = append(rows, row)
	}
	return rows
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
