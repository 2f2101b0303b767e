package ranking

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// powerLawDataset draws about pairs interactions of users with items:
// item popularity is Zipf (s = 1.1), user activity mildly skewed (density
// ∝ rank^−1/3), signals mostly single views over 30 days. Duplicate draws
// merge, so the dataset holds somewhat fewer pairs.
func powerLawDataset(users, items, pairs int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 4))
	zipf := rand.NewZipf(rng, 1.1, 20, uint64(items-1))
	b := NewBuilder()
	for i := range items {
		b.AddItem(Item{ID: uint64(i + 1), InStock: true})
	}
	const t0 = 1_700_000_000
	for range pairs {
		u := uint64(float64(users) * math.Pow(rng.Float64(), 1.5))
		s := Signal{Views: 1, Last: uint32(t0 + rng.IntN(30*86400))}
		s.First = s.Last
		switch x := rng.IntN(100); {
		case x < 3:
			s.Purchases = 1
		case x < 10:
			s.Chats = 1
		case x < 40:
			s.DwellSec = uint16(rng.IntN(300))
		}
		b.AddSignal(u+1, zipf.Uint64()+1, s)
	}
	return b.Build()
}

var (
	benchDataOnce sync.Once
	benchData     *Dataset
)

// benchDataset is the shared benchmark dataset: 50k users, 10k items,
// about 1M pairs.
func benchDataset(b *testing.B) *Dataset {
	b.Helper()
	benchDataOnce.Do(func() { benchData = powerLawDataset(50_000, 10_000, 1_000_000, 1) })
	return benchData
}

// randomFactors is a model with random item vectors, for the serving-side
// benchmarks.
func randomFactors(items, k int) *Factors {
	rng := rand.New(rand.NewPCG(5, 5))
	f := &Factors{K: k, Item: make([]float64, items*k), Gram: make([]float64, k*k), Reg: 0.1, Alpha: 4, Weights: DefaultWeights()}
	for i := range f.Item {
		f.Item[i] = rng.NormFloat64() * 0.1
	}
	y := blas64.General{Rows: items, Cols: k, Data: f.Item, Stride: k}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, y, y, 0, blas64.General{Rows: k, Cols: k, Data: f.Gram, Stride: k})
	return f
}

func BenchmarkTrainALS(b *testing.B) {
	d := benchDataset(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TrainALS(context.Background(), d, ALSConfig{Factors: 64, Iterations: 1}); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(d.NumUsers()*b.N)/sec, "users/s")
	b.ReportMetric(float64(d.NumPairs()*b.N)/sec, "pairs/s")
}

func BenchmarkFoldIn(b *testing.B) {
	f := randomFactors(10_000, 64)
	rng := rand.New(rand.NewPCG(6, 6))
	items := make([]int32, 30)
	sigs := make([]Signal, 30)
	for n := range items {
		items[n] = int32(rng.IntN(10_000))
		sigs[n] = Signal{Views: 1 + uint16(rng.IntN(3)), Purchases: uint16(rng.IntN(10) / 9)}
	}
	dst := make([]float64, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = f.FoldIn(items, sigs, dst)
	}
}

func BenchmarkScoreAll(b *testing.B) {
	f := randomFactors(10_000, 64)
	x := make([]float64, 64)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	dst := make([]float64, f.NumItems())
	b.ReportAllocs()
	for b.Loop() {
		f.ScoreAll(x, dst)
	}
	b.ReportMetric(float64(f.NumItems()*b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkBuildNeighbours(b *testing.B) {
	d := benchDataset(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildNeighbours(context.Background(), d, NeighbourConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.NumItems()*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkTrainEASE fits EASE on the head of the shared benchmark
// dataset (4,000 of its 10,000 items): the Gram matrix and its inverse,
// which at this head size costs the same at any number of users.
func BenchmarkTrainEASE(b *testing.B) {
	d := benchDataset(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TrainEASE(context.Background(), d, EASEConfig{MaxItems: 4000}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLearnBlend measures learning the blend on a holdout at the
// benchmark's catalog size (100k products; 300k users, 6M pairs): with
// EASE's setting chosen on the holdout (TrainConfig.ChooseEASE) and fixed
// (the default).
func BenchmarkLearnBlend(b *testing.B) {
	d := powerLawDataset(300_000, 100_000, 6_000_000, 3)
	cut := d.MaxUnix - (d.MaxUnix-d.MinUnix)*15/100
	for _, choose := range []bool{true, false} {
		b.Run(map[bool]string{true: "ease=chosen", false: "ease=fixed"}[choose], func(b *testing.B) {
			cfg := TrainConfig{BlendHoldout: 0.15, ChooseEASE: choose}
			for b.Loop() {
				if _, err := learnBlendOnHoldout(b.Context(), d, cut, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
