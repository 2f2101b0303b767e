package bench

import (
	"fmt"
	"strings"
	"testing"
)

func TestTrainerPeak_ReadsTheTrainersOwnFigure(t *testing.T) {
	out := "trained in 7m39s: 960170 users, 100000 products, 19171967 user-product pairs, k=64; blend learned: true; EASE λ 1000, half-life none (chosen on the holdout among 4)\n  snapshot /tmp/x\n  peak RSS 2496 MiB\n"
	if got := trainerPeak(out); got != 2496<<20 {
		t.Errorf("trainerPeak = %d MiB, want 2496", got>>20)
	}
	if got := trainerPeak("no figure"); got != 0 {
		t.Errorf("trainerPeak without a figure = %d", got)
	}
}

func TestRankingPrint_WarnsWhenTheHostTookTheCPU(t *testing.T) {
	lr := LoadResult{Rate: 100, Achieved: 100, Requests: 3, Seconds: 0.03, Latencies: []int64{100, 200, 300}}
	for _, c := range []struct {
		steal float64
		warn  bool
	}{{0, false}, {0.01, false}, {0.05, true}} {
		r := RankingResult{Rate: 100, Rounds: []LoadRound{{Target: "server", LoadResult: lr, Steal: c.steal}}}
		var b strings.Builder
		r.Print(&b)
		out := b.String()
		if got := strings.Contains(out, "warning: the hypervisor"); got != c.warn {
			t.Errorf("steal %.2f: warning printed %v, want %v:\n%s", c.steal, got, c.warn, out)
		}
		if want := fmt.Sprintf("%.1f%%", 100*c.steal); !strings.Contains(out, want) {
			t.Errorf("steal %.2f: the round's steal %s not in the report:\n%s", c.steal, want, out)
		}
	}
}
