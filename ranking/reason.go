package ranking

import (
	"strconv"
	"strings"
)

// meanFeatures is the candidates' average, which reason compares a
// candidate's features with.
func meanFeatures(cands []cand) Features {
	var mean Features
	if len(cands) == 0 {
		return mean
	}
	for k := range cands {
		for j := range NumFeatures {
			mean[j] += cands[k].f[j]
		}
	}
	for j := range NumFeatures {
		mean[j] /= float64(len(cands))
	}
	return mean
}

// reason says in a few words why c is in the feed: the live it is on, or
// the feature contributing most above the candidates' average.
func (m *Model) reason(c *cand, usr *user, sc *scratch, mean Features) string {
	cr := m.catReasons(c.item)
	if c.fresh {
		return cr[reasonNew]
	}
	if c.live != 0 {
		h := m.Handles[c.live]
		if h == "" {
			h = "influencer " + strconv.FormatUint(c.live, 10)
		}
		return "live now with @" + strings.TrimPrefix(h, "@")
	}
	best, bestV := -1, 0.0
	var contrib Features
	for k := range NumFeatures {
		contrib[k] = m.Blend.Weights[k] * (c.f[k] - mean[k])
		if contrib[k] > bestV {
			best, bestV = k, contrib[k]
		}
	}
	// "Because you viewed X" names the product behind it: preferred when
	// it explains at least half as much as the strongest feature.
	if best >= 0 && contrib[FeatNeighbour] >= bestV/2 {
		best = FeatNeighbour
	}
	switch best {
	case FeatNeighbour:
		if sc.nb[c.item].score > 0 {
			h := sc.nb[c.item].from
			verb := "viewed"
			if usr.bought[h] {
				verb = "bought"
			}
			t := m.Data.Items[h].Title
			if t == "" {
				t = "product " + strconv.FormatUint(m.Data.Items[h].ID, 10)
			}
			return "because you " + verb + " " + t
		}
	case FeatFactor, FeatCategory:
		return cr[reasonTaste]
	case FeatConversion:
		return "often bought after a look"
	case FeatRecent:
		return cr[reasonRecent]
	}
	return cr[reasonTrending]
}

// The reasons that name a category, made once per category (catReasons).
const (
	reasonNew = iota
	reasonTaste
	reasonRecent
	reasonTrending
	numCatReasons
)

func categoryReasons(cat string) [numCatReasons]string {
	return [...]string{reasonNew: "new in " + cat, reasonTaste: "matches your taste in " + cat,
		reasonRecent: "popular right now in " + cat, reasonTrending: "trending in " + cat}
}

// catReasons returns the category reasons of item i.
func (m *Model) catReasons(i int32) *[numCatReasons]string {
	if c := m.item[i].cat; c >= 0 && int(c) < len(m.reasons)-1 {
		return &m.reasons[c]
	}
	return &m.reasons[len(m.reasons)-1] // no category
}
