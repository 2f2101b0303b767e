package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vetrina/vetrina/ranking"
)

// Recommender is a ranking model under evaluation.
type Recommender interface {
	// Fit trains on the training dataset; now is the cut time (Unix
	// seconds): no interaction of train is later.
	Fit(ctx context.Context, train *ranking.Dataset, now int64) error
	// Score writes a score per dense item of train for user u (dense index
	// in train) into dst (len train.NumItems()); higher is better. dst is
	// zeroed before the call. Score is called from several goroutines at
	// once after Fit has returned.
	Score(u int32, dst []float64)
}

// Explainer is a Recommender that can say what it learned after Fit, e.g.
// how a blend chose its weights and what they are; reports show it per
// cut point.
type Explainer interface {
	Explain() (how string, weights []Weight)
}

// Learned is what a model learned at one cut point.
type Learned struct {
	Origin  float64  `json:"origin"`
	How     string   `json:"how"`
	Weights []Weight `json:"weights"`
}

// Weight is one named learned number.
type Weight struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Params is one hyper-parameter setting.
type Params map[string]float64

// Get returns p[key], or def if p has no key.
func (p Params) Get(key string, def float64) float64 {
	if v, ok := p[key]; ok {
		return v
	}
	return def
}

// String lists the parameters as key=value in key order ("-" if none).
func (p Params) String() string {
	if len(p) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(p[k], 'g', 4, 64))
	}
	return b.String()
}

// Grid returns the Cartesian product of the values of each key, in a
// deterministic order (keys sorted, the last key varying fastest).
func Grid(axes map[string][]float64) []Params {
	keys := make([]string, 0, len(axes))
	for k := range axes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []Params{{}}
	for _, k := range keys {
		var next []Params
		for _, p := range out {
			for _, v := range axes[k] {
				q := Params{k: v}
				for pk, pv := range p {
					q[pk] = pv
				}
				next = append(next, q)
			}
		}
		out = next
	}
	return out
}

// Candidate is a model family with the hyper-parameter settings to try.
type Candidate struct {
	Name string
	// Grid lists the settings tried on the validation slice; one entry (or
	// none) means no tuning.
	Grid []Params
	New  func(p Params) Recommender
	// Reference marks a model that is not a contender but a yardstick (the
	// oracle that knows the simulator's true tastes); reports show it
	// apart.
	Reference bool
}

// Config says how Evaluate splits the timeline and what counts as a hit.
// The zero value is the documented default.
type Config struct {
	// Origins are the cut points, as fractions of the timeline
	// [first, last interaction]; default 0.7, 0.8, 0.9.
	Origins []float64
	// Horizon is the length of the test window after each cut (and of the
	// validation window before it), as a fraction of the timeline;
	// default 0.1.
	Horizon float64
	// Target are the kinds of test interaction that make an item relevant;
	// empty means every kind.
	Target []ranking.Kind
	// Repeats counts items of the user's training history as relevant too
	// (bought again) and ranks them; by default they are left out of both.
	Repeats bool
	// Resamples is the number of bootstrap resamples; default 1000.
	Resamples int
	// Seed seeds the bootstrap.
	Seed uint64
	// Workers score users in parallel; default GOMAXPROCS.
	Workers int
	// Baseline names the model every other is compared with; default
	// "blend". The comparison is left out if no candidate has that name.
	Baseline string
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Progress, if set, hears how many of the (origin, model) evaluations
	// are done.
	Progress func(step string, done, total int)
}

// DefaultOrigins are the cut points used when Config.Origins is empty.
var DefaultOrigins = []float64{0.7, 0.8, 0.9}

// DefaultHorizon is the test window used when Config.Horizon is 0.
const DefaultHorizon = 0.1

// ParseTarget parses a comma-separated list of kinds (view, chat,
// purchase), or "any" for every kind (nil).
func ParseTarget(s string) ([]ranking.Kind, error) {
	if strings.TrimSpace(s) == "any" {
		return nil, nil
	}
	var out []ranking.Kind
	for _, f := range strings.Split(s, ",") {
		k, ok := ranking.ParseKind(strings.TrimSpace(f))
		if !ok {
			return nil, fmt.Errorf("target kind %q: want view, chat, purchase or any", f)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func targetName(t []ranking.Kind) string {
	if len(t) == 0 {
		return "any"
	}
	var s []string
	for _, k := range t {
		s = append(s, k.String())
	}
	return strings.Join(s, ",")
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Origins) == 0 {
		c.Origins = DefaultOrigins
	}
	if c.Horizon == 0 {
		c.Horizon = DefaultHorizon
	}
	if c.Resamples <= 0 {
		c.Resamples = 1000
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Baseline == "" {
		c.Baseline = "blend"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if !(c.Horizon > 0 && c.Horizon < 1) {
		return c, fmt.Errorf("horizon %v: want a fraction of the timeline in (0, 1)", c.Horizon)
	}
	for _, o := range c.Origins {
		// The validation window before the cut and the test window after
		// it must fit in the timeline.
		if !(o-c.Horizon > 0) || o+c.Horizon > 1+1e-9 {
			return c, fmt.Errorf("origin %v with horizon %v: want horizon < origin <= 1 - horizon", o, c.Horizon)
		}
	}
	return c, nil
}

// ErrNoTestUsers is returned by Evaluate when no cut point has a warm test
// user: nothing can be measured.
var ErrNoTestUsers = errors.New("no warm test users")

// testUser is a user to rank for: warm (has training interactions) and
// with at least one relevant item.
type testUser struct {
	u   int32   // dense index in the training dataset
	id  uint64  // user id
	rel []int32 // relevant dense items, sorted
}

// split is one cut: training data up to cut, test window (cut, end].
type split struct {
	cut, end int64
	train    *ranking.Dataset
	trainN   int // training interactions
	users    []testUser
	relevant int // relevant (user, item) pairs
	cold     int // of which the item has no training interaction
}

// cutAt returns the time at fraction f of [lo, hi].
func cutAt(lo, hi int64, f float64) int64 {
	if f >= 1-1e-9 {
		return hi
	}
	return lo + int64(math.Floor(f*float64(hi-lo)))
}

// newSplit trains on every interaction at or before cut and tests on
// (cut, end]. Every catalog item is in the training dataset, at its
// position in d.Items.
func newSplit(d *Data, cut, end int64, target []ranking.Kind, repeats bool) *split {
	in := d.Interactions
	n := sort.Search(len(in), func(i int) bool { return in[i].Unix > cut })
	m := sort.Search(len(in), func(i int) bool { return in[i].Unix > end })
	b := ranking.NewBuilder()
	for _, it := range d.Items {
		b.AddItem(it)
	}
	for _, x := range in[:n] {
		b.Add(x)
	}
	s := &split{cut: cut, end: end, train: b.Build(), trainN: n}
	rel := map[int32][]int32{}
	for _, x := range in[n:m] {
		if len(target) > 0 && !slices.Contains(target, x.Kind) {
			continue
		}
		u, ok := s.train.UserIndex(x.User)
		if !ok {
			continue // cold user: no history to rank from
		}
		i, ok := s.train.ItemIndex(x.Item)
		if !ok {
			continue // not in the catalog (Data.Items lists every item, so never)
		}
		if items, _ := s.train.UserRow(u); !repeats && slices.Contains(items, i) {
			continue // already known: not a discovery
		}
		rel[u] = append(rel[u], i)
	}
	for u, items := range rel {
		slices.Sort(items)
		items = slices.Compact(items)
		s.users = append(s.users, testUser{u: u, id: s.train.Users[u], rel: items})
		s.relevant += len(items)
		for _, i := range items {
			if s.train.ItemPtr[i+1] == s.train.ItemPtr[i] {
				s.cold++
			}
		}
	}
	slices.SortFunc(s.users, func(a, b testUser) int { return int(a.u) - int(b.u) })
	return s
}

// userMetrics are one model's metrics for the users of one split.
type userMetrics struct {
	ndcg, recall, rr []float64
	tops             [][]int32 // top CoverageAt items per user
}

// evaluateUsers ranks the catalog for every user of s with r and measures
// it.
func evaluateUsers(ctx context.Context, r Recommender, s *split, workers int, repeats bool) (userMetrics, error) {
	n := len(s.users)
	m := userMetrics{ndcg: make([]float64, n), recall: make([]float64, n), rr: make([]float64, n), tops: make([][]int32, n)}
	var next atomic.Int64
	var wg sync.WaitGroup
	var stopped atomic.Bool
	items := s.train.NumItems()
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float64, items)
			mark := make([]uint8, items)
			buf := make([]ranked, 0, max(NDCGAt, RecallAt, CoverageAt))
			rel := make([]bool, max(NDCGAt, RecallAt))
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				if ctx.Err() != nil {
					stopped.Store(true)
					return
				}
				tu := &s.users[k]
				clear(scores)
				r.Score(tu.u, scores)
				hist, _ := s.train.UserRow(tu.u)
				if !repeats {
					for _, i := range hist {
						mark[i] = markExcluded
					}
				}
				for _, i := range tu.rel {
					mark[i] = markRelevant
				}
				top := topK(scores, mark, cap(buf), buf)
				rel = rel[:len(top)]
				for j, t := range top {
					rel[j] = t.rel
				}
				m.ndcg[k] = NDCG(rel, len(tu.rel), NDCGAt)
				m.recall[k] = Recall(rel, len(tu.rel), RecallAt)
				m.rr[k] = ReciprocalRank(scores, mark)
				t := make([]int32, 0, CoverageAt)
				for _, x := range top[:min(CoverageAt, len(top))] {
					t = append(t, x.item)
				}
				m.tops[k] = t
				for _, i := range hist {
					mark[i] = markNone
				}
				for _, i := range tu.rel {
					mark[i] = markNone
				}
			}
		}()
	}
	wg.Wait()
	if stopped.Load() {
		return m, ctx.Err()
	}
	return m, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Report is the outcome of Evaluate.
type Report struct {
	Dataset      string  `json:"dataset"`
	Interactions int     `json:"interactions"`
	Users        int     `json:"users"`
	Items        int     `json:"items"`
	Target       string  `json:"target"`
	Repeats      bool    `json:"repeats,omitempty"`
	Horizon      float64 `json:"horizon"`
	// Origins describes each cut point.
	Origins []OriginReport `json:"origins"`
	// TestRows is the number of (cut point, user) evaluations pooled;
	// TestUsers the number of distinct users among them (the bootstrap
	// resamples those).
	TestRows  int    `json:"test_rows"`
	TestUsers int    `json:"test_users"`
	Resamples int    `json:"bootstrap_resamples"`
	Baseline  string `json:"baseline,omitempty"`
	// Models are in candidate order.
	Models []ModelReport `json:"models"`
	// VsBest compares the baseline, at each cut point, with the contender
	// that scored the best NDCG@10 there (nil without a baseline).
	VsBest  []VsBest `json:"baseline_vs_best,omitempty"`
	Seconds float64  `json:"seconds"`
}

// VsBest is the baseline's NDCG@10 minus that of the best other contender
// at one cut point, paired over that cut point's users.
type VsBest struct {
	Origin float64  `json:"origin"`
	Model  string   `json:"model"`
	Diff   Estimate `json:"ndcg_diff"`
}

// OriginEstimate is a model's NDCG@10 at one cut point, and its
// difference to the baseline there (paired over that cut point's users).
type OriginEstimate struct {
	Origin     float64   `json:"origin"`
	NDCG       Estimate  `json:"ndcg_at_10"`
	VsBaseline *Estimate `json:"ndcg_vs_baseline,omitempty"`
}

// OriginReport describes one cut point.
type OriginReport struct {
	Fraction          float64   `json:"fraction"`
	Cut               time.Time `json:"cut"`
	End               time.Time `json:"test_end"`
	TrainInteractions int       `json:"train_interactions"`
	ValidationUsers   int       `json:"validation_users"`
	TestUsers         int       `json:"test_users"`
	// Relevant counts the relevant (user, item) pairs of the test window;
	// ColdRelevant those whose item has no training interaction (no
	// collaborative model can rank them high).
	Relevant     int `json:"relevant"`
	ColdRelevant int `json:"cold_relevant"`
}

// ModelReport is one model's result, pooled over the cut points.
type ModelReport struct {
	Name      string `json:"name"`
	Reference bool   `json:"reference,omitempty"`
	// Params are the tuned settings, per cut point.
	Params []Params `json:"params"`
	// ValidationNDCG is the NDCG@10 of the chosen setting on the
	// validation slice, per cut point.
	ValidationNDCG []Measured `json:"validation_ndcg"`
	NDCG           Estimate   `json:"ndcg_at_10"`
	Recall         Estimate   `json:"recall_at_20"`
	MRR            Estimate   `json:"mrr"`
	// Coverage is the share of the catalog in some test user's top 10,
	// averaged over the cut points.
	Coverage float64 `json:"coverage_at_10"`
	// VsBaseline is this model's NDCG@10 minus the baseline's, paired over
	// users (nil without a baseline, and for the baseline itself).
	VsBaseline *Estimate `json:"ndcg_vs_baseline,omitempty"`
	// FitSeconds is the time spent fitting (tuning included).
	FitSeconds float64 `json:"fit_seconds"`
	// ByOrigin is NDCG@10 at each cut point with test users.
	ByOrigin []OriginEstimate `json:"by_origin"`
	// Learned is what the model fitted at each cut point says it learned
	// (Explainer), nil if it does not say.
	Learned []Learned `json:"learned,omitempty"`

	ndcg, recall, rr []float64 // per pooled row
}

// Evaluate runs the rolling-origin evaluation of the candidates on d.
func Evaluate(ctx context.Context, d *Data, cands []Candidate, cfg Config) (*Report, error) {
	start := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, errors.New("evaluate: no candidates")
	}
	lo, hi := d.timeRange()
	if hi <= lo {
		return nil, fmt.Errorf("evaluate: %d interactions span no time", len(d.Interactions))
	}
	rep := &Report{
		Interactions: len(d.Interactions), Users: d.Users(), Items: len(d.Items),
		Target: targetName(cfg.Target), Repeats: cfg.Repeats, Horizon: cfg.Horizon, Resamples: cfg.Resamples,
	}
	models := make([]ModelReport, len(cands))
	for k, c := range cands {
		models[k] = ModelReport{Name: c.Name, Reference: c.Reference}
	}
	var rowUser []uint64
	var rowOrigin []int // index into cfg.Origins
	progress := func(done int) {
		if cfg.Progress != nil {
			cfg.Progress("tune, fit and score each model at each origin", done, len(cfg.Origins)*len(cands))
		}
	}
	progress(0)
	for o, f := range cfg.Origins {
		h := int64(math.Round(cfg.Horizon * float64(hi-lo)))
		cut := cutAt(lo, hi, f)
		end := min(cut+h, hi)
		if f+cfg.Horizon >= 1-1e-9 {
			end = hi
		}
		val := newSplit(d, cut-h, cut, cfg.Target, cfg.Repeats)
		test := newSplit(d, cut, end, cfg.Target, cfg.Repeats)
		or := OriginReport{
			Fraction: f, Cut: time.Unix(cut, 0).UTC(), End: time.Unix(end, 0).UTC(),
			TrainInteractions: test.trainN, ValidationUsers: len(val.users), TestUsers: len(test.users),
			Relevant: test.relevant, ColdRelevant: test.cold,
		}
		rep.Origins = append(rep.Origins, or)
		cfg.Log.Info("origin", "fraction", f, "cut", or.Cut, "train", test.trainN, "validation_users", len(val.users), "test_users", len(test.users))
		if len(test.users) == 0 {
			progress((o + 1) * len(cands))
			continue
		}
		for _, tu := range test.users {
			rowUser = append(rowUser, tu.id)
			rowOrigin = append(rowOrigin, o)
		}
		for k, c := range cands {
			mr := &models[k]
			t0 := time.Now()
			p, valNDCG, err := tune(ctx, c, val, cfg)
			if err != nil {
				return nil, fmt.Errorf("origin %v: tune %s: %w", f, c.Name, err)
			}
			r := c.New(p)
			if err := r.Fit(ctx, test.train, cut); err != nil {
				return nil, fmt.Errorf("origin %v: fit %s %v: %w", f, c.Name, p, err)
			}
			mr.FitSeconds += time.Since(t0).Seconds()
			um, err := evaluateUsers(ctx, r, test, cfg.Workers, cfg.Repeats)
			if err != nil {
				return nil, err
			}
			mr.Params = append(mr.Params, p)
			if e, ok := r.(Explainer); ok {
				how, ws := e.Explain()
				mr.Learned = append(mr.Learned, Learned{Origin: f, How: how, Weights: ws})
			}
			mr.ValidationNDCG = append(mr.ValidationNDCG, Measured(valNDCG))
			mr.ndcg = append(mr.ndcg, um.ndcg...)
			mr.recall = append(mr.recall, um.recall...)
			mr.rr = append(mr.rr, um.rr...)
			mr.Coverage += Coverage(um.tops, test.train.NumItems())
			cfg.Log.Info("model evaluated", "origin", f, "model", c.Name, "params", p.String(),
				"validation_ndcg", valNDCG, "test_ndcg", mean(um.ndcg), "seconds", time.Since(t0).Seconds())
			progress(o*len(cands) + k + 1)
		}
	}
	if len(rowUser) == 0 {
		return nil, fmt.Errorf("evaluate: %w at origins %v (horizon %v, target %s)", ErrNoTestUsers, cfg.Origins, cfg.Horizon, rep.Target)
	}
	withUsers := 0 // origins that were evaluated
	for _, o := range rep.Origins {
		if o.TestUsers > 0 {
			withUsers++
		}
	}
	cluster := make([]int32, len(rowUser))
	ids := map[uint64]int32{}
	for i, id := range rowUser {
		c, ok := ids[id]
		if !ok {
			c = int32(len(ids))
			ids[id] = c
		}
		cluster[i] = c
	}
	rep.TestRows, rep.TestUsers = len(rowUser), len(ids)
	boot := NewBootstrap(len(ids), cfg.Resamples, cfg.Seed)
	base := -1
	for k := range models {
		if models[k].Name == cfg.Baseline {
			base = k
			rep.Baseline = cfg.Baseline
		}
	}
	for k := range models {
		mr := &models[k]
		mr.Coverage /= float64(withUsers)
		mr.NDCG = boot.Mean(mr.ndcg, cluster)
		mr.Recall = boot.Mean(mr.recall, cluster)
		mr.MRR = boot.Mean(mr.rr, cluster)
		if base >= 0 && k != base {
			e := boot.Diff(mr.ndcg, models[base].ndcg, cluster)
			mr.VsBaseline = &e
		}
	}
	rep.Models = models
	rep.VsBest = byOrigin(models, base, rowOrigin, cfg)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// byOrigin fills every model's ByOrigin, with bootstrap intervals over the
// users of each cut point (as many resamples as the pooled ones), and
// returns the baseline against the best other contender at each one.
func byOrigin(models []ModelReport, base int, rowOrigin []int, cfg Config) []VsBest {
	var out []VsBest
	for o, f := range cfg.Origins {
		var rows []int
		for i, ro := range rowOrigin {
			if ro == o {
				rows = append(rows, i)
			}
		}
		if len(rows) == 0 {
			continue
		}
		// Users are distinct within a cut point: one cluster per row.
		local := make([]int32, len(rows))
		for k := range local {
			local[k] = int32(k)
		}
		boot := NewBootstrap(len(rows), cfg.Resamples, cfg.Seed+uint64(o)+1)
		pick := func(xs []float64) []float64 {
			out := make([]float64, len(rows))
			for k, i := range rows {
				out[k] = xs[i]
			}
			return out
		}
		best, bestMean := -1, math.Inf(-1)
		for k := range models {
			mr := &models[k]
			x := pick(mr.ndcg)
			oe := OriginEstimate{Origin: f, NDCG: boot.Mean(x, local)}
			if base >= 0 && k != base {
				e := boot.Diff(x, pick(models[base].ndcg), local)
				oe.VsBaseline = &e
				if !mr.Reference && oe.NDCG.Mean > bestMean {
					best, bestMean = k, oe.NDCG.Mean
				}
			}
			mr.ByOrigin = append(mr.ByOrigin, oe)
		}
		if base >= 0 && best >= 0 {
			out = append(out, VsBest{Origin: f, Model: models[best].Name,
				Diff: boot.Diff(pick(models[base].ndcg), pick(models[best].ndcg), local)})
		}
	}
	return out
}

// tune returns the setting of c with the best NDCG@10 on the validation
// split, and that NDCG. With a single setting, or no validation users, it
// returns the first setting unmeasured (NDCG NaN).
func tune(ctx context.Context, c Candidate, val *split, cfg Config) (Params, float64, error) {
	grid := c.Grid
	if len(grid) == 0 {
		grid = []Params{{}}
	}
	if len(grid) == 1 || len(val.users) == 0 {
		return grid[0], math.NaN(), nil
	}
	best, bestNDCG := grid[0], math.Inf(-1)
	for _, p := range grid {
		r := c.New(p)
		if err := r.Fit(ctx, val.train, val.cut); err != nil {
			return nil, 0, fmt.Errorf("fit %v: %w", p, err)
		}
		um, err := evaluateUsers(ctx, r, val, cfg.Workers, cfg.Repeats)
		if err != nil {
			return nil, 0, err
		}
		v := mean(um.ndcg)
		cfg.Log.Debug("validation", "model", c.Name, "params", p.String(), "ndcg", v)
		if v > bestNDCG {
			best, bestNDCG = p, v
		}
	}
	return best, bestNDCG, nil
}

// Measured is a number that may be missing (NaN); JSON shows a missing one
// as null.
type Measured float64

// MarshalJSON implements json.Marshaler.
func (m Measured) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(m), 'g', -1, 64), nil
}
