package offline

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/vetrina/vetrina/ranking"
)

// randomData is n interactions of users over items at random times in
// [1000, 1000+span].
func randomData(seed uint64, n, users, items int, span int64) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Data{}
	for i := range items {
		d.Items = append(d.Items, ranking.Item{ID: uint64(100 + i), InStock: true})
	}
	for range n {
		d.Interactions = append(d.Interactions, ranking.Interaction{
			User: uint64(1 + rng.IntN(users)),
			Item: uint64(100 + rng.IntN(items)),
			Kind: ranking.Kind(rng.IntN(3)),
			Unix: 1000 + rng.Int64N(span+1),
		})
	}
	sortByTime(d.Interactions)
	return d
}

// fitLog records what every Fit saw.
type fitLog struct {
	mu   sync.Mutex
	fits []fitCall
}

type fitCall struct {
	now, maxUnix, lastSignal int64
	pairs                    int
}

type spy struct {
	log *fitLog
	pop []float64
}

func (s *spy) Fit(_ context.Context, train *ranking.Dataset, now int64) error {
	c := fitCall{now: now, maxUnix: train.MaxUnix, pairs: train.NumPairs()}
	for _, sig := range train.Signals {
		c.lastSignal = max(c.lastSignal, int64(sig.Last))
	}
	s.log.mu.Lock()
	s.log.fits = append(s.log.fits, c)
	s.log.mu.Unlock()
	s.pop = ranking.Popularity(train, 0)
	return nil
}

func (s *spy) Score(_ int32, dst []float64) { copy(dst, s.pop) }

func TestEvaluate_SplitNeverLeaksTheFuture(t *testing.T) {
	d := randomData(1, 20000, 300, 200, 100000)
	log := &fitLog{}
	cand := Candidate{
		Name: "spy",
		Grid: []Params{{"a": 1}, {"a": 2}}, // two settings: forces validation fits
		New:  func(Params) Recommender { return &spy{log: log} },
	}
	cfg := Config{Origins: []float64{0.5, 0.7, 0.9}, Horizon: 0.1, Target: []ranking.Kind{ranking.Purchase}, Resamples: 50}
	rep, err := Evaluate(context.Background(), d, []Candidate{cand}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := d.timeRange()
	h := int64(math.Round(0.1 * float64(hi-lo)))
	if len(log.fits) != 3*3 {
		t.Fatalf("%d fits, want 3 per origin (2 validation settings, 1 refit)", len(log.fits))
	}
	for o, or := range rep.Origins {
		cut := or.Cut.Unix()
		if want := cutAt(lo, hi, cfg.Origins[o]); cut != want {
			t.Errorf("origin %d: cut %d, want %d", o, cut, want)
		}
		for k, f := range log.fits[3*o : 3*o+3] {
			wantNow := cut - h // validation fits train up to cut − horizon
			if k == 2 {
				wantNow = cut // the refit trains up to the cut
			}
			if f.now != wantNow {
				t.Errorf("origin %d fit %d: now %d, want %d", o, k, f.now, wantNow)
			}
			if f.maxUnix > f.now || f.lastSignal > f.now {
				t.Errorf("origin %d fit %d: saw data up to %d (signals %d), after its now %d", o, k, f.maxUnix, f.lastSignal, f.now)
			}
			// Nothing at or before now is withheld either.
			if f.maxUnix < f.now-h/10 {
				t.Errorf("origin %d fit %d: data ends at %d, long before now %d", o, k, f.maxUnix, f.now)
			}
		}
	}

	// The test users and their relevant items, brute force.
	for o, f := range cfg.Origins {
		cut := cutAt(lo, hi, f)
		end := min(cut+h, hi)
		s := newSplit(d, cut, end, cfg.Target, false)
		hist := map[uint64]map[uint64]bool{}
		for _, in := range d.Interactions {
			if in.Unix <= cut {
				if hist[in.User] == nil {
					hist[in.User] = map[uint64]bool{}
				}
				hist[in.User][in.Item] = true
			}
		}
		want := map[uint64][]uint64{}
		for _, in := range d.Interactions {
			if in.Unix > cut && in.Unix <= end && in.Kind == ranking.Purchase && hist[in.User] != nil && !hist[in.User][in.Item] {
				if !slices.Contains(want[in.User], in.Item) {
					want[in.User] = append(want[in.User], in.Item)
				}
			}
		}
		if len(s.users) != len(want) || rep.Origins[o].TestUsers != len(want) {
			t.Fatalf("origin %v: %d test users (report %d), want %d", f, len(s.users), rep.Origins[o].TestUsers, len(want))
		}
		for _, tu := range s.users {
			var got []uint64
			for _, i := range tu.rel {
				got = append(got, s.train.Items[i].ID)
			}
			w := want[tu.id]
			slices.Sort(got)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("origin %v user %d: relevant %v, want %v", f, tu.id, got, w)
			}
		}
		for _, sig := range s.train.Signals {
			if int64(sig.Last) > cut {
				t.Fatalf("origin %v: training signal at %d after the cut %d", f, sig.Last, cut)
			}
		}
		if s.train.NumItems() != len(d.Items) {
			t.Errorf("training catalog %d items, want all %d", s.train.NumItems(), len(d.Items))
		}
	}
	if rep.TestRows != rep.Origins[0].TestUsers+rep.Origins[1].TestUsers+rep.Origins[2].TestUsers {
		t.Errorf("pooled %d rows, origins %+v", rep.TestRows, rep.Origins)
	}
}

func TestEvaluate_RejectsBadConfig(t *testing.T) {
	d := randomData(1, 100, 10, 10, 1000)
	cand := []Candidate{PopularityCandidate()}
	for _, cfg := range []Config{
		{Origins: []float64{0.05}}, // no room for validation
		{Origins: []float64{0.95}}, // no room for the test window
		{Origins: []float64{0.5}, Horizon: 1.5},
	} {
		if _, err := Evaluate(context.Background(), d, cand, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// shuffled scores at random: the floor any model must clear.
type shuffled struct{ seed uint64 }

func (s *shuffled) Fit(context.Context, *ranking.Dataset, int64) error { return nil }

func (s *shuffled) Score(u int32, dst []float64) {
	rng := rand.New(rand.NewPCG(s.seed, uint64(u)))
	for i := range dst {
		dst[i] = rng.Float64()
	}
}

// TestEvaluate_Simulator_OracleBeatsPopularity checks that the harness can
// tell models apart: on simulated data, scoring by the true affinity must
// beat popularity and random scores, with the intervals excluding zero.
// (All-time popularity is no better than random here: the simulator's
// purchases follow the lives on air, not the past's most viewed products.)
func TestEvaluate_Simulator_OracleBeatsPopularity(t *testing.T) {
	d, w, err := Simulate(5, 150000, smallWorld(5))
	if err != nil {
		t.Fatal(err)
	}
	cands := []Candidate{
		PopularityCandidate(),
		RecentPopularityCandidate(true),
		{Name: "random", New: func(Params) Recommender { return &shuffled{seed: 1} }},
		OracleCandidate(w),
	}
	rep, err := Evaluate(context.Background(), d, cands, Config{Target: []ranking.Kind{ranking.Purchase}, Baseline: "oracle", Resamples: 500})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test users per origin: %d %d %d", rep.Origins[0].TestUsers, rep.Origins[1].TestUsers, rep.Origins[2].TestUsers)
	if rep.TestUsers < 200 {
		t.Fatalf("only %d test users; the world is too small to tell models apart", rep.TestUsers)
	}
	by := map[string]ModelReport{}
	for _, m := range rep.Models {
		by[m.Name] = m
		t.Logf("%-18s NDCG %+v MRR %+v coverage %.3f", m.Name, m.NDCG, m.MRR, m.Coverage)
	}
	pop, oracle, random := by["popularity"], by["oracle"], by["random"]
	if pop.VsBaseline == nil || !(pop.VsBaseline.Hi < 0) {
		t.Errorf("popularity − oracle NDCG@10 = %+v, want an interval below 0", pop.VsBaseline)
	}
	if !(oracle.MRR.Lo > pop.MRR.Hi) {
		t.Errorf("oracle MRR %+v does not clearly beat popularity %+v", oracle.MRR, pop.MRR)
	}
	if random.VsBaseline == nil || !(random.VsBaseline.Hi < 0) || !(oracle.MRR.Lo > random.MRR.Hi) {
		t.Errorf("random does not clearly lose to the oracle: NDCG difference %+v, MRR %+v vs %+v", random.VsBaseline, random.MRR, oracle.MRR)
	}
	if oracle.VsBaseline != nil {
		t.Errorf("the baseline has a difference with itself: %+v", oracle.VsBaseline)
	}
	if !(random.Coverage > pop.Coverage) {
		t.Errorf("random coverage %v not above popularity's %v", random.Coverage, pop.Coverage)
	}
	if len(by["recent-popularity"].Params) != 3 || by["recent-popularity"].Params[0]["window"] == 0 {
		t.Errorf("recent-popularity params %v, want a tuned window per origin", by["recent-popularity"].Params)
	}
}

func TestGridAndParams(t *testing.T) {
	g := Grid(map[string][]float64{"b": {1, 2}, "a": {10, 20, 30}})
	if len(g) != 6 {
		t.Fatalf("grid %v, want 6 settings", g)
	}
	if g[0].String() != "a=10 b=1" || g[1].String() != "a=10 b=2" || g[5].String() != "a=30 b=2" {
		t.Errorf("grid order %v", g)
	}
	if (Params{}).String() != "-" || (Params{"x": 1}).Get("y", 7) != 7 {
		t.Error("empty Params")
	}
}

func TestParseTarget(t *testing.T) {
	if k, err := ParseTarget("any"); err != nil || k != nil {
		t.Errorf("any: %v %v", k, err)
	}
	if k, err := ParseTarget("purchase, chat,purchase"); err != nil || !slices.Equal(k, []ranking.Kind{ranking.Purchase, ranking.Chat}) {
		t.Errorf("list: %v %v", k, err)
	}
	if _, err := ParseTarget("buy"); err == nil {
		t.Error("buy accepted")
	}
}

// TestEvaluate_Repeats: users buy a staple every week and one new product
// now and then. Without Repeats the staple bought again is no test item;
// with it, it is relevant, the history is ranked, and buy-again, which
// puts the due staple first, beats popularity.
func TestEvaluate_Repeats(t *testing.T) {
	const day = 86400
	d := &Data{}
	for i := range 40 {
		d.Items = append(d.Items, ranking.Item{ID: uint64(100 + i), Category: "c" + string(rune('a'+i%4)), InStock: true})
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for u := range 300 {
		staple := uint64(100 + u%40)
		for w := range 20 {
			t0 := int64(1_700_000_000 + w*7*day + rng.IntN(day))
			d.Interactions = append(d.Interactions, ranking.Interaction{User: uint64(1 + u), Item: staple, Kind: ranking.Purchase, Unix: t0})
			if rng.IntN(3) == 0 {
				d.Interactions = append(d.Interactions, ranking.Interaction{User: uint64(1 + u), Item: uint64(100 + rng.IntN(40)), Kind: ranking.Purchase, Unix: t0 + 3600})
			}
		}
	}
	sortByTime(d.Interactions)
	cands := []Candidate{PopularityCandidate(), BuyAgainCandidate(true)}
	cfg := Config{Resamples: 100, Target: []ranking.Kind{ranking.Purchase}, Origins: []float64{0.8}}
	plain, err := Evaluate(context.Background(), d, cands, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Repeats = true
	rep, err := Evaluate(context.Background(), d, cands, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Repeats || rep.Origins[0].Relevant <= plain.Origins[0].Relevant {
		t.Errorf("relevant pairs %d with repeats, %d without: want more", rep.Origins[0].Relevant, plain.Origins[0].Relevant)
	}
	pop, again := rep.Models[0].NDCG.Mean, rep.Models[1].NDCG.Mean
	if again < 2*pop || again < 0.5 {
		t.Errorf("NDCG@10 with repeats: buy-again %.3f, popularity %.3f; want buy-again above 0.5 and twice popularity", again, pop)
	}
}
