package ranking

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
)

// Settings of the conversion priors.
const (
	// conversionMinViewers is how many viewers an item needs to take part
	// in fitting its category's prior.
	conversionMinViewers = 20
	// conversionMinItems is how many such items a category needs for a
	// prior of its own; others use the global prior.
	conversionMinItems = 5
	// conversionMaxStrength caps a+b: a prior never weighs more than 200
	// viewers, so a well-observed item escapes its category, and a
	// near-zero variance between items does not make the prior absolute.
	conversionMaxStrength = 200
	// conversionMinStrength floors a+b so that a very dispersed category
	// still shrinks a little.
	conversionMinStrength = 2
)

// Conversion is the Beta-smoothed purchase rate of every item. An item's
// viewers are the users with any interaction with it and its buyers those
// with at least one purchase; its rate is the posterior mean under a
// Beta(a, b) prior fitted to its category. The fields are exported so that
// encoding/gob can snapshot it.
type Conversion struct {
	Rate []float64 // per dense item: (buyers + a) / (viewers + a + b)

	Viewers, Buyers []float64 // per dense item, as counted when built
	Category        []int32   // per dense item: index into PriorA/PriorB, -1 for the global prior

	// PriorA and PriorB are the Beta prior of each category index
	// (Dataset.Categories). A category with fewer than 5 items with at
	// least 20 viewers has the global prior.
	PriorA, PriorB []float64

	// GlobalA and GlobalB are the prior fitted over all items, used for
	// items without a category and for sparse categories.
	GlobalA, GlobalB float64
}

// BuildConversion counts viewers and buyers per item of d, fits the priors
// by the method of moments and computes every item's posterior mean.
//
// The method of moments corrects for binomial noise: with m and v the mean
// and variance of the observed rates of items with at least 20 viewers,
// and h the mean of 1/viewers over them, the spread of the true rates is
// σ² = (v − m(1−m)h) / (1 − h), and a + b = m(1−m)/σ² − 1, clamped to
// [2, 200]. With too few such items overall the global prior is the pooled
// rate (buyers+1)/(viewers+2) with a + b = 2.
func BuildConversion(d *Dataset) *Conversion {
	n := d.NumItems()
	c := &Conversion{
		Rate:     make([]float64, n),
		Viewers:  make([]float64, n),
		Buyers:   make([]float64, n),
		Category: append([]int32(nil), d.ItemCategory...),
		PriorA:   make([]float64, len(d.Categories)),
		PriorB:   make([]float64, len(d.Categories)),
	}
	for k, it := range d.UserItems {
		c.Viewers[it]++
		if d.Signals[k].Purchases > 0 {
			c.Buyers[it]++
		}
	}

	var all betaMoments
	cats := make([]betaMoments, len(d.Categories))
	for i := range n {
		if c.Viewers[i] < conversionMinViewers {
			continue
		}
		all.add(c.Buyers[i], c.Viewers[i])
		if cat := c.Category[i]; cat >= 0 {
			cats[cat].add(c.Buyers[i], c.Viewers[i])
		}
	}
	var ok bool
	c.GlobalA, c.GlobalB, ok = all.fit()
	if !ok {
		m := (floats.Sum(c.Buyers) + 1) / (floats.Sum(c.Viewers) + 2)
		c.GlobalA, c.GlobalB = m*conversionMinStrength, (1-m)*conversionMinStrength
	}
	for cat := range cats {
		a, b, ok := cats[cat].fit()
		if !ok {
			a, b = c.GlobalA, c.GlobalB
		}
		c.PriorA[cat], c.PriorB[cat] = a, b
	}
	for i := range n {
		a, b := c.Prior(int32(i))
		c.Rate[i] = (c.Buyers[i] + a) / (c.Viewers[i] + a + b)
	}
	return c
}

// Prior returns the Beta prior item i's rate is shrunk toward: its
// category's, or the global one for items without a category or outside c.
func (c *Conversion) Prior(i int32) (a, b float64) {
	if i >= 0 && int(i) < len(c.Category) {
		if cat := c.Category[i]; cat >= 0 && int(cat) < len(c.PriorA) {
			return c.PriorA[cat], c.PriorB[cat]
		}
	}
	return c.GlobalA, c.GlobalB
}

// betaMoments collects the observed rates of a group of items.
type betaMoments struct {
	rates []float64
	invN  float64 // Σ 1/viewers
}

func (m *betaMoments) add(buyers, viewers float64) {
	m.rates = append(m.rates, buyers/viewers)
	m.invN += 1 / viewers
}

// fit returns the method-of-moments Beta prior, or false with too few
// items.
func (m *betaMoments) fit() (a, b float64, ok bool) {
	if len(m.rates) < conversionMinItems {
		return 0, 0, false
	}
	mean, v := stat.MeanVariance(m.rates, nil)
	// Keep the mean off 0 and 1 so that both shapes stay positive.
	mean = math.Min(math.Max(mean, 1e-4), 1-1e-4)
	h := m.invN / float64(len(m.rates))
	spread := (v - mean*(1-mean)*h) / (1 - h)
	strength := float64(conversionMaxStrength)
	if spread > 0 {
		strength = math.Min(math.Max(mean*(1-mean)/spread-1, conversionMinStrength), conversionMaxStrength)
	}
	return mean * strength, (1 - mean) * strength, true
}
