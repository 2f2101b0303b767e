package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vetrina/vetrina/internal/bench"
	"github.com/vetrina/vetrina/internal/progress"
	"github.com/vetrina/vetrina/ranking"
)

func runTrain(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("train", "Trains the ranking model once from ClickHouse and writes the snapshot a serving process loads.")
	ch := f.clickhouse("127.0.0.1:9000")
	rf := f.training(filepath.Join(".vetrina", "models", "ranking.gob"))
	if err := f.parse(args); err != nil {
		return err
	}
	if *rf.snapshot == "" {
		return errors.New("vetrina train: --model-snapshot is required")
	}
	st, err := openStore(ch, trainReadTimeout)
	if err != nil {
		return err
	}
	defer st.Close()
	r := ranking.New(ranking.Config{})
	// Progress on stderr: a bar on a terminal, else a line per tenth of
	// each step.
	meter := progress.New(os.Stderr)
	defer meter.Finish()
	cfg := rf.trainConfig()
	cfg.Progress = meter.Update
	tr := ranking.NewTrainer(st, r, ranking.TrainerConfig{Train: cfg, Window: *rf.window, Snapshot: *rf.snapshot, Logger: log})
	start := time.Now()
	m, err := tr.TrainOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("trained in %s: %d users, %d products, %d user-product pairs, k=%d; blend learned: %v%s\n  snapshot %s\n  peak RSS %d MiB\n",
		time.Since(start).Round(time.Millisecond), m.Data.NumUsers(), m.Data.NumItems(), m.Data.NumPairs(), m.Factors.K, m.Blend.Learned,
		easeSetting(m), *rf.snapshot, bench.PeakRSS("self")>>20)
	return nil
}

// easeSetting describes the model's EASE λ and half-life, and whether the
// holdout chose them.
func easeSetting(m *ranking.Model) string {
	if m.EASE == nil {
		return ""
	}
	hl := "none"
	if m.EASE.HalfLife > 0 {
		hl = (time.Duration(m.EASE.HalfLife) * time.Second).Round(time.Hour).String()
	}
	how := "given"
	if len(m.Blend.EASE) > 0 {
		how = fmt.Sprintf("chosen on the holdout among %d", len(m.Blend.EASE))
	}
	return fmt.Sprintf("; EASE λ %g, half-life %s (%s)", m.EASE.Lambda, hl, how)
}
