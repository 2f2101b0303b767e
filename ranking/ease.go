package ranking

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// EASEConfig configures TrainEASE. Zero fields take the documented
// defaults.
type EASEConfig struct {
	// Lambda is λ, the L2 penalty on the item-item weights; default 1000
	// (the best of 50–16,000 on MovieLens-small and the Complete Journey
	// sample; flat on the simulator).
	Lambda float64
	// MaxItems is the size of the dense head: the items with the most
	// users. The closed form inverts a MaxItems × MaxItems matrix, so time
	// grows as MaxItems³ and memory as 8·MaxItems² bytes; default 4000
	// (about 20 s and 0.4 GB at 1M users, 100k products, 20M pairs, where
	// it holds 71% of the pairs; 8000 takes 150 s).
	MaxItems int
	// PerItem is how many weights per item Lists keeps; default 100.
	PerItem int
	// MaxUserItems: only each user's most recent head items (by
	// Signal.Last) count; default 100.
	MaxUserItems int
	// HalfLife, in seconds, weighs a pair by 2^(−age/HalfLife), its age
	// measured from the data's newest interaction to the pair's last one:
	// recent co-occurrences count more. 0: no decay.
	HalfLife float64
	// Weights turn a signal into a pair's value; zero value →
	// DefaultWeights().
	Weights Weights
	// Workers is the number of goroutines for the Gram matrix; default
	// runtime.GOMAXPROCS(0). The inverse uses gonum's parallel BLAS.
	Workers int
}

// defaultEASELambda is EASEConfig.Lambda's default.
const defaultEASELambda = 1000

func (c EASEConfig) withDefaults() (EASEConfig, error) {
	if c.Lambda < 0 || c.MaxItems < 0 || c.PerItem < 0 || c.MaxUserItems < 0 || c.HalfLife < 0 || c.Workers < 0 {
		return c, fmt.Errorf("EASE config %+v: negative field", c)
	}
	if c.Lambda == 0 {
		c.Lambda = defaultEASELambda
	}
	if c.MaxItems == 0 {
		c.MaxItems = 4000
	}
	if c.PerItem == 0 {
		c.PerItem = 100
	}
	if c.MaxUserItems == 0 {
		c.MaxUserItems = 100
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights()
	}
	c.Workers = modelWorkers(c.Workers)
	return c, nil
}

// EASE is a trained EASE model (Steck, "Embarrassingly Shallow
// Autoencoders for Sparse Data", WWW 2019) over the head of the catalog:
// the item-item weights B that minimise ‖X − XB‖² + λ‖B‖² with a zero
// diagonal, in closed form B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹.
// A user with pair values x scores item j by Σ_h x_h·B[h, j].
//
// X holds the pair values of Value (a signal's strength relative to one
// purchase, at most 1, optionally decayed with age), restricted to the
// MaxItems items with the most users and each user's MaxUserItems most
// recent of them. Items outside the head get no weights: the item
// neighbours cover the tail.
type EASE struct {
	// Head lists the dense items of the head, most users first; head
	// position h is item Head[h].
	Head []int32
	// B is len(Head)² weights, row-major: B[h*len(Head)+j] is what head
	// item h contributes to head item j.
	B []float64

	pos []int32 // dense item → head position, −1 outside the head
	cfg EASEConfig
	now int64
}

// TrainEASE fits EASE to d. It holds 8·MaxItems² bytes for the Gram
// matrix, inverted in place, plus a third of that as working memory.
func TrainEASE(ctx context.Context, d *Dataset, cfg EASEConfig) (*EASE, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("train EASE: %w", err)
	}
	e := &EASE{cfg: cfg, now: d.MaxUnix, pos: make([]int32, d.NumItems())}
	// The head: items by number of users, ties by index.
	users := make([]int64, d.NumItems())
	for i := range users {
		users[i] = d.ItemPtr[i+1] - d.ItemPtr[i]
	}
	for i := range users {
		if users[i] > 0 {
			e.Head = append(e.Head, int32(i))
		}
	}
	slices.SortFunc(e.Head, func(a, b int32) int { return cmp.Or(cmp.Compare(users[b], users[a]), cmp.Compare(a, b)) })
	e.Head = slices.Clip(e.Head[:min(len(e.Head), cfg.MaxItems)])
	for i := range e.pos {
		e.pos[i] = -1
	}
	for h, i := range e.Head {
		e.pos[i] = int32(h)
	}
	n := len(e.Head)
	if n == 0 {
		return e, nil
	}
	g, err := e.gram(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("train EASE: %w", err)
	}
	for h := range n {
		g[h*n+h] += cfg.Lambda
	}
	a := blas64.General{Rows: n, Cols: n, Stride: n, Data: g}
	if !invertSPD(a, make([]float64, invertWork(n))) {
		return nil, fmt.Errorf("train EASE on %d items with λ %v: Gram matrix not positive definite", n, cfg.Lambda)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("train EASE: %w", err)
	}
	// B = I − P·diag(1/diag P): B[h, j] = −P[h, j]/P[j, j] off the
	// diagonal, 0 on it.
	diag := make([]float64, n)
	for j := range n {
		diag[j] = g[j*n+j]
	}
	err = runBlocks(ctx, evenBlocks(n, 64), cfg.Workers, func(_, lo, hi int) {
		for h := lo; h < hi; h++ {
			row := g[h*n : (h+1)*n]
			for j, p := range row {
				row[j] = -p / diag[j]
			}
			row[h] = 0
		}
	})
	if err != nil {
		return nil, fmt.Errorf("train EASE: %w", err)
	}
	e.B = g
	return e, nil
}

// Value is the value of a pair in X: the signal's strength relative to
// one purchase, at most 1, halved every HalfLife of age before the data's
// newest interaction.
func (e *EASE) Value(s Signal) float64 {
	l := EASELists{HalfLife: e.cfg.HalfLife, Weights: e.cfg.Weights, Now: e.now}
	return l.Value(s)
}

// HeadPos returns item i's position in the head, or −1.
func (e *EASE) HeadPos(i int32) int32 {
	if i < 0 || int(i) >= len(e.pos) {
		return -1
	}
	return e.pos[i]
}

// gram returns XᵀX over the head, dense and row-major. Each user's kept
// head items form a compact row; head item h's row of the Gram matrix
// sums, over its users, their value for h times their row, so every row is
// written by one worker.
func (e *EASE) gram(ctx context.Context, d *Dataset) ([]float64, error) {
	cfg := e.cfg
	n := len(e.Head)
	// Per pair, its value if it is in the head and among its user's
	// MaxUserItems most recent head pairs, else 0; per user, those pairs
	// as (head position, value).
	pairV := make([]float32, d.NumPairs())
	rowPtr := make([]int64, d.NumUsers()+1)
	type kept struct {
		last uint32
		k    int64
	}
	var sel []kept
	for u := range d.NumUsers() {
		sel = sel[:0]
		for k := d.UserPtr[u]; k < d.UserPtr[u+1]; k++ {
			if e.pos[d.UserItems[k]] >= 0 {
				sel = append(sel, kept{d.Signals[k].Last, k})
			}
		}
		if len(sel) > cfg.MaxUserItems {
			slices.SortFunc(sel, func(x, y kept) int { return cmp.Or(cmp.Compare(y.last, x.last), cmp.Compare(x.k, y.k)) })
			sel = sel[:cfg.MaxUserItems]
		}
		for _, s := range sel {
			pairV[s.k] = float32(e.Value(d.Signals[s.k]))
		}
		rowPtr[u+1] = rowPtr[u] + int64(len(sel))
	}
	rowPos := make([]int32, rowPtr[d.NumUsers()])
	rowV := make([]float32, len(rowPos))
	for u := range d.NumUsers() {
		o := rowPtr[u]
		for k := d.UserPtr[u]; k < d.UserPtr[u+1]; k++ {
			if v := pairV[k]; v != 0 {
				rowPos[o], rowV[o] = e.pos[d.UserItems[k]], v
				o++
			}
		}
		rowPtr[u+1] = o // pairs of value 0 (fully decayed) are left out
	}
	g := make([]float64, n*n)
	// Rows in blocks of about equal work: a head item costs its users.
	ptr := make([]int64, n+1)
	for h, i := range e.Head {
		ptr[h+1] = ptr[h] + d.ItemPtr[i+1] - d.ItemPtr[i]
	}
	err := runBlocks(ctx, workBlocks(ptr, 16, 64*cfg.Workers), cfg.Workers, func(_, lo, hi int) {
		for h := lo; h < hi; h++ {
			row := g[h*n : (h+1)*n]
			col, pairs := d.ItemColumn(e.Head[h])
			for c, k := range pairs {
				xh := float64(pairV[k])
				if xh == 0 {
					continue
				}
				u := col[c]
				for o := rowPtr[u]; o < rowPtr[u+1]; o++ {
					row[rowPos[o]] += xh * float64(rowV[o])
				}
			}
		}
	})
	return g, err
}

// Lists returns, for every dense item of the head, its perItem weights
// B[h, ·] of largest magnitude, negative ones included, as a Neighbours
// (items outside the head have none): what the server keeps, 8 bytes per
// weight. A negative weight says that having h makes the item less
// likely: keeping them, the lists' scores come closer to the dense
// matrix's (EASE alone at the last origin of the full Complete Journey
// log, NDCG@10: positive lists 0.0562, signed 0.0572, dense 0.0571), and the
// learned blend gained there and on the simulator, lost a little on the
// Complete Journey sample (docs/ranking-eval.md).
func (e *EASE) Lists(perItem int) *Neighbours {
	nItems := len(e.pos)
	out := &Neighbours{PerItem: perItem, Ptr: make([]int32, nItems+1)}
	n := len(e.Head)
	lists := make([]topSims, n)
	var t topSims
	for h := range n {
		t.reset(perItem)
		row := e.B[h*n : (h+1)*n]
		for j, b := range row {
			if b != 0 {
				t.push(e.Head[j], float32(math.Abs(b)))
			}
		}
		t.sort() // by magnitude; the signs are restored below
		for c, i := range t.item {
			t.sim[c] = float32(row[e.pos[i]])
		}
		lists[h] = topSims{item: slices.Clone(t.item), sim: slices.Clone(t.sim)}
	}
	for i := range nItems {
		c := int32(0)
		if h := e.pos[i]; h >= 0 {
			c = int32(len(lists[h].item))
		}
		out.Ptr[i+1] = out.Ptr[i] + c
	}
	out.Items = make([]int32, out.Ptr[nItems])
	out.Sims = make([]float32, out.Ptr[nItems])
	for i := range nItems {
		if h := e.pos[i]; h >= 0 {
			copy(out.Items[out.Ptr[i]:], lists[h].item)
			copy(out.Sims[out.Ptr[i]:], lists[h].sim)
		}
	}
	return out
}

// ScoreInto adds to dst (one score per dense item) the EASE scores of a
// user whose history is items with signals: Σ_h Value(signal)·B[h, ·] over
// the history's MaxUserItems most recent head items.
func (e *EASE) ScoreInto(items []int32, sigs []Signal, dst []float64) {
	n := len(e.Head)
	type kept struct {
		last uint32
		h    int32
		v    float64
	}
	var hist []kept
	for k, i := range items {
		if h := e.HeadPos(i); h >= 0 {
			hist = append(hist, kept{sigs[k].Last, h, e.Value(sigs[k])})
		}
	}
	if len(hist) > e.cfg.MaxUserItems {
		slices.SortFunc(hist, func(x, y kept) int { return cmp.Or(cmp.Compare(y.last, x.last), cmp.Compare(x.h, y.h)) })
		hist = hist[:e.cfg.MaxUserItems]
	}
	for _, k := range hist {
		row := e.B[int(k.h)*n : (int(k.h)+1)*n]
		for j, b := range row {
			dst[e.Head[j]] += k.v * b
		}
	}
}

// invertLeaf is the size below which invertSPD factorises directly.
const invertLeaf = 192

// invertWork is the working memory, in float64s, that invertSPD needs for
// an n×n matrix.
func invertWork(n int) int {
	if n <= invertLeaf {
		return 0
	}
	k := n / 2
	return max(invertWork(k), k*(n-k)+invertWork(n-k))
}

// invertSPD replaces the symmetric positive definite matrix a by its
// inverse and reports whether a was positive definite. It splits a into
// 2×2 blocks and inverts through the Schur complement S = A22 − A21·A11⁻¹·A12:
//
//	A⁻¹ = [A11⁻¹ + T·S⁻¹·Tᵀ, −T·S⁻¹; −S⁻¹·Tᵀ, S⁻¹] with T = A11⁻¹·A12,
//
// recursively, so that nearly all of the 4/3·n³ flops are matrix products
// (gonum's Gemm, parallel); blocks of at most invertLeaf rows are inverted
// by Cholesky (LAPACK dpotrf, dpotri), which on gonum runs at about half
// of Gemm's speed. work holds invertWork(a.Rows) values.
func invertSPD(a blas64.General, work []float64) bool {
	n := a.Rows
	if n <= invertLeaf {
		t, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: a.Stride, Data: a.Data, Uplo: blas.Upper})
		if !ok {
			return false
		}
		if _, ok := lapack64.Potri(t); !ok {
			return false
		}
		for i := 1; i < n; i++ {
			for j := range i {
				a.Data[i*a.Stride+j] = a.Data[j*a.Stride+i]
			}
		}
		return true
	}
	k := n / 2
	m := n - k
	s := a.Stride
	a11 := blas64.General{Rows: k, Cols: k, Stride: s, Data: a.Data}
	a12 := blas64.General{Rows: k, Cols: m, Stride: s, Data: a.Data[k:]}
	a21 := blas64.General{Rows: m, Cols: k, Stride: s, Data: a.Data[k*s:]}
	a22 := blas64.General{Rows: m, Cols: m, Stride: s, Data: a.Data[k*s+k:]}
	if !invertSPD(a11, work) {
		return false
	}
	t := blas64.General{Rows: k, Cols: m, Stride: m, Data: work[:k*m]}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a11, a12, 0, t)  // T = A11⁻¹·A12
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -1, a21, t, 1, a22) // S = A22 − A21·T
	if !invertSPD(a22, work[k*m:]) {
		return false
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -1, t, a22, 0, a12) // −T·S⁻¹
	blas64.Gemm(blas.NoTrans, blas.Trans, -1, a12, t, 1, a11)   // A11⁻¹ + T·S⁻¹·Tᵀ
	for i := range m {
		row := a21.Data[i*s : i*s+k]
		for j := range row {
			row[j] = a12.Data[j*s+i]
		}
	}
	return true
}

// EASELists is what a served model keeps of EASE: each head product's
// strongest weights (Neighbours: Of(h) lists the products h votes for or
// against, largest magnitude first, with their weights B[h, ·]) and how a pair's value is
// computed (EASE.Value), so that a request scores from lists and never
// touches the dense matrix. The fields are exported for encoding/gob.
type EASELists struct {
	Neighbours
	Lambda   float64
	HalfLife float64 // seconds; 0: no decay
	Weights  Weights
	Now      int64 // Unix seconds the decay is measured from
	Head     int   // products in the head
}

// Value is EASE.Value: a signal's strength relative to one purchase, at
// most 1, halved every HalfLife before Now.
func (l *EASELists) Value(s Signal) float64 {
	v := min(1, l.Weights.Strength(s)/l.Weights.Purchase)
	if l.HalfLife > 0 {
		v *= math.Exp2(-float64(max(l.Now-int64(s.Last), 0)) / l.HalfLife)
	}
	return v
}

// ServedLists returns the served form of e: Lists(PerItem) with the
// settings Value needs.
func (e *EASE) ServedLists() *EASELists {
	return &EASELists{Neighbours: *e.Lists(e.cfg.PerItem), Lambda: e.cfg.Lambda, HalfLife: e.cfg.HalfLife,
		Weights: e.cfg.Weights, Now: e.now, Head: len(e.Head)}
}

// trainEASELists trains EASE on d and returns its served lists; the dense
// matrix is dropped.
func trainEASELists(ctx context.Context, d *Dataset, cfg EASEConfig) (*EASELists, error) {
	e, err := TrainEASE(ctx, d, cfg)
	if err != nil {
		return nil, err
	}
	return e.ServedLists(), nil
}
