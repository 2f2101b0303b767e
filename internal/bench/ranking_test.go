package bench

import "testing"

func TestTrainerPeak_ReadsTheTrainersOwnFigure(t *testing.T) {
	out := "trained in 7m39s: 960170 users, 100000 products, 19171967 user-product pairs, k=64; blend learned: true; EASE λ 1000, half-life none (chosen on the holdout among 4)\n  snapshot /tmp/x\n  peak RSS 2496 MiB\n"
	if got := trainerPeak(out); got != 2496<<20 {
		t.Errorf("trainerPeak = %d MiB, want 2496", got>>20)
	}
	if got := trainerPeak("no figure"); got != 0 {
		t.Errorf("trainerPeak without a figure = %d", got)
	}
}
