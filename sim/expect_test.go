package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOracleLiveMatchesGenerator checks that the Oracle's expectations of
// the lives the generator scheduled are exactly what the generator
// recorded: both run the same code.
func TestOracleLiveMatchesGenerator(t *testing.T) {
	w := smallWorld(t, 31)
	g := NewGenerator(w, 3, testStart)
	for len(g.Lives()) < 40 {
		g.Next()
	}
	o := w.NewOracle()
	for _, l := range g.Lives() {
		e, err := o.Live(l.InfluencerID, l.ProductIDs, l.Duration)
		if err != nil {
			t.Fatal(err)
		}
		if e.Viewers != l.ExpectedViewers || e.Purchases != l.ExpectedPurchases || e.GMV != l.TrueExpectedGMV {
			t.Errorf("live %d: oracle %+v, generator %v %v %v", l.ID, e, l.ExpectedViewers, l.ExpectedPurchases, l.TrueExpectedGMV)
		}
	}
	if _, err := o.Live(0, nil, time.Hour); err == nil {
		t.Error("unknown influencer: no error")
	}
	if _, err := o.Live(1, []uint64{uint64(len(w.Products) + 1)}, time.Hour); err == nil {
		t.Error("unknown product: no error")
	}
}

func TestMeanLiveDuration(t *testing.T) {
	if MeanLiveDuration != 67*time.Minute+30*time.Second {
		t.Errorf("MeanLiveDuration = %v, want 67m30s", MeanLiveDuration)
	}
}

// TestSponsoredInclusionMatchesSampling compares the exact expected slot
// shares with the generator's own draw (k in 3..8, pickDistinct).
func TestSponsoredInclusionMatchesSampling(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{2, 3, 5, 10, 25} {
		appeal := make([]float64, n)
		for j := range appeal {
			appeal[j] = logNormalMean(r, 1, 0.8)
		}
		exact := sponsoredInclusion(appeal)
		var sum float64
		for _, x := range exact {
			sum += x
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("n=%d: shares sum to %v, want 1", n, sum)
		}
		const draws = 200000
		mc := make([]float64, n)
		for range draws {
			k := minSponsoredProducts + r.IntN(sponsoredExtra)
			s := pickDistinct(r, appeal, k)
			for _, j := range s {
				mc[j] += 1 / float64(len(s)) / draws
			}
		}
		for j := range exact {
			// Binomial noise of the Monte Carlo share: sd ≤ sqrt(x/3/draws).
			if tol := 4*math.Sqrt(exact[j]/3/draws) + 1e-4; math.Abs(exact[j]-mc[j]) > tol {
				t.Errorf("n=%d product %d (appeal %.2f): exact share %.5f, sampled %.5f", n, j, appeal[j], exact[j], mc[j])
			}
		}
	}
}

// TestOracleSponsoredGMV checks SponsoredGMV against the mean of the exact
// expectations of sampled sponsored lives, and its linearity in duration.
func TestOracleSponsoredGMV(t *testing.T) {
	w := smallWorld(t, 32)
	o := w.NewOracle()
	r := rand.New(rand.NewPCG(1, 2))
	for _, pair := range [][2]uint64{{1, 1}, {7, 3}, {12, 40}, {33, 60}} {
		b, in := pair[0], pair[1]
		got := o.SponsoredGMV(b, in, 0)
		if got <= 0 {
			t.Fatalf("brand %d influencer %d: SponsoredGMV = %v", b, in, got)
		}
		bp := w.idx.brandProducts[b-1]
		appeal := make([]float64, len(bp))
		for j, pi := range bp {
			appeal[j] = w.Products[pi].Appeal
		}
		const draws = 20000
		var mean float64
		for range draws {
			var ids []uint64
			for _, j := range pickDistinct(r, appeal, minSponsoredProducts+r.IntN(sponsoredExtra)) {
				ids = append(ids, uint64(bp[j])+1)
			}
			e, err := o.Live(in, ids, MeanLiveDuration)
			if err != nil {
				t.Fatal(err)
			}
			mean += e.GMV / draws
		}
		if math.Abs(got-mean) > 0.02*mean {
			t.Errorf("brand %d influencer %d: SponsoredGMV %.2f, sampled mean %.2f", b, in, got, mean)
		}
		if h := o.SponsoredGMV(b, in, 2*MeanLiveDuration); math.Abs(h-2*got) > 1e-9*got {
			t.Errorf("brand %d influencer %d: twice the duration gives %v, want %v", b, in, h, 2*got)
		}
	}
	if o.SponsoredGMV(0, 1, 0) != 0 || o.SponsoredGMV(1, 0, 0) != 0 {
		t.Error("unknown ids: want 0")
	}
}
