package ranking

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// NeighbourConfig configures BuildNeighbours. Zero fields take the
// documented defaults.
type NeighbourConfig struct {
	PerItem      int     // neighbours kept per item; default 50
	MaxUserItems int     // per user only the most recent (by Signal.Last) items count; default 100
	MaxItemUsers int     // per item only its most recent users are walked; default 2000
	Shrink       float64 // added to the cosine denominator; default 10
	Weights      Weights // zero value → DefaultWeights()
	Workers      int     // goroutines; default runtime.GOMAXPROCS(0)
}

func (c NeighbourConfig) withDefaults() (NeighbourConfig, error) {
	if c.PerItem < 0 || c.MaxUserItems < 0 || c.MaxItemUsers < 0 || c.Shrink < 0 || c.Workers < 0 {
		return c, fmt.Errorf("neighbour config %+v: negative field", c)
	}
	if c.PerItem == 0 {
		c.PerItem = 50
	}
	if c.MaxUserItems == 0 {
		c.MaxUserItems = 100
	}
	if c.MaxItemUsers == 0 {
		c.MaxItemUsers = 2000
	}
	if c.Shrink == 0 {
		c.Shrink = 10
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights()
	}
	c.Workers = modelWorkers(c.Workers)
	return c, nil
}

// Neighbours holds, for every dense item, its most similar items by
// co-occurrence. Item i's list is Items[Ptr[i]:Ptr[i+1]] with similarities
// Sims in the same range, most similar first. The fields are exported so
// that encoding/gob can snapshot it.
type Neighbours struct {
	PerItem int
	Ptr     []int32
	Items   []int32
	Sims    []float32
}

// Of returns item i's neighbours, most similar first (ties by item index),
// never i itself. Both slices alias n: do not modify them. An item outside
// n has no neighbours.
func (n *Neighbours) Of(i int32) (items []int32, sims []float32) {
	if i < 0 || int(i) >= len(n.Ptr)-1 {
		return nil, nil
	}
	lo, hi := n.Ptr[i], n.Ptr[i+1]
	return n.Items[lo:hi:hi], n.Sims[lo:hi:hi]
}

// NumItems is the number of items n has lists for.
func (n *Neighbours) NumItems() int { return max(len(n.Ptr)-1, 0) }

// BuildNeighbours computes item-item similarities from co-occurrence in d.
//
// Each user-item pair carries the weight w = Weights.Strength(signal), and
// an item is the vector of its users' weights. Only each user's
// MaxUserItems most recent items (by Signal.Last) count: the rest of a
// heavy user's history is dropped from every vector, which bounds the work
// per user. The similarity of items i and j is the cosine with shrinkage
//
//	sim(i, j) = Σ_u w_ui·w_uj / (‖w_i‖·‖w_j‖ + Shrink)
//
// with the norms over the kept pairs. Strength already damps repeated
// views (log) and weighs chats and purchases above views, so a purchase
// co-occurrence counts more than two glances. Shrink pulls pairs supported
// by little evidence toward 0.
//
// To bound the work per item, i's co-occurrences are counted over at most
// its MaxItemUsers most recent users (by Signal.Last) and scaled up by
// (users of i)/(users walked), which estimates the full sum if recent users
// are typical ones. Lists of items that popular are therefore estimates
// leaning to current tastes, and sim(i, j) may differ from sim(j, i).
//
// The work runs over Workers goroutines, each with a dense accumulator over
// the items. ctx is checked between blocks of items.
func BuildNeighbours(ctx context.Context, d *Dataset, cfg NeighbourConfig) (*Neighbours, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("build neighbours: %w", err)
	}
	nItems := d.NumItems()
	if int64(nItems)*int64(cfg.PerItem) > math.MaxInt32 {
		return nil, fmt.Errorf("build neighbours: %d items × %d per item overflow int32", nItems, cfg.PerItem)
	}

	// Per-pair weights, 0 for pairs beyond the user's MaxUserItems most
	// recent, and each user's kept items as a compact row.
	pairW := make([]float32, d.NumPairs())
	rowPtr := make([]int64, d.NumUsers()+1)
	for u := range d.NumUsers() {
		rowPtr[u+1] = rowPtr[u] + min(d.UserPtr[u+1]-d.UserPtr[u], int64(cfg.MaxUserItems))
	}
	rowItems := make([]int32, rowPtr[d.NumUsers()])
	rowW := make([]float32, len(rowItems))
	type ranked struct {
		last uint32
		k    int64 // pair index
	}
	recent := make([][]ranked, cfg.Workers)
	err = runBlocks(ctx, workBlocks(d.UserPtr, 4, 64*cfg.Workers), cfg.Workers, func(w, lo, hi int) {
		for u := lo; u < hi; u++ {
			a, b := d.UserPtr[u], d.UserPtr[u+1]
			o := rowPtr[u]
			if b-a <= int64(cfg.MaxUserItems) {
				for k := a; k < b; k++ {
					pairW[k] = float32(cfg.Weights.Strength(d.Signals[k]))
					rowItems[o], rowW[o] = d.UserItems[k], pairW[k]
					o++
				}
				continue
			}
			s := recent[w][:0]
			for k := a; k < b; k++ {
				s = append(s, ranked{d.Signals[k].Last, k})
			}
			slices.SortFunc(s, func(x, y ranked) int {
				return cmp.Or(cmp.Compare(y.last, x.last), cmp.Compare(x.k, y.k))
			})
			kept := s[:cfg.MaxUserItems]
			slices.SortFunc(kept, func(x, y ranked) int { return cmp.Compare(x.k, y.k) })
			for _, r := range kept {
				pairW[r.k] = float32(cfg.Weights.Strength(d.Signals[r.k]))
				rowItems[o], rowW[o] = d.UserItems[r.k], pairW[r.k]
				o++
			}
			recent[w] = s
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build neighbours: %w", err)
	}

	// Squared norms and the number of users of every item.
	norm2 := make([]float64, nItems)
	users := make([]int32, nItems)
	for i := range nItems {
		_, pairs := d.ItemColumn(int32(i))
		for _, k := range pairs {
			if w := float64(pairW[k]); w != 0 {
				norm2[i] += w * w
				users[i]++
			}
		}
	}

	slotItems := make([]int32, nItems*cfg.PerItem)
	slotSims := make([]float32, nItems*cfg.PerItem)
	count := make([]int32, nItems)
	scratch := make([]neighbourScratch, cfg.Workers)
	for w := range scratch {
		scratch[w] = neighbourScratch{acc: make([]float64, nItems), mark: make([]int32, nItems)}
		for i := range scratch[w].mark {
			scratch[w].mark[i] = -1
		}
	}
	err = runBlocks(ctx, workBlocks(d.ItemPtr, 4, 256*cfg.Workers), cfg.Workers, func(w, lo, hi int) {
		s := &scratch[w]
		for i := lo; i < hi; i++ {
			if users[i] == 0 {
				continue
			}
			top := s.neighbours(d, cfg, int32(i), pairW, rowPtr, rowItems, rowW, norm2, users[i])
			copy(slotItems[i*cfg.PerItem:], top.item)
			copy(slotSims[i*cfg.PerItem:], top.sim)
			count[i] = int32(len(top.item))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build neighbours: %w", err)
	}

	n := &Neighbours{PerItem: cfg.PerItem, Ptr: make([]int32, nItems+1)}
	for i, c := range count {
		n.Ptr[i+1] = n.Ptr[i] + c
	}
	n.Items = make([]int32, n.Ptr[nItems])
	n.Sims = make([]float32, n.Ptr[nItems])
	for i, c := range count {
		copy(n.Items[n.Ptr[i]:], slotItems[i*cfg.PerItem:i*cfg.PerItem+int(c)])
		copy(n.Sims[n.Ptr[i]:], slotSims[i*cfg.PerItem:i*cfg.PerItem+int(c)])
	}
	return n, nil
}

// neighbourScratch is one worker's workspace.
type neighbourScratch struct {
	acc     []float64 // co-occurrence per item, reset after each item
	mark    []int32   // the item whose accumulation last touched each item
	touched []int32
	walk    []walkedUser
	top     topSims
}

type walkedUser struct {
	last uint32
	u    int32
	w    float32
}

// neighbours returns the top list of item i; it aliases s.
func (s *neighbourScratch) neighbours(d *Dataset, cfg NeighbourConfig, i int32, pairW []float32,
	rowPtr []int64, rowItems []int32, rowW []float32, norm2 []float64, nUsers int32) *topSims {
	col, pairs := d.ItemColumn(i)
	s.walk = s.walk[:0]
	for n, k := range pairs {
		if w := pairW[k]; w != 0 {
			s.walk = append(s.walk, walkedUser{d.Signals[k].Last, col[n], w})
		}
	}
	if len(s.walk) > cfg.MaxItemUsers {
		slices.SortFunc(s.walk, func(x, y walkedUser) int {
			return cmp.Or(cmp.Compare(y.last, x.last), cmp.Compare(x.u, y.u))
		})
		s.walk = s.walk[:cfg.MaxItemUsers]
	}
	s.touched = s.touched[:0]
	for _, wu := range s.walk {
		wi := float64(wu.w)
		a, b := rowPtr[wu.u], rowPtr[wu.u+1]
		for o := a; o < b; o++ {
			j := rowItems[o]
			if j == i {
				continue
			}
			if s.mark[j] != i {
				s.mark[j] = i
				s.acc[j] = 0
				s.touched = append(s.touched, j)
			}
			s.acc[j] += wi * float64(rowW[o])
		}
	}
	scale := float64(nUsers) / float64(len(s.walk))
	ni := math.Sqrt(norm2[i])
	s.top.reset(cfg.PerItem)
	for _, j := range s.touched {
		co := s.acc[j]
		if co <= 0 {
			continue
		}
		s.top.push(j, float32(co*scale/(ni*math.Sqrt(norm2[j])+cfg.Shrink)))
	}
	s.top.sort()
	return &s.top
}

// topSims keeps the k most similar items seen: a min-heap on (sim, −item)
// until sort turns it into a list, most similar first.
type topSims struct {
	k    int
	item []int32
	sim  []float32
}

func (t *topSims) reset(k int) {
	t.k = k
	t.item = t.item[:0]
	t.sim = t.sim[:0]
}

// worse reports whether entry a ranks below entry b.
func (t *topSims) worse(a, b int) bool {
	if t.sim[a] != t.sim[b] {
		return t.sim[a] < t.sim[b]
	}
	return t.item[a] > t.item[b]
}

func (t *topSims) swap(a, b int) {
	t.item[a], t.item[b] = t.item[b], t.item[a]
	t.sim[a], t.sim[b] = t.sim[b], t.sim[a]
}

func (t *topSims) push(item int32, sim float32) {
	if len(t.item) < t.k {
		t.item = append(t.item, item)
		t.sim = append(t.sim, sim)
		for c := len(t.item) - 1; c > 0; {
			p := (c - 1) / 2
			if !t.worse(c, p) {
				break
			}
			t.swap(c, p)
			c = p
		}
		return
	}
	if t.k == 0 || sim < t.sim[0] || (sim == t.sim[0] && item > t.item[0]) {
		return
	}
	t.item[0], t.sim[0] = item, sim
	t.down(0, len(t.item))
}

func (t *topSims) down(p, n int) {
	for {
		c := 2*p + 1
		if c >= n {
			return
		}
		if c+1 < n && t.worse(c+1, c) {
			c++
		}
		if !t.worse(c, p) {
			return
		}
		t.swap(c, p)
		p = c
	}
}

// sort orders the heap best first (heap sort: pop the worst to the end).
func (t *topSims) sort() {
	for n := len(t.item) - 1; n > 0; n-- {
		t.swap(0, n)
		t.down(0, n)
	}
}
