package ranking

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// driftWorld makes products in triples (A_k, B_k, C_k) over 100 days. A
// user buys some A_k and, 0–20 days later, its partner: B_k for users who
// start in the first half of the timeline, C_k for those who start in the
// second (fewer of them), so counted over all time B_k goes with A_k, and
// counted with recent pairs weighing more, C_k does: what users buy now.
func driftWorld(t testing.TB, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	const triples, day = 30, int64(86400)
	b := NewBuilder()
	for k := range 3 * triples {
		b.AddItem(Item{ID: uint64(1 + k), InStock: true})
	}
	t0 := int64(1_700_000_000)
	for u := range uint64(3000) {
		k := uint64(rng.IntN(triples))
		start := rng.Int64N(50 * day)
		partner := 1 + triples + k // B_k
		if u >= 1800 {
			start += 50 * day
			partner += triples // C_k
		}
		b.Add(Interaction{User: 1 + u, Item: 1 + k, Kind: Purchase, Unix: t0 + start})
		b.Add(Interaction{User: 1 + u, Item: partner, Kind: Purchase, Unix: t0 + start + rng.Int64N(20*day)})
	}
	return b.Build()
}

func TestTrain_HoldoutChoosesEASESettings(t *testing.T) {
	d := driftWorld(t, 3)
	cfg := TrainConfig{ALS: ALSConfig{Factors: 8, Iterations: 4, Seed: 1}, BlendHoldout: 0.2, ChooseEASE: true, Seed: 1, IndexClusters: -1}
	m, err := Train(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tried := m.Blend.EASE
	if len(tried) != len(easeLambdas)+len(easeHalfLives)-1 {
		t.Fatalf("judged %d EASE settings, want %d: %+v", len(tried), len(easeLambdas)+len(easeHalfLives)-1, tried)
	}
	t.Logf("judged: %+v", tried)
	best := tried[0]
	for _, c := range tried[1:] {
		if c.NDCG > best.NDCG {
			t.Errorf("kept %+v, but %+v judged better", best, c)
		}
	}
	// Partners changed half-way: only recent pairs point to what the
	// holdout's users bought, and the decayed fit must win clearly.
	if best.HalfLife == 0 {
		t.Fatalf("kept no decay: %+v", tried)
	}
	for _, c := range tried {
		if c.HalfLife == 0 && c.Lambda == best.Lambda && c.NDCG > best.NDCG-0.1 {
			t.Errorf("decay gains %.3f NDCG@10 only (%+v against %+v)", best.NDCG-c.NDCG, best, c)
		}
	}
	// The model serves the kept setting, its half-life in the whole data's
	// timeline.
	span := float64(d.MaxUnix - d.MinUnix)
	if m.EASE.Lambda != best.Lambda || math.Abs(m.EASE.HalfLife-best.HalfLife*span) > 1 {
		t.Errorf("served EASE λ %g, half-life %gs; want %g, %gs", m.EASE.Lambda, m.EASE.HalfLife, best.Lambda, best.HalfLife*span)
	}

	cfg.ChooseEASE = false
	fixed, err := Train(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Blend.EASE != nil || fixed.EASE.Lambda != defaultEASELambda || fixed.EASE.HalfLife != 0 {
		t.Errorf("EASE not chosen: judged %+v, served λ %g half-life %g; want none, %d, 0",
			fixed.Blend.EASE, fixed.EASE.Lambda, fixed.EASE.HalfLife, defaultEASELambda)
	}
}

func TestSignalAt_KeepsThePartBeforeTheCut(t *testing.T) {
	const t0 = 1_700_000_000
	bought := Signal{Purchases: 10, DwellSec: 50, First: t0, Last: t0 + 900} // one every 100 s
	for _, tc := range []struct {
		s    Signal
		cut  int64
		want Signal
		ok   bool
	}{
		{bought, t0 + 900, bought, true},
		{bought, t0 - 1, Signal{}, false},
		{bought, t0 + 450, Signal{Purchases: 5, DwellSec: 25, First: t0, Last: t0 + 400}, true},
		{bought, t0 + 899, Signal{Purchases: 9, DwellSec: 45, First: t0, Last: t0 + 800}, true},
		{bought, t0, Signal{Purchases: 1, DwellSec: 5, First: t0, Last: t0}, true},
		// Views come before purchases: viewed before the cut and bought
		// after it is a view, with its share of the dwell time.
		{Signal{Views: 1, Purchases: 1, DwellSec: 30, First: t0, Last: t0 + 900}, t0 + 10, Signal{Views: 1, DwellSec: 15, First: t0, Last: t0}, true},
		{Signal{Views: 8, Chats: 1, Purchases: 1, First: t0, Last: t0 + 900}, t0 + 850, Signal{Views: 8, Chats: 1, First: t0, Last: t0 + 800}, true},
	} {
		got, ok := signalAt(tc.s, tc.cut)
		if got != tc.want || ok != tc.ok {
			t.Errorf("signalAt(%+v, first+%d) = %+v, %v; want %+v, %v", tc.s, tc.cut-t0, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitAt_PairsAcrossTheCutStayInThePast(t *testing.T) {
	b := NewBuilder()
	for i := uint64(1); i <= 3; i++ {
		b.AddItem(Item{ID: i, InStock: true})
	}
	const t0, cut = 1_700_000_000, 1_700_000_500
	for k := range int64(10) { // item 1: bought every 100 s across the cut
		b.Add(Interaction{User: 7, Item: 1, Kind: Purchase, Unix: t0 + 100*k})
	}
	b.Add(Interaction{User: 7, Item: 2, Kind: Purchase, Unix: t0 + 50})  // before
	b.Add(Interaction{User: 7, Item: 3, Kind: Purchase, Unix: t0 + 700}) // after
	past, fut := SplitAt(b.Build(), cut, 0, 1)
	u, ok := past.UserIndex(7)
	if !ok {
		t.Fatal("user 7 not in the past")
	}
	items, sigs := past.UserRow(u)
	got := map[uint64]uint16{}
	for k, i := range items {
		got[past.Items[i].ID] = sigs[k].Purchases
	}
	if len(got) != 2 || got[1] != 6 || got[2] != 1 {
		t.Errorf("past purchases by item %v; want item 1: 6 (those at or before the cut), item 2: 1", got)
	}
	if f := fut[7]; len(f) != 1 || past.Items[f[0].Item].ID != 3 {
		t.Errorf("future %+v; want item 3 only", f)
	}
}
