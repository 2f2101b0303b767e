package ranking

import (
	"strconv"
	"strings"
	"unsafe"
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
func (m *Model) reason(c *cand, usr *user, sc *scratch, mean Features, ar *strArena) string {
	cr := m.catReasons(c.item)
	if c.fresh {
		return cr[reasonNew]
	}
	if c.restock {
		return ReasonRestock
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
	w := m.Blend.For(len(usr.exclude))
	for k := range NumFeatures {
		contrib[k] = w[k] * (c.f[k] - mean[k])
		if contrib[k] > bestV {
			best, bestV = k, contrib[k]
		}
	}
	// "Because you viewed X" names the product behind it: preferred when
	// the neighbour or EASE feature explains at least half as much as the
	// strongest feature.
	if best >= 0 && max(contrib[FeatNeighbour], contrib[FeatEASE]) >= bestV/2 {
		best = FeatNeighbour
	}
	switch best {
	case FeatNeighbour, FeatEASE:
		if sc.nb[c.item].best > 0 {
			h := sc.nb[c.item].from - 1
			prefix := "because you viewed "
			if usr.bought[h] {
				prefix = "because you bought "
			}
			if t := m.Data.Items[h].Title; t != "" {
				return ar.concat(prefix, t)
			}
			return ar.concatID(prefix, "product ", m.Data.Items[h].ID)
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

// strArena makes a request's reason strings with few allocations: each
// string is appended to a chunk that is never written again where the
// string lies, so the string stays valid as long as anything refers to
// it; a full chunk is left to the strings made in it and a new one begun.
type strArena struct{ buf []byte }

// arenaChunk is the size of a chunk: the reasons of about 20 products.
const arenaChunk = 1 << 10

// room makes room for n more bytes.
func (a *strArena) room(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
}

// str returns the bytes appended since start as a string.
func (a *strArena) str(start int) string {
	if len(a.buf) == start {
		return ""
	}
	return unsafe.String(&a.buf[start], len(a.buf)-start)
}

// concat returns s1+s2.
func (a *strArena) concat(s1, s2 string) string {
	a.room(len(s1) + len(s2))
	start := len(a.buf)
	a.buf = append(append(a.buf, s1...), s2...)
	return a.str(start)
}

// concatID returns s1+s2 followed by id in decimal.
func (a *strArena) concatID(s1, s2 string, id uint64) string {
	a.room(len(s1) + len(s2) + 20)
	start := len(a.buf)
	a.buf = strconv.AppendUint(append(append(a.buf, s1...), s2...), id, 10)
	return a.str(start)
}

// ReasonRestock is the reason of a product the user bought, offered again
// because a restock is due.
const ReasonRestock = "time to restock"

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
