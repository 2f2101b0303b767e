package ranking

import (
	"cmp"
	"container/heap"
	"math/rand/v2"
	"slices"

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
	assign := make([]int32, n)
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
		assign[i] = int32(c)
		ix.Lists[c] = append(ix.Lists[c], int32(i))
	}
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
// probe clusters whose centroids score highest, best first. Without an
// index (small catalogs) it scans every item.
func (ix *Index) Search(f *Factors, x []float64, n, probe int, skip func(int32) bool) []int32 {
	h := &scoredHeap{}
	consider := func(i int32) {
		if skip != nil && skip(i) {
			return
		}
		s := floats.Dot(x, f.ItemVec(i))
		if h.Len() < n {
			heap.Push(h, scored{i, s})
		} else if s > (*h)[0].score {
			(*h)[0] = scored{i, s}
			heap.Fix(h, 0)
		}
	}
	if ix == nil {
		for i := range f.NumItems() {
			consider(int32(i))
		}
	} else {
		cs := make([]scored, len(ix.Lists))
		for c := range cs {
			cs[c] = scored{int32(c), floats.Dot(x, ix.Centroids[c*ix.K:(c+1)*ix.K])}
		}
		slices.SortFunc(cs, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
		for _, c := range cs[:min(probe, len(cs))] {
			for _, i := range ix.Lists[c.item] {
				consider(i)
			}
		}
	}
	out := make([]int32, h.Len())
	for k := len(out) - 1; k >= 0; k-- {
		out[k] = heap.Pop(h).(scored).item
	}
	return out
}

type scored struct {
	item  int32
	score float64
}

// scoredHeap is a min-heap on score: the root is the weakest kept.
type scoredHeap []scored

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(a, b int) bool { return h[a].score < h[b].score }
func (h scoredHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *scoredHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// topN returns the indexes of the n largest values of s, best first.
func topN(s []float64, n int) []int32 {
	h := &scoredHeap{}
	for i, v := range s {
		if h.Len() < n {
			heap.Push(h, scored{int32(i), v})
		} else if v > (*h)[0].score {
			(*h)[0] = scored{int32(i), v}
			heap.Fix(h, 0)
		}
	}
	out := make([]int32, h.Len())
	for k := len(out) - 1; k >= 0; k-- {
		out[k] = heap.Pop(h).(scored).item
	}
	return out
}
