package matching

import (
	"fmt"
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// predictWorld is the base world plus influencers that stand out: a
// strong and a weak seller, a falling one, one without lives.
func predictWorld() *world {
	w := baseWorld()
	const strong, weak, falling, newcomer = 600, 601, 602, 603
	for _, id := range []uint64{strong, weak, falling} {
		w.influencer(id, 70000, "IT", 350, "fashion")
		w.audience(id, map[string]float64{"beauty": 25, "electronics": 25, "fashion": 25, "kitchenware": 25})
	}
	w.influencer(newcomer, 30000, "FR", 150, "beauty")
	for l := range 20 {
		age := time.Duration(3*l)*day + time.Hour
		reach := uint64(baseReach(70000) * spread[l%5])
		w.live(strong, plain(age, reach, evenConv(2.5*baseConv)))
		w.live(weak, plain(age, reach, evenConv(0.4*baseConv)))
		if l < 8 {
			// 4 lives in the last 30 days at a third of the reach of the
			// 4 before.
			r := uint64(baseReach(70000))
			if l < 4 {
				r /= 3
			}
			w.live(falling, plain(time.Duration(8*l)*day+time.Hour, r, evenConv(baseConv)))
		}
	}
	return w
}

// TestPredict_ConsistentWithFactors checks every prediction of every brand
// with every influencer against its parts: ordered quantiles of a
// right-skewed distribution whose CDF puts 10 %, 50 % and 90 % at them,
// GMV = orders × order value = reach × conversion × order value, profit
// and ROI by their formulas from GMV, P50, fee and commission.
func TestPredict_ConsistentWithFactors(t *testing.T) {
	m := predictWorld().build(t)
	n := 0
	for _, b := range m.brands {
		for _, inf := range m.influencers {
			mo := m.moments(b, inf)
			for _, c := range []float64{0, DefaultCommission, 0.6} {
				p := m.Predict(b, inf, c)
				where := fmt.Sprintf("brand %d, influencer %d, commission %v: %+v", b.ID, inf.ID, c, p)
				if b.Products == 0 {
					if p.GMV != 0 || p.P90 != 0 || p.Orders != 0 {
						t.Errorf("%s: a brand without products sells nothing", where)
					}
					continue
				}
				n++
				if !(0 < p.P10 && p.P10 < p.P50 && p.P50 < p.P90) {
					t.Errorf("%s: quantiles not increasing", where)
				}
				// A Gamma's median lies below its mean.
				if p.P50 > p.GMV+0.01 {
					t.Errorf("%s: median above the mean", where)
				}
				if !near(p.GMV, round2(mo.mean), 1e-9) {
					t.Errorf("%s: GMV is not the mean %v", where, mo.mean)
				}
				f := p.Factors
				if tol := 0.005*(f.OrderValue+p.Orders) + 0.01; !near(p.GMV, p.Orders*f.OrderValue, tol) {
					t.Errorf("%s: GMV ≠ orders × order value = %v", where, p.Orders*f.OrderValue)
				}
				if tol := p.GMV*(0.00005/f.Conversion+0.005/f.Reach+0.005/f.OrderValue) + 0.01; !near(p.GMV, f.Reach*f.Conversion*f.OrderValue, tol) {
					t.Errorf("%s: GMV ≠ reach × conversion × order value = %v", where, f.Reach*f.Conversion*f.OrderValue)
				}
				if !near(p.Orders, f.Reach*f.Conversion, 0.005+0.00005*f.Reach+0.005*f.Conversion) {
					t.Errorf("%s: orders ≠ reach × conversion", where)
				}
				if f.Reach != round2(inf.Reach) || f.Skill != round2(inf.Skill) || f.Authenticity != inf.Authenticity || p.Fee != inf.Fee {
					t.Errorf("%s: factors differ from the profile %+v", where, inf)
				}
				if !near(p.Profit, p.GMV*(1-c)-p.Fee, 0.011) {
					t.Errorf("%s: profit ≠ GMV·(1−c) − fee = %v", where, p.GMV*(1-c)-p.Fee)
				}
				switch {
				case p.Fee == 0 && p.ROI != nil:
					t.Errorf("%s: ROI %v without a fee", where, *p.ROI)
				case p.Fee > 0 && p.ROI == nil:
					t.Errorf("%s: no ROI with a fee", where)
				case p.Fee > 0 && !near(*p.ROI, (p.P50*(1-c)-p.Fee)/p.Fee, 0.0005+1e-9):
					t.Errorf("%s: ROI %v ≠ (P50·(1−c) − fee)/fee = %v", where, *p.ROI, (p.P50*(1-c)-p.Fee)/p.Fee)
				}
				// The quantiles are those of the Gamma with the
				// prediction's mean and variance, checked through its CDF.
				g := distuv.Gamma{Alpha: mo.mean * mo.mean / mo.variance, Beta: mo.mean / mo.variance}
				for _, q := range []struct{ x, p float64 }{{p.P10, 0.1}, {p.P50, 0.5}, {p.P90, 0.9}} {
					// P rounded to cents moves the CDF by at most its
					// density × 0.005.
					if got := g.CDF(q.x); !near(got, q.p, 0.005*g.Prob(q.x)+1e-6) {
						t.Errorf("%s: CDF(%v) = %v, want %v", where, q.x, got, q.p)
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d predictions checked", n)
	}
}

// TestPredict_CommissionFeeAndEmptyBrand: the commission moves profit and
// ROI, never the GMV; a brand without products predicts nothing, at a
// loss of the whole fee.
func TestPredict_CommissionFeeAndEmptyBrand(t *testing.T) {
	m := predictWorld().build(t)
	b := mustBrand(t, m, brandKitchen)
	inf := mustInfluencer(t, m, 600)
	p0, p1 := m.Predict(b, inf, 0), m.Predict(b, inf, 0.5)
	if p0.GMV != p1.GMV || p0.P50 != p1.P50 || p0.Factors != p1.Factors {
		t.Errorf("commission changed the sales: %+v vs %+v", p0, p1)
	}
	if !(p1.Profit < p0.Profit && *p1.ROI < *p0.ROI) {
		t.Errorf("a higher commission must lower profit and ROI: %+v vs %+v", p0, p1)
	}
	noFee := mustInfluencer(t, m, firstBackground+3)
	if noFee.Fee != 0 {
		t.Fatalf("influencer %d has fee %v; the base world gives every 4th none", noFee.ID, noFee.Fee)
	}
	if p := m.Predict(b, noFee, DefaultCommission); p.ROI != nil || !near(p.Profit, p.GMV*(1-DefaultCommission), 0.011) {
		t.Errorf("without a fee: %+v", p)
	}

	none := mustBrand(t, m, brandNone)
	p := m.Predict(none, inf, DefaultCommission)
	if p.GMV != 0 || p.P10 != 0 || p.P50 != 0 || p.P90 != 0 || p.Orders != 0 || p.ROI == nil || *p.ROI != -1 || p.Profit != -inf.Fee {
		t.Errorf("brand without products: %+v, ROI %v", p, p.ROI)
	}
}

// TestReasons_SkillTrendAndNewcomer: the reasons name what stands out.
func TestReasons_SkillTrendAndNewcomer(t *testing.T) {
	m := predictWorld().build(t)
	b := mustBrand(t, m, brandVolt)
	reasons := func(id uint64) (*Influencer, []string) {
		inf := mustInfluencer(t, m, id)
		return inf, m.Reasons(b, inf, m.Predict(b, inf, DefaultCommission))
	}
	if inf, r := reasons(600); inf.Skill < 1.3 || !hasReason(r, fmt.Sprintf("convert %.1f× what their audience predicts", inf.Skill)) {
		t.Errorf("strong seller (skill %v): %q", inf.Skill, r)
	}
	if inf, r := reasons(601); inf.Skill > 0.75 || !hasReason(r, "below what their audience predicts") {
		t.Errorf("weak seller (skill %v): %q", inf.Skill, r)
	}
	if inf, r := reasons(602); inf.Trend > 0.7 || inf.Trend <= 0 || !hasReason(r, fmt.Sprintf("down %.0f%%", (1-inf.Trend)*100)) {
		t.Errorf("falling (trend %v): %q", inf.Trend, r)
	}
	if inf, r := reasons(603); !hasReason(r, "no lives yet", humanCount(float64(inf.Followers))) || hasReason(r, "real viewer visits") {
		t.Errorf("newcomer: %q", r)
	}
	if inf, r := reasons(firstBackground + 5); !hasReason(r, "about "+humanCount(inf.Reach)+" real viewer visits per live") || len(r) != 1 {
		t.Errorf("ordinary influencer (skill %v, trend %v): %q; want only the reach", inf.Skill, inf.Trend, r)
	}
}

func TestHumanCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1k", 1500: "1.5k", 12345: "12k", 999999: "1000k", 1e6: "1M", 2.25e6: "2.2M"} {
		if got := humanCount(v); got != want {
			t.Errorf("humanCount(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestGammaQuantiles: against a bisection of the Gamma CDF over shapes
// from 10⁻³ to 10⁸, and degenerate inputs answered at once (a NaN shape
// used to loop forever in gonum's quantile search).
func TestGammaQuantiles(t *testing.T) {
	for _, shape := range []float64{1e-3, 0.05, 0.5, 1, 3, 30, 1e3, 1e5, 1e8} {
		mean := 1500.0
		variance := mean * mean / shape
		p10, p50, p90 := gammaQuantiles(mean, variance)
		g := distuv.Gamma{Alpha: shape, Beta: mean / variance}
		for _, q := range []struct{ got, p float64 }{{p10, 0.1}, {p50, 0.5}, {p90, 0.9}} {
			lo, hi := 0.0, mean
			for g.CDF(hi) < q.p {
				hi *= 2
			}
			for range 200 {
				mid := (lo + hi) / 2
				if g.CDF(mid) < q.p {
					lo = mid
				} else {
					hi = mid
				}
			}
			if !near(q.got, round2(lo), 0.011+1e-9*lo) {
				t.Errorf("shape %v: quantile %v = %v, want %v", shape, q.p, q.got, round2(lo))
			}
		}
		if !(p10 <= p50 && p50 <= p90 && p50 <= mean) {
			t.Errorf("shape %v: %v %v %v", shape, p10, p50, p90)
		}
	}
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct{ mean, variance float64 }{
		{0, 1}, {-5, 1}, {nan, 1}, {nan, nan}, {100, nan}, {100, 0}, {100, -1}, {100, inf}, {inf, 1}, {1e-300, 1e300},
	} {
		done := make(chan [3]float64, 1)
		go func() {
			a, b, c := gammaQuantiles(c.mean, c.variance)
			done <- [3]float64{a, b, c}
		}()
		select {
		case q := <-done:
			for _, v := range q {
				if !finite(v) || v < 0 {
					t.Errorf("gammaQuantiles(%v, %v) = %v", c.mean, c.variance, q)
				}
			}
			if !(q[0] <= q[1] && q[1] <= q[2]) {
				t.Errorf("gammaQuantiles(%v, %v) = %v: not ordered", c.mean, c.variance, q)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("gammaQuantiles(%v, %v) does not return", c.mean, c.variance)
		}
	}
}
