package ranking

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/floats"
)

// Index is an inverted-file index over the item factors: items are
// clustered (k-means on the factor vectors), and a query scores the
// centroids first, then only the items of the best clusters. It trades a
// little recall for a scan of a few percent of the catalog.
type Index struct {
	K         int
	Centroids []float64 // clusters × K
	Lists     [][]int32 // items per cluster

	// vecs holds each list's item vectors contiguously, in float32: a
	// search streams through memory instead of chasing every item's
	// vector across the factor matrix. Built by prepare, not snapshotted.
	vecs [][]float32
	// at locates item i's vector: vecs[at[i].list][at[i].off*K:].
	at []vecAt
	// cent32 is Centroids in float32, for one matrix-vector product per
	// search. Built by prepare.
	cent32 []float32
}

type vecAt struct{ list, off int32 }

// vec returns item i's float32 vector.
func (ix *Index) vec(i int32) []float32 {
	a := ix.at[i]
	return ix.vecs[a.list][int(a.off)*ix.K : int(a.off+1)*ix.K]
}

// prefetch loads one value of every cache line of the vectors of the ids
// whose factor is NaN (those x·y the search did not compute), and returns
// their sum so the loads are kept. The loads are independent of each
// other, so the processor has many cache misses in flight at once, where
// the dot products that follow would otherwise meet them one vector at a
// time: the vectors of a feed's candidates (about 100 KB) then sit in the
// core's cache.
func (ix *Index) prefetch(ids []int32, factor []float32) float32 {
	const perLine = 64 / 4
	var s float32
	for k, i := range ids {
		if factor[k] == factor[k] {
			continue
		}
		v := ix.vec(i)
		for j := 0; j < len(v); j += perLine {
			s += v[j]
		}
	}
	return s
}

// prepare builds the contiguous float32 copies of the listed vectors.
func (ix *Index) prepare(f *Factors) {
	ix.cent32 = make([]float32, len(ix.Centroids))
	for j, v := range ix.Centroids {
		ix.cent32[j] = float32(v)
	}
	ix.vecs = make([][]float32, len(ix.Lists))
	ix.at = make([]vecAt, f.NumItems())
	for c, l := range ix.Lists {
		v := make([]float32, len(l)*ix.K)
		for k, i := range l {
			ix.at[i] = vecAt{int32(c), int32(k)}
			for j, x := range f.ItemVec(i) {
				v[k*ix.K+j] = float32(x)
			}
		}
		ix.vecs[c] = v
	}
}

// blas32 is gonum's pure-Go BLAS, whose float32 kernels have SIMD
// assembly on amd64: 2.6 times the speed of a scalar loop at k=64.
var blas32 gonum.Implementation

// dot32 is x·y in float32 (len(y) ≥ len(x)).
func dot32(x, y []float32) float32 {
	return blas32.Sdot(len(x), x, 1, y, 1)
}

// indexTrainSample bounds the items k-means iterates over; the rest are
// only assigned at the end.
const indexTrainSample = 50000

// BuildIndex clusters the item factors into the given number of clusters.
func BuildIndex(f *Factors, clusters int, seed int64) *Index {
	n, k := f.NumItems(), f.K
	clusters = max(1, min(clusters, n))
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	sample := rng.Perm(n)
	if len(sample) > indexTrainSample {
		sample = sample[:indexTrainSample]
	}
	ix := &Index{K: k, Centroids: make([]float64, clusters*k)}
	for c := range clusters {
		copy(ix.Centroids[c*k:(c+1)*k], f.ItemVec(int32(sample[c%len(sample)])))
	}
	sums := make([]float64, clusters*k)
	counts := make([]int, clusters)
	for range 8 {
		clear(sums)
		clear(counts)
		for _, i := range sample {
			c := ix.nearest(f.ItemVec(int32(i)))
			floats.Add(sums[c*k:(c+1)*k], f.ItemVec(int32(i)))
			counts[c]++
		}
		for c := range clusters {
			if counts[c] == 0 {
				continue // keep the old centroid
			}
			cent := ix.Centroids[c*k : (c+1)*k]
			copy(cent, sums[c*k:(c+1)*k])
			floats.Scale(1/float64(counts[c]), cent)
		}
	}
	ix.Lists = make([][]int32, clusters)
	for i := range n {
		c := ix.nearest(f.ItemVec(int32(i)))
		ix.Lists[c] = append(ix.Lists[c], int32(i))
	}
	// Within a cluster, longer vectors first: they reach the highest inner
	// products, so a search that stops early in a big cluster (the long
	// tail gathers near the origin) still sees the best of it.
	norm := make([]float64, n)
	for i := range n {
		norm[i] = floats.Norm(f.ItemVec(int32(i)), 2)
	}
	for _, l := range ix.Lists {
		slices.SortFunc(l, func(a, b int32) int { return cmp.Compare(norm[b], norm[a]) })
	}
	ix.prepare(f)
	return ix
}

// nearest returns the centroid closest to v in Euclidean distance.
func (ix *Index) nearest(v []float64) int {
	best, bestD := 0, -1.0
	for c := range len(ix.Centroids) / ix.K {
		d := floats.Distance(v, ix.Centroids[c*ix.K:(c+1)*ix.K], 2)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Search returns about n items with the highest x·y among the items of the
// clusters whose centroids score highest (at most probe clusters and budget
// items, each cluster's longest vectors first), best first. Without an index (small
// catalogs) it scans every item.
func (ix *Index) Search(f *Factors, x []float64, n, probe, budget int, skip func(int32) bool) []int32 {
	hits := ix.search(f, x, n, probe, budget, skip, &searchScratch{})
	slices.SortStableFunc(hits, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	out := make([]int32, len(hits))
	for k, h := range hits {
		out[k] = h.item
	}
	return out
}

// searchScratch is the memory of a search, reused across searches.
type searchScratch struct {
	h, best  topK
	x32      []float32 // the query in float32
	scores   []float32 // of one cluster's items, or of the centroids
	clusters []int32
	out      []scored
}

// search is Search with reused memory, in no particular order, and with
// each item's x·y (in float32 with an index, as Index.vec holds it); the
// result is valid until the next search with s.
func (ix *Index) search(f *Factors, x []float64, n, probe, budget int, skip func(int32) bool, s *searchScratch) []scored {
	h, best := &s.h, &s.best
	h.reset(n)
	if ix == nil {
		for i := range f.NumItems() {
			if skip == nil || !skip(int32(i)) {
				h.offer(int32(i), floats.Dot(x, f.ItemVec(int32(i))))
			}
		}
		s.out = append(s.out[:0], h.take()...)
		return s.out
	}
	x32 := slices.Grow(s.x32[:0], len(x))[:len(x)]
	s.x32 = x32
	for j, v := range x {
		x32[j] = float32(v)
	}
	best.reset(probe)
	nc := len(ix.Lists)
	cs := slices.Grow(s.scores[:0], nc)[:nc]
	blas32.Sgemv(blas.NoTrans, nc, ix.K, 1, ix.cent32, ix.K, x32, 1, 0, cs, 1)
	for c, v := range cs {
		best.offer(int32(c), float64(v))
	}
	// The clusters, best first.
	s.clusters = best.appendSorted(s.clusters[:0])
	clusters := s.clusters
	left := budget
	for _, c := range clusters {
		l, vecs := ix.Lists[c], ix.vecs[c]
		if len(l) > left {
			l = l[:left]
		}
		// The cluster's vectors are one row-major matrix: one
		// matrix-vector product scores them all.
		scores := slices.Grow(s.scores[:0], len(l))[:len(l)]
		s.scores = scores
		blas32.Sgemv(blas.NoTrans, len(l), ix.K, 1, vecs[:len(l)*ix.K], ix.K, x32, 1, 0, scores, 1)
		for k, i := range l {
			// Most items do not beat the heap's weakest, and skip (a
			// random access into a catalog-sized array) is then not
			// needed.
			v := float64(scores[k])
			if h.full(v) || skip != nil && skip(i) {
				continue
			}
			h.push(i, v)
		}
		if left -= len(l); left <= 0 {
			break
		}
	}
	s.out = append(s.out[:0], h.take()...)
	return s.out
}

type scored struct {
	item  int32
	score float64
}

// selectTop reorders s so that its first k hold the k highest scores, in
// no particular order, and returns them (all of s when it is shorter): a
// quickselect, linear in len(s), where a heap pays a logarithm per
// replacement. Scores must not be NaN.
func selectTop(s []scored, k int) []scored {
	if k >= len(s) {
		return s
	}
	if k <= 0 {
		return s[:0]
	}
	lo, hi := 0, len(s)-1
	for lo < hi {
		a, b, c := s[lo].score, s[int(uint(lo+hi)>>1)].score, s[hi].score
		p := max(min(a, b), min(max(a, b), c)) // the median of three
		i, j := lo, hi
		for i <= j {
			for s[i].score > p {
				i++
			}
			for s[j].score < p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		// s[lo:j+1] ≥ p ≥ s[i:hi+1], and s[j+1:i] are p.
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return s[:k]
		}
	}
	return s[:k]
}

// topK keeps the k best scored items: a min-heap on score whose root is the
// weakest kept. Typed, so pushing does not allocate; reusable with reset.
type topK struct {
	k int
	h []scored
}

func newTopK(k int) *topK { return &topK{k: k, h: make([]scored, 0, k)} }

// reset empties t and sets its capacity to k.
func (t *topK) reset(k int) {
	t.k = k
	t.h = slices.Grow(t.h[:0], k)
}

// offer considers item: a score not above the weakest of a full heap
// returns at once (inlined), which is what most offers do.
func (t *topK) offer(item int32, score float64) {
	if !t.full(score) {
		t.push(item, score)
	}
}

// full reports whether score would not make it into t.
func (t *topK) full(score float64) bool {
	return len(t.h) == t.k && (t.k == 0 || score <= t.h[0].score)
}

func (t *topK) push(item int32, score float64) {
	if len(t.h) < t.k {
		t.h = append(t.h, scored{item, score})
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if t.h[p].score <= t.h[i].score {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	t.h[0] = scored{item, score}
	t.down(0, len(t.h))
}

func (t *topK) down(i, n int) {
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.h[r].score < t.h[l].score {
			m = r
		}
		if t.h[i].score <= t.h[m].score {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the kept items, best first; t is emptied.
func (t *topK) sorted() []int32 { return t.appendSorted(nil) }

// appendSorted appends the kept items to dst's end, best first, and
// returns only what it appended (dst's earlier items stay as they were);
// t is emptied.
func (t *topK) appendSorted(dst []int32) []int32 {
	n0, n := len(dst), len(t.h)
	dst = slices.Grow(dst, n)[:n0+n]
	for k := n - 1; k >= 0; k-- {
		dst[n0+k] = t.pop().item
	}
	return dst[n0:]
}

// take empties t and returns what it kept, in no particular order: valid
// until t is used again.
func (t *topK) take() []scored {
	h := t.h
	t.h = t.h[:0]
	return h
}

// pop removes and returns the weakest kept.
func (t *topK) pop() scored {
	n := len(t.h) - 1
	w := t.h[0]
	t.h[0] = t.h[n]
	t.h = t.h[:n]
	t.down(0, n)
	return w
}

// topN returns the indexes of the n largest values of s, best first.
func topN(s []float64, n int) []int32 {
	t := newTopK(n)
	for i, v := range s {
		t.offer(int32(i), v)
	}
	return t.sorted()
}
