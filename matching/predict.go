package matching

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// Prediction is what one sponsored live of a brand with an influencer is
// expected to sell, with its spread and the factors behind it.
type Prediction struct {
	// GMV is the expected GMV (EUR); P10, P50 and P90 its quantiles.
	GMV float64 `json:"gmv"`
	P10 float64 `json:"p10"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	// Orders is the expected number of orders.
	Orders float64 `json:"orders"`
	// Fee is the influencer's fee (0 = unknown); ROI is (GMV·(1 −
	// commission) − fee) / fee at P50, nil when the fee is unknown or
	// below a cent (an ROI divided by a negligible fee means nothing).
	Fee float64  `json:"fee"`
	ROI *float64 `json:"roi,omitempty"`
	// Profit is the brand's expected GMV·(1 − commission) − fee.
	Profit  float64 `json:"profit"`
	Factors Factors `json:"factors"`
}

// Factors multiply into the prediction: GMV = Reach × Conversion ×
// OrderValue, where Conversion = base rate × Affinity × Skill × Quality.
type Factors struct {
	// Reach is the expected views by real viewers in one live.
	Reach float64 `json:"reach"`
	// Affinity is how much more the audience buys the brand's categories
	// than the average live viewer's (1 = average): the audience's category
	// share over the average share, to the power Model.AffinityExponent.
	Affinity float64 `json:"affinity"`
	// Skill is the influencer's conversion relative to what their
	// audience predicts (1 = average).
	Skill float64 `json:"skill"`
	// Quality is how the brand's products convert against their
	// categories in the shop (1 = average).
	Quality float64 `json:"quality"`
	// Conversion is the expected orders per real view.
	Conversion float64 `json:"conversion"`
	// OrderValue is the expected GMV per order (EUR).
	OrderValue float64 `json:"order_value"`
	// Authenticity is the influencer's (1 = no sign of fake audience);
	// reach already counts only real viewers.
	Authenticity float64 `json:"authenticity"`
}

// DefaultCommission is the share of GMV the brand does not keep (platform
// and influencer commission) when a request gives none.
const DefaultCommission = 0.25

// Predict predicts one sponsored live of b with inf. commission is the
// share of GMV the brand does not keep.
func (m *Model) Predict(b *Brand, inf *Influencer, commission float64) Prediction {
	mo := m.moments(b, inf)
	p := Prediction{Fee: inf.Fee}
	p.Factors = Factors{Reach: round2(inf.Reach), Affinity: round2(mo.affinity), Skill: round2(inf.Skill), Quality: round2(mo.quality),
		Conversion: round4(mo.conversion), OrderValue: round2(mo.orderValue), Authenticity: inf.Authenticity}
	p.GMV, p.Orders = round2(mo.mean), round2(mo.orders)
	p.P10, p.P50, p.P90 = gammaQuantiles(mo.mean, mo.variance)
	p.Profit = round2(mo.mean*(1-commission) - p.Fee)
	p.ROI = roi(p.P50*(1-commission), p.Fee)
	return p
}

// moments are a prediction's mean and variance and the factors behind.
type moments struct {
	mean, variance                 float64
	orders, conversion, orderValue float64
	affinity, quality              float64
}

// moments computes the expected GMV of one sponsored live of b with inf
// and its variance.
func (m *Model) moments(b *Brand, inf *Influencer) moments {
	var mo moments
	// Orders per real view, and the first two moments of an order's
	// value, over the brand's category mix.
	var ov, ov2 float64
	for c, share := range b.mix {
		if share == 0 {
			continue
		}
		prior := inf.Skill * m.base[c] * inf.effAff[c]
		rate := (categoryPrior*prior + inf.catOrders[c]) / (categoryPrior + inf.catViews[c])
		cc := share * rate * b.quality[c]
		mo.conversion += cc
		mo.affinity += share * inf.effAff[c]
		mo.quality += share * b.quality[c]
		// An order is units × price: units ≥ 1 with mean unitsMean and,
		// as 1 + Poisson, variance unitsMean − 1.
		price := b.price[c]
		u, uVar := m.unitsMean, m.unitsMean-1
		ov += cc * u * price
		ov2 += cc * (uVar + u*u) * (b.priceVar[c] + price*price)
	}
	if mo.conversion <= 0 || inf.Reach <= 0 {
		return mo
	}
	mo.orderValue = ov / mo.conversion
	orderVar := math.Max(0, ov2/mo.conversion-mo.orderValue*mo.orderValue)
	// Orders N given views V ~ (Reach, cv2·Reach² + the mean's
	// uncertainty) and conversion π with relative variance 1/skillShape
	// (what we know of the influencer) + convPhi (how one live differs):
	// E[N] = E[V]π, Var[N] = E[V]π + π²Var[V] + E[V]²π²(1/shape + convPhi).
	ev := inf.Reach
	vv := m.cv2*ev*ev + inf.reachVar
	relConv := 1 / math.Max(1, inf.skillShape)
	mo.orders = ev * mo.conversion
	// Plus one live's own conversion spread (m.convPhi·π² beyond Poisson).
	vn := mo.orders + mo.conversion*mo.conversion*vv + mo.orders*mo.orders*(relConv+m.convPhi)
	mo.mean = mo.orders * mo.orderValue
	mo.variance = mo.orders*orderVar + mo.orderValue*mo.orderValue*vn
	return mo
}

func roi(net, fee float64) *float64 {
	if !knownFee(fee) {
		return nil
	}
	r := (net - fee) / fee
	if !finite(r) {
		return nil
	}
	r = round3(r)
	return &r
}

// gammaQuantiles returns P10, P50 and P90 of the Gamma distribution with
// the given mean and variance: positive, right-skewed like the GMV of a
// live, and exact in its first two moments.
func gammaQuantiles(mean, variance float64) (p10, p50, p90 float64) {
	return gammaQuantile(mean, variance, 0.1), gammaQuantile(mean, variance, 0.5), gammaQuantile(mean, variance, 0.9)
}

// gammaQuantile returns the p-quantile, rounded to cents, of the Gamma
// distribution with the given mean and variance. It never exceeds the
// mean for p ≤ 0.5 (a Gamma's median lies below its mean), up to the
// rounding, which is what Rank prunes with.
func gammaQuantile(mean, variance, p float64) float64 {
	// Only finite, positive shapes reach distuv: its quantile search
	// loops forever on a NaN shape and panics on a zero one.
	if !(mean > 0) || math.IsInf(mean, 1) {
		return 0
	}
	if !(variance > 0) {
		return round2(mean)
	}
	alpha := mean * mean / variance
	if !(alpha > 0) {
		return 0 // the limit of a vanishing shape
	}
	return round2(distuv.Gamma{Alpha: alpha, Beta: mean / variance}.Quantile(p))
}

// Reasons says in a few words why inf suits b (or not), from the factors
// that stand out.
func (m *Model) Reasons(b *Brand, inf *Influencer, p Prediction) []string {
	out := []string{}
	if h, ok := inf.sponsored[b.ID]; ok {
		out = append(out, fmt.Sprintf("ran %d sponsored live(s) for this brand: €%.0f GMV", h.lives, h.gmv))
	}
	// The brand's main category.
	main, share := -1, 0.0
	for c, s := range b.mix {
		if s > share {
			main, share = c, s
		}
	}
	// The model's estimates (audience, skill, reach) pool every live, also
	// those the caller may not see (Model.View): hasLives says there are
	// some; figures of lives (authenticity, trend) are the caller's.
	hasLives := inf.Lives > 0 || len(inf.groups) > 0
	if main >= 0 && hasLives {
		switch a := inf.affinity[main]; {
		case a >= 1.5:
			out = append(out, fmt.Sprintf("their viewers browse %s %.1f× more than the average live viewer", m.Categories[main], a))
		case a <= 0.6:
			out = append(out, fmt.Sprintf("their viewers browse %s less than average (%.1f×)", m.Categories[main], a))
		}
	}
	switch {
	case !hasLives:
		out = append(out, fmt.Sprintf("no lives yet: reach estimated from %s followers", humanCount(float64(inf.Followers))))
	case inf.Skill >= 1.3:
		out = append(out, fmt.Sprintf("their lives convert %.1f× what their audience predicts", inf.Skill))
	case inf.Skill <= 0.75:
		out = append(out, fmt.Sprintf("their lives convert below what their audience predicts (%.1f×)", inf.Skill))
	}
	if hasLives {
		out = append(out, fmt.Sprintf("about %s real viewer visits per live", humanCount(inf.Reach)))
	}
	if inf.Authenticity < 0.85 && inf.Lives > 0 {
		out = append(out, fmt.Sprintf("audience looks partly fake (authenticity %.2f)", inf.Authenticity))
	}
	if inf.Trend >= 1.3 {
		out = append(out, fmt.Sprintf("GMV per live up %.0f%% in the last 30 days", (inf.Trend-1)*100))
	} else if inf.Trend > 0 && inf.Trend <= 0.7 {
		out = append(out, fmt.Sprintf("GMV per live down %.0f%% in the last 30 days", (1-inf.Trend)*100))
	}
	return out
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e6), ".0") + "M"
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e3), ".0") + "k"
	}
	return fmt.Sprintf("%.0f", v)
}
