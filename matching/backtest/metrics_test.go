package backtest

import (
	"math"
	"testing"
)

func TestSpearmanTiesAndWAPE(t *testing.T) {
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); math.Abs(r-1) > 1e-12 {
		t.Errorf("monotone: %v", r)
	}
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Errorf("reversed: %v", r)
	}
	// Ties get the average rank: ranks of y are 1.5, 1.5, 3, 4.
	got := Spearman([]float64{1, 2, 3, 4}, []float64{0, 0, 5, 9})
	want := pearson([]float64{1, 2, 3, 4}, []float64{1.5, 1.5, 3, 4})
	if math.Abs(got-want) > 1e-12 || got >= 1 {
		t.Errorf("ties: %v, want %v", got, want)
	}
	if r := Spearman([]float64{1, 1, 1}, []float64{1, 2, 3}); r != 0 {
		t.Errorf("constant: %v", r)
	}
	if w := WAPE([]float64{1, 3}, []float64{2, 2}); math.Abs(w-0.5) > 1e-12 {
		t.Errorf("WAPE = %v, want 0.5", w)
	}
	if w := WAPE([]float64{1}, []float64{0}); !math.IsNaN(w) {
		t.Errorf("WAPE of zero actuals = %v, want NaN", w)
	}
}

func TestBootstrapIntervalContainsEstimate(t *testing.T) {
	x := make([]float64, 200)
	y := make([]float64, 200)
	for i := range x {
		x[i] = float64(i)
		y[i] = float64(i) + 40*math.Sin(float64(i))
	}
	rs := newResampler(len(x), 300, 1)
	e := rs.estimate(x, y, Spearman)
	if !(e.Lo <= e.Value && e.Value <= e.Hi) || e.Hi-e.Lo <= 0 || e.Hi-e.Lo > 0.3 {
		t.Errorf("Spearman %+v", e)
	}
	if again := newResampler(len(x), 300, 1).estimate(x, y, Spearman); again != e {
		t.Errorf("not reproducible: %+v vs %+v", again, e)
	}
}
