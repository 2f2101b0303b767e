package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/sim"
)

func runSimulate(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("simulate", "Produces seeded, reproducible live-commerce traffic (catalog first, then views, chats and purchases, with a live message when each live starts and ends).")
	k := f.kafka("127.0.0.1:9092")
	count := f.Int("count", 0, "events (views, chats, purchases) to produce, live messages not counted (0 = until interrupted)")
	rate := f.Float64("rate", 1000, "events per second, stamped with the wall clock (0 = as fast as possible, stamped with the simulated clock, which then starts in the past)")
	seed := f.Int64("seed", 1, "random seed: the same seed gives the same world and events")
	truth := f.String("truth", "", "write the simulator's true parameters (users' tastes, influencers' skill and fee, lives and their expected GMV) to this JSON file at the end")
	if err := f.parse(args); err != nil {
		return err
	}
	n, err := simulate(ctx, log, k.brokerList(), topics(*k.topicPrefix), *seed, *count, *rate, *truth)
	fmt.Printf("produced %d events\n", n)
	return err
}

// simulate runs the simulator until count events are produced or ctx ends.
func simulate(ctx context.Context, log *slog.Logger, brokers []string, t ingest.Topics, seed int64, count int, rate float64, truthPath string) (int, error) {
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	w, err := sim.NewWorld(cfg)
	if err != nil {
		return 0, err
	}
	start := time.Now().UTC()
	if rate > 0 {
		g := sim.NewGenerator(w, seed, start)
		g.UseWallClock()
		return runSim(ctx, log, brokers, t, w, g, count, rate, truthPath)
	}
	// Unpaced, the simulated clock runs far ahead of real time (about
	// 60ms per event): start it in the past so that no event is in the
	// future.
	start = start.Add(-time.Hour - time.Duration(count)*100*time.Millisecond)
	return runSim(ctx, log, brokers, t, w, sim.NewGenerator(w, seed, start), count, rate, truthPath)
}

func runSim(ctx context.Context, log *slog.Logger, brokers []string, t ingest.Topics, w *sim.World, g *sim.Generator, count int, rate float64, truthPath string) (int, error) {
	out := newWriter(brokers)
	defer out.Close()
	st := sim.Topics{}
	for k, v := range t {
		st[k] = v
	}
	n, err := sim.Run(ctx, w, g, out, st, sim.RunConfig{Count: count, Rate: rate}, log)
	if err != nil && ctx.Err() == nil {
		return n, fmt.Errorf("simulate: %w", err)
	}
	if truthPath != "" {
		if err := writeTruth(g, truthPath); err != nil {
			return n, err
		}
		log.Info("simulator truth written", "path", truthPath)
	}
	return n, nil
}

func newWriter(brokers []string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Balancer:     &kafka.Hash{},
		BatchSize:    2000,
		BatchBytes:   4 << 20,
		BatchTimeout: 20 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
		Compression:  kafka.Lz4,
	}
}

func writeTruth(g *sim.Generator, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write simulator truth: %w", err)
	}
	if err := g.WriteTruth(f); err != nil {
		f.Close()
		return fmt.Errorf("write simulator truth to %s: %w", path, err)
	}
	return f.Close()
}
