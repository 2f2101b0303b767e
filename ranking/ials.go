package ranking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// ALSConfig configures TrainALS. Zero fields take the documented defaults.
type ALSConfig struct {
	Factors    int     // k, the number of latent factors; default 64
	Iterations int     // full sweeps (users then items); default 10
	Reg        float64 // λ, L2 regularisation of every factor vector; default 0.1
	Alpha      float64 // confidence c = 1 + Alpha·Weights.Strength(signal); default 4
	Weights    Weights // zero value → DefaultWeights()
	CGSteps    int     // conjugate-gradient steps per row per sweep; default 3
	Workers    int     // goroutines; default runtime.GOMAXPROCS(0)
	Seed       int64   // seeds the random initialisation
}

// withDefaults fills zero fields and rejects negative ones.
func (c ALSConfig) withDefaults() (ALSConfig, error) {
	if c.Factors < 0 || c.Iterations < 0 || c.Reg < 0 || c.Alpha < 0 || c.CGSteps < 0 || c.Workers < 0 {
		return c, fmt.Errorf("iALS config %+v: negative field", c)
	}
	if c.Factors == 0 {
		c.Factors = 64
	}
	if c.Iterations == 0 {
		c.Iterations = 10
	}
	if c.Reg == 0 {
		c.Reg = 0.1
	}
	if c.Alpha == 0 {
		c.Alpha = 4
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights()
	}
	if c.CGSteps == 0 {
		c.CGSteps = 3
	}
	c.Workers = modelWorkers(c.Workers)
	return c, nil
}

// modelWorkers is the number of goroutines to use when the config says n.
func modelWorkers(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// Factors is a trained implicit-ALS model: a k-dimensional vector per dense
// user and item of the Dataset it was trained on. A user's predicted
// preference for an item is the dot product of their vectors. The fields are
// exported so that encoding/gob can snapshot the model.
type Factors struct {
	K int
	// UserCodes holds the user vectors quantised to 8 bits, row-major:
	// user u is UserScale[u]·UserCodes[u*K:(u+1)*K], rounded from the float64 training
	// solves (each component within UserScale[u]/2, under 0.4 % of the
	// largest). The user vectors are the largest array of a served model,
	// and every resident gigabyte slows the benchmark machine (see docs/performance.md,
	// memory): a million users at K = 64 take 68 MB instead of 512.
	UserCodes []int8
	UserScale []float32
	Item      []float64 // NumItems·K, row-major
	Gram      []float64 // K·K, YᵀY of the item factors, for FoldIn

	// Reg, Alpha and Weights are the training settings FoldIn must repeat.
	Reg, Alpha float64
	Weights    Weights
}

// UserVec writes user u's factor vector into dst, grown as needed, and
// returns it.
func (f *Factors) UserVec(u int32, dst []float64) []float64 {
	dst = slices.Grow(dst[:0], f.K)[:f.K]
	s := float64(f.UserScale[u])
	for j, q := range f.UserCodes[int(u)*f.K : (int(u)+1)*f.K] {
		dst[j] = s * float64(q)
	}
	return dst
}

// quantize writes x as 8-bit q (len(x)) and returns the scale s with
// x ≈ s·q: the largest component maps to ±127.
func quantize(q []int8, x []float64) float32 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	if m == 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		clear(q)
		return 0
	}
	s := float32(m / 127)
	inv := 1 / float64(s)
	for j, v := range x {
		q[j] = int8(max(-127, min(127, math.Round(v*inv))))
	}
	return s
}

// ItemVec returns item i's factor vector. It aliases the model: do not
// modify it.
func (f *Factors) ItemVec(i int32) []float64 {
	return f.Item[int(i)*f.K : (int(i)+1)*f.K : (int(i)+1)*f.K]
}

// NumItems is the number of items the model has vectors for.
func (f *Factors) NumItems() int {
	if f.K == 0 {
		return 0
	}
	return len(f.Item) / f.K
}

// NumUsers is the number of users the model has vectors for.
func (f *Factors) NumUsers() int {
	if f.K == 0 {
		return 0
	}
	return len(f.UserScale)
}

// ScoreAll writes x·y_i for every item i into dst, which must have at least
// NumItems elements; x must have K.
func (f *Factors) ScoreAll(x []float64, dst []float64) {
	n := f.NumItems()
	if n == 0 {
		return
	}
	blas64.Gemv(blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: f.K, Data: f.Item, Stride: f.K},
		blas64.Vector{N: f.K, Data: x, Inc: 1},
		0, blas64.Vector{N: n, Data: dst, Inc: 1})
}

// foldInScratch is the reusable workspace of one FoldIn call.
type foldInScratch struct {
	k  int
	a  []float64 // K×K system matrix, Cholesky factor after Potrf
	b  []float64 // right-hand side, then the solution
	ys []float32 // √(c−1)·y of the history, row-major
	// h is Σ (c−1)·y·yᵀ over the history (upper triangle), summed in
	// float32: four products per instruction instead of two, where the
	// sum is most of a fold-in's work.
	h []float32
}

var foldInPool sync.Pool // of *foldInScratch

// FoldIn returns the user vector that minimises the iALS loss for the given
// history with the item factors fixed: the exact solution of
//
//	(YᵀY + Yᵀ(C−I)Y + λI) x = YᵀCp
//
// by one K×K Cholesky factorisation (LAPACK dpotrf/dpotrs from gonum,
// without mat.Cholesky's condition estimate, which would double the cost).
// signals[n] is the user's signal for items[n]; signals may be nil, which
// counts every item as one view. Items outside the model (added to the
// catalog after training, or negative) are skipped. With no known items the
// result is the zero vector. dst is reused when its capacity allows.
// FoldIn is safe for concurrent use.
func (f *Factors) FoldIn(items []int32, signals []Signal, dst []float64) []float64 {
	k := f.K
	if cap(dst) >= k {
		dst = dst[:k]
	} else {
		dst = make([]float64, k)
	}
	clear(dst)
	if signals != nil && len(signals) != len(items) {
		panic(fmt.Sprintf("ranking: FoldIn with %d items and %d signals", len(items), len(signals)))
	}
	n := int32(f.NumItems())
	known := 0
	for _, it := range items {
		if it >= 0 && it < n {
			known++
		}
	}
	if known == 0 {
		return dst
	}

	s, _ := foldInPool.Get().(*foldInScratch)
	if s == nil || s.k != k {
		s = &foldInScratch{k: k, a: make([]float64, k*k), b: make([]float64, k), h: make([]float32, k*k)}
	}
	defer foldInPool.Put(s)
	if cap(s.ys) < known*k {
		s.ys = make([]float32, known*k)
	}

	// b = Σ c·y; the rank-one terms (c−1)·y·yᵀ go into one Syrk.
	clear(s.b)
	rows := 0
	for m, it := range items {
		if it < 0 || it >= n {
			continue
		}
		sig := Signal{Views: 1}
		if signals != nil {
			sig = signals[m]
		}
		e := f.Alpha * f.Weights.Strength(sig)
		y := f.ItemVec(it)
		floats.AddScaled(s.b, 1+e, y)
		if e > 0 {
			se, row := math.Sqrt(e), s.ys[rows*k:(rows+1)*k]
			for j, v := range y {
				row[j] = float32(se * v)
			}
			rows++
		}
	}
	if rows > 0 {
		blas32.Ssyrk(blas.Upper, blas.Trans, k, rows, 1, s.ys[:rows*k], k, 0, s.h, k)
	}
	for ridge := 0.0; ; {
		copy(s.a, f.Gram)
		for j := 0; j < k; j++ {
			s.a[j*k+j] += f.Reg + ridge
		}
		if rows > 0 {
			for i := range k {
				ai, hi := s.a[i*k+i:(i+1)*k], s.h[i*k+i:(i+1)*k]
				for j, v := range hi {
					ai[j] += float64(v)
				}
			}
		}
		t, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: k, Data: s.a, Stride: k})
		if ok {
			// A = UᵀU: two triangular solves of one vector (Potrs's
			// matrix solve costs a third of a fold-in for one column).
			copy(dst, s.b)
			x := blas64.Vector{N: k, Data: dst, Inc: 1}
			blas64.Trsv(blas.Trans, t, x)
			blas64.Trsv(blas.NoTrans, t, x)
			return dst
		}
		if ridge > 0 {
			clear(dst)
			return dst
		}
		// Only possible with λ = 0 and a rank-deficient history: retry
		// with a little ridge.
		tr := 0.0
		for j := 0; j < k; j++ {
			tr += f.Gram[j*k+j]
		}
		ridge = 1e-9*tr/float64(k) + 1e-12
	}
}

// TrainALS fits implicit-feedback matrix factorisation (Hu, Koren and
// Volinsky 2008) to d: every user-item pair is a preference p = 1 held with
// confidence c = 1 + Alpha·Strength(signal), every other cell p = 0 with
// c = 1. Each half-sweep improves every user (then every item) vector by
// CGSteps of conjugate gradient warm-started from its previous value
// (Takács, Pilászy and Tikk 2011), using YᵀCY = YᵀY + Yᵀ(C−I)Y so that a
// row costs O((nnz·k + k²)·CGSteps). Rows are spread over Workers
// goroutines in blocks of equal work; the result does not depend on
// Workers.
//
// Besides the model (8·K bytes per user and item) training holds 8 bytes
// per pair (the confidences in both orders) and up to 16 MiB of scratch per
// worker. On 1M users, 100k items and 15M pairs with K = 64, ten
// iterations took about two minutes on two shared cores.
//
// TrainALS checks ctx between blocks of rows and returns ctx's error,
// wrapped, when it is done.
func TrainALS(ctx context.Context, d *Dataset, cfg ALSConfig) (*Factors, error) {
	return trainALS(ctx, d, cfg, nil)
}

// trainALS is TrainALS reporting each iteration to progress.
func trainALS(ctx context.Context, d *Dataset, cfg ALSConfig, progress Progress) (*Factors, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("train iALS: %w", err)
	}
	t := newALSTrainer(d, cfg)
	for it := 0; it < cfg.Iterations; it++ {
		progress.update("iALS iterations", it, cfg.Iterations)
		if err := t.sweep(ctx, true); err != nil {
			return nil, fmt.Errorf("train iALS: iteration %d of %d, users: %w", it+1, cfg.Iterations, err)
		}
		if err := t.sweep(ctx, false); err != nil {
			return nil, fmt.Errorf("train iALS: iteration %d of %d, items: %w", it+1, cfg.Iterations, err)
		}
	}
	progress.update("iALS iterations", cfg.Iterations, cfg.Iterations)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("train iALS: %w", err)
	}
	return t.result(), nil
}

// result is the trained model: the item Gram matrix FoldIn needs and the
// user vectors quantised (Factors.UserCodes).
func (t *alsTrainer) result() *Factors {
	t.gram(t.f.Gram, t.f.Item, false)
	t.f.setUsers(t.user)
	return t.f
}

// setUsers quantises the row-major float64 user vectors x into f.
func (f *Factors) setUsers(x []float64) {
	n := len(x) / f.K
	f.UserCodes, f.UserScale = make([]int8, n*f.K), make([]float32, n)
	for u := range n {
		f.UserScale[u] = quantize(f.UserCodes[u*f.K:(u+1)*f.K], x[u*f.K:(u+1)*f.K])
	}
}

// alsTrainer holds the state of one TrainALS run.
type alsTrainer struct {
	d       *Dataset
	cfg     ALSConfig
	f       *Factors  // UserCodes and UserScale are filled by result
	user    []float64 // the user vectors being solved, row-major
	userExt []float32 // per pair in user order: c−1 = Alpha·Strength
	itemExt []float32 // the same, in item order (aligned with ItemUsers)
	g       []float64 // K·K: YᵀY + λI of the fixed side
	partial []float64 // gramChunks·K·K partial Gram matrices

	userBlocks, itemBlocks []int // runBlocks bounds of equal work
	workers                []alsWorker
}

// alsWorker is one goroutine's scratch: no allocation per row.
type alsWorker struct {
	r, p, ap []float64
	yr, t    []float64 // a gathered row (cgRow) and its per-vector products

	maxGather int // longest row cgRow copies whole, gatherBytes/(8K), ≥ 1
}

// gramChunks is the fixed number of row chunks the Gram matrix is summed
// over, so the floating-point result is the same for every Workers.
const gramChunks = 64

func newALSTrainer(d *Dataset, cfg ALSConfig) *alsTrainer {
	k := cfg.Factors
	f := &Factors{
		K:       k,
		Item:    make([]float64, d.NumItems()*k),
		Gram:    make([]float64, k*k),
		Reg:     cfg.Reg,
		Alpha:   cfg.Alpha,
		Weights: cfg.Weights,
	}
	// Small random start: the first user half-sweep solves against these
	// item vectors, and the users' start only warms that solve.
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	scale := 0.1 / math.Sqrt(float64(k))
	user := make([]float64, d.NumUsers()*k)
	for i := range user {
		user[i] = rng.NormFloat64() * scale
	}
	for i := range f.Item {
		f.Item[i] = rng.NormFloat64() * scale
	}
	t := &alsTrainer{
		d:       d,
		cfg:     cfg,
		f:       f,
		user:    user,
		userExt: make([]float32, d.NumPairs()),
		itemExt: make([]float32, d.NumPairs()),
		g:       make([]float64, k*k),
		partial: make([]float64, gramChunks*k*k),
		workers: make([]alsWorker, cfg.Workers),
	}
	for p, s := range d.Signals {
		t.userExt[p] = float32(cfg.Alpha * cfg.Weights.Strength(s))
	}
	for q, p := range d.ItemPairs {
		t.itemExt[q] = t.userExt[p]
	}
	// A row costs its pairs' dot products and axpys plus the K×K Gram
	// product: 2·nnz·K + K² multiply-adds, K/2 pairs' worth.
	t.userBlocks = workBlocks(d.UserPtr, int64(k/2), 256*cfg.Workers)
	t.itemBlocks = workBlocks(d.ItemPtr, int64(k/2), 256*cfg.Workers)
	longest := int64(0)
	for _, ptr := range [][]int64{d.UserPtr, d.ItemPtr} {
		for r := 1; r < len(ptr); r++ {
			longest = max(longest, ptr[r]-ptr[r-1])
		}
	}
	for w := range t.workers {
		s := alsWorker{r: make([]float64, k), p: make([]float64, k), ap: make([]float64, k), maxGather: max(gatherBytes/(8*k), 1)}
		rows := min(int(longest), s.maxGather)
		s.yr, s.t = make([]float64, rows*k), make([]float64, rows)
		t.workers[w] = s
	}
	return t
}

// sweep updates every user vector (users) or every item vector (!users)
// with the other side fixed.
func (t *alsTrainer) sweep(ctx context.Context, users bool) error {
	k := t.cfg.Factors
	var (
		ptr   []int64
		idx   []int32
		ext   []float32
		x     []float64 // rows being solved
		other []float64 // fixed side
	)
	if users {
		ptr, idx, ext, x, other = t.d.UserPtr, t.d.UserItems, t.userExt, t.user, t.f.Item
	} else {
		ptr, idx, ext, x, other = t.d.ItemPtr, t.d.ItemUsers, t.itemExt, t.f.Item, t.user
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.gram(t.g, other, true)
	g := blas64.General{Rows: k, Cols: k, Data: t.g, Stride: k}
	bounds := t.itemBlocks
	if users {
		bounds = t.userBlocks
	}
	return runBlocks(ctx, bounds, len(t.workers), func(w, lo, hi int) {
		s := &t.workers[w]
		for r := lo; r < hi; r++ {
			a, b := ptr[r], ptr[r+1]
			s.cgRow(x[r*k:(r+1)*k], g, other, k, idx[a:b], ext[a:b], t.cfg.CGSteps)
		}
	})
}

// gram writes YᵀY (plus λI when reg) of the row-major n×K matrix y into
// dst as a full K×K matrix. Chunks of rows are summed in a fixed order.
func (t *alsTrainer) gram(dst, y []float64, reg bool) {
	k := t.cfg.Factors
	n := len(y) / k
	chunk := (n + gramChunks - 1) / gramChunks
	clear(t.partial)
	// runBlocks with a background context cannot fail.
	_ = runBlocks(context.Background(), evenBlocks(gramChunks, 1), len(t.workers), func(_, c, _ int) {
		lo, hi := c*chunk, min((c+1)*chunk, n)
		if lo >= hi {
			return
		}
		blas64.Syrk(blas.Trans, 1,
			blas64.General{Rows: hi - lo, Cols: k, Data: y[lo*k : hi*k], Stride: k},
			0, blas64.Symmetric{Uplo: blas.Upper, N: k, Data: t.partial[c*k*k : (c+1)*k*k], Stride: k})
	})
	clear(dst)
	for c := 0; c < gramChunks; c++ {
		floats.Add(dst, t.partial[c*k*k:(c+1)*k*k])
	}
	for i := 0; i < k; i++ {
		for j := 0; j < i; j++ {
			dst[i*k+j] = dst[j*k+i]
		}
		if reg {
			dst[i*k+i] += t.cfg.Reg
		}
	}
}

// gatherBytes bounds a worker's copy of one row's fixed-side vectors
// (16 MiB: 32768 vectors of 64 factors).
const gatherBytes = 16 << 20

// cgRow takes CG steps from x toward the minimiser of
//
//	xᵀ(G + Σ_n ext_n y_n y_nᵀ)x − 2 Σ_n (1+ext_n) y_nᵀx
//
// where G = YᵀY + λI and y_n is row idx[n] of other.
//
// The row's vectors y_n are scattered over the fixed side, which for the
// item half-sweep is hundreds of megabytes of user vectors, so reading
// them straight from there in every step is bound by memory latency. A row
// of at most maxGather vectors is instead copied once into a contiguous
// matrix Y_r, and every step is then two matrix-vector products streaming
// over Y_r. A longer row (a bestseller's column) is copied in chunks of
// maxGather vectors, again in every step.
func (s *alsWorker) cgRow(x []float64, g blas64.General, other []float64, k int, idx []int32, ext []float32, steps int) {
	m := len(idx)
	chunk := min(m, s.maxGather)
	if cap(s.yr) < chunk*k {
		s.yr = make([]float64, chunk*k)
		s.t = make([]float64, chunk)
	}
	resident := m <= s.maxGather
	if resident {
		s.gather(other, k, idx)
	}
	r, p, ap := s.r, s.p, s.ap
	vx := blas64.Vector{N: k, Data: x, Inc: 1}
	vr := blas64.Vector{N: k, Data: r, Inc: 1}
	vp := blas64.Vector{N: k, Data: p, Inc: 1}
	vap := blas64.Vector{N: k, Data: ap, Inc: 1}
	// rowProduct adds Y_rᵀ f(Y_r v) to dst, f applied per vector n to
	// (y_n·v, e_n).
	rowProduct := func(v, dst blas64.Vector, f func(yv, e float64) float64) {
		for lo := 0; lo < m; lo += chunk {
			hi := min(lo+chunk, m)
			if !resident {
				s.gather(other, k, idx[lo:hi])
			}
			y := blas64.General{Rows: hi - lo, Cols: k, Data: s.yr[:(hi-lo)*k], Stride: k}
			t := s.t[:hi-lo]
			vt := blas64.Vector{N: hi - lo, Data: t, Inc: 1}
			blas64.Gemv(blas.NoTrans, 1, y, v, 0, vt)
			for n, e := range ext[lo:hi] {
				t[n] = f(t[n], float64(e))
			}
			blas64.Gemv(blas.Trans, 1, y, vt, 1, dst)
		}
	}
	// r = b − Ax = −Gx + Y_rᵀ w with w_n = 1 + e_n − e_n·(y_n·x).
	blas64.Gemv(blas.NoTrans, -1, g, vx, 0, vr)
	rowProduct(vx, vr, func(yx, e float64) float64 { return 1 + e*(1-yx) })
	copy(p, r)
	rs := floats.Dot(r, r)
	for step := 0; step < steps && rs > 1e-20; step++ {
		// ap = Gp + Y_rᵀ (e ∘ Y_r p).
		blas64.Gemv(blas.NoTrans, 1, g, vp, 0, vap)
		rowProduct(vp, vap, func(yp, e float64) float64 { return e * yp })
		if !s.cgStep(x, &rs) {
			return
		}
	}
}

// gather copies the vectors of other at idx into the start of s.yr.
func (s *alsWorker) gather(other []float64, k int, idx []int32) {
	for n, j := range idx {
		copy(s.yr[n*k:(n+1)*k], other[int(j)*k:int(j)*k+k])
	}
}

// cgStep moves x along p given ap = Ap and updates r, p and rs = r·r. It
// reports false when the direction has no curvature left.
func (s *alsWorker) cgStep(x []float64, rs *float64) bool {
	r, p, ap := s.r, s.p, s.ap
	pap := floats.Dot(p, ap)
	if pap <= 0 {
		return false
	}
	a := *rs / pap
	floats.AddScaled(x, a, p)
	floats.AddScaled(r, -a, ap)
	next := floats.Dot(r, r)
	floats.AddScaledTo(p, r, next/(*rs), p)
	*rs = next
	return true
}

// loss is the iALS objective of the trainer's current vectors on its data:
//
//	Σ_u Σ_i c_ui (p_ui − x_u·y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)
//
// summed over every cell, computed as Σ_u x_uᵀ(YᵀY)x_u plus a correction
// on the observed pairs.
func (t *alsTrainer) loss() float64 {
	f, d := t.f, t.d
	k := f.K
	g := make([]float64, k*k)
	blas64.Gemm(blas.Trans, blas.NoTrans, 1,
		blas64.General{Rows: f.NumItems(), Cols: k, Data: f.Item, Stride: k},
		blas64.General{Rows: f.NumItems(), Cols: k, Data: f.Item, Stride: k},
		0, blas64.General{Rows: k, Cols: k, Data: g, Stride: k})
	gx := make([]float64, k)
	var l float64
	for u := int32(0); u < int32(d.NumUsers()); u++ {
		x := t.user[int(u)*k : (int(u)+1)*k]
		blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: k, Cols: k, Data: g, Stride: k},
			blas64.Vector{N: k, Data: x, Inc: 1}, 0, blas64.Vector{N: k, Data: gx, Inc: 1})
		l += floats.Dot(x, gx) + f.Reg*floats.Dot(x, x)
		items, sigs := d.UserRow(u)
		for n, it := range items {
			s := floats.Dot(x, f.ItemVec(it))
			c := 1 + f.Alpha*f.Weights.Strength(sigs[n])
			l += c*(1-s)*(1-s) - s*s
		}
	}
	return l + f.Reg*floats.Dot(f.Item, f.Item)
}

// runBlocks calls fn(worker, lo, hi) for every block [bounds[b],
// bounds[b+1]), handing blocks out dynamically to workers goroutines. It
// stops handing out blocks once ctx is done and then returns ctx's error.
func runBlocks(ctx context.Context, bounds []int, workers int, fn func(w, lo, hi int)) error {
	blocks := len(bounds) - 1
	if blocks <= 0 {
		return ctx.Err()
	}
	workers = max(1, min(workers, blocks))
	var next atomic.Int64
	var stopped atomic.Bool
	run := func(w int) {
		for {
			b := int(next.Add(1) - 1)
			if b >= blocks {
				return
			}
			if ctx.Err() != nil {
				stopped.Store(true)
				return
			}
			fn(w, bounds[b], bounds[b+1])
		}
	}
	if workers == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Go(func() { run(w) })
		}
		wg.Wait()
	}
	if stopped.Load() {
		return ctx.Err() // a done context stays done
	}
	return nil
}

// evenBlocks splits [0, n) into blocks of size indexes.
func evenBlocks(n, size int) []int {
	bounds := []int{0}
	for lo := size; lo < n; lo += size {
		bounds = append(bounds, lo)
	}
	if n > 0 {
		bounds = append(bounds, n)
	}
	return bounds
}

// workBlocks splits the rows of a CSR pointer into about blocks blocks of
// equal work, a row costing its entries plus rowCost, so that one heavy row
// (a bestseller's column) does not leave the other workers idle.
func workBlocks(ptr []int64, rowCost int64, blocks int) []int {
	n := len(ptr) - 1
	if n <= 0 {
		return []int{0}
	}
	target := max((ptr[n]+int64(n)*rowCost)/int64(max(blocks, 1)), 1)
	bounds := []int{0}
	var acc int64
	for r := range n {
		acc += ptr[r+1] - ptr[r] + rowCost
		if acc >= target {
			bounds = append(bounds, r+1)
			acc = 0
		}
	}
	if bounds[len(bounds)-1] != n {
		bounds = append(bounds, n)
	}
	return bounds
}
