package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/bench"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/store"
)

type rankingFlags struct {
	every, window, lookback *time.Duration
	profilesEvery           *time.Duration
	snapshot                *string
	factors, iterations     *int
	learnBlend              *float64
}

func (f *flags) ranking(defSnapshot string) rankingFlags {
	return rankingFlags{
		every:         f.Duration("train-every", 10*time.Minute, "retrain the ranking model this often"),
		profilesEvery: f.Duration("profiles-every", 10*time.Minute, "recompute the influencer and brand profiles of matching this often"),
		window:        f.Duration("train-window", 90*24*time.Hour, "history a training reads"),
		lookback:      f.Duration("follow-lookback", 30*time.Minute, "at start, read the event topics from this long ago to rebuild users' sessions"),
		snapshot:      f.String("model-snapshot", defSnapshot, "file the ranking model is saved to and loaded from at start (\"\" for none)"),
		factors:       f.Int("factors", 64, "ALS factors (k)"),
		iterations:    f.Int("iterations", 10, "ALS iterations"),
		learnBlend:    f.Float64("learn-blend", 0.15, "learn the blend's weights on this last fraction of the timeline (costs a second training); 0: equal weights of the standardised features"),
	}
}

func (r rankingFlags) trainConfig() ranking.TrainConfig {
	return ranking.TrainConfig{
		ALS:          ranking.ALSConfig{Factors: *r.factors, Iterations: *r.iterations},
		BlendHoldout: *r.learnBlend,
	}
}

// rankingPart is the models inside a serving process: the feed ranker, its
// trainer and the event follower, and the matching profiles.
type rankingPart struct {
	ranker   *ranking.Ranker
	trainer  *ranking.Trainer
	follow   ranking.FollowConfig
	matching *matching.Service
}

func newRankingPart(rf rankingFlags, st *store.Store, brokers []string, t ingest.Topics, reg prometheus.Registerer, log *slog.Logger) *rankingPart {
	r := ranking.New(ranking.Config{Registerer: reg})
	tr := ranking.NewTrainer(st, r, ranking.TrainerConfig{Train: rf.trainConfig(), Window: *rf.window, Every: *rf.every, Snapshot: *rf.snapshot, Logger: log})
	ms := matching.NewService(matching.ServiceConfig{Source: st, Every: *rf.profilesEvery, Logger: log, Registerer: reg})
	return &rankingPart{ranker: r, trainer: tr, matching: ms, follow: ranking.FollowConfig{
		Brokers:  brokers,
		Topics:   map[ranking.Kind]string{ranking.View: t[event.KindView], ranking.Chat: t[event.KindChat], ranking.Purchase: t[event.KindPurchase]},
		Lookback: *rf.lookback,
		Logger:   log,
	}}
}

// run runs the trainer, the follower and the session sweeper until ctx is
// done.
func (p *rankingPart) run(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return p.trainer.Run(ctx) })
	g.Go(func() error { return ranking.Follow(ctx, p.follow, p.ranker.Observe) })
	g.Go(func() error { return p.ranker.Run(ctx) })
	g.Go(func() error { return p.matching.Run(ctx) })
}

// matchingCheck reports profiles not computed yet as a degradation: the
// matching routes answer 503 meanwhile, the rest works.
func (p *rankingPart) matchingCheck(ctx context.Context) error {
	if err := p.matching.Ready(ctx); err != nil {
		return fmt.Errorf("%w: %v", api.ErrDegraded, err)
	}
	return nil
}

// check reports a missing model as a degradation in /readyz.
func (p *rankingPart) check(context.Context) error {
	if p.ranker.Model() == nil {
		return fmt.Errorf("%w: no ranking model trained yet; serving the non-personal feed", api.ErrDegraded)
	}
	return nil
}

func runServe(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("serve", "Serves the HTTP API: the feed (ranking trained from ClickHouse, following the event topics in real time), health and metrics.")
	httpAddr := f.String("http", "127.0.0.1:8080", "HTTP API address")
	k := f.kafka("127.0.0.1:9092")
	ch := f.clickhouse("127.0.0.1:9000")
	rf := f.ranking(filepath.Join(".vetrina", "models", "ranking.gob"))
	af := f.api()
	if err := f.parse(args); err != nil {
		return err
	}
	auth, err := af.load(ctx, log)
	if err != nil {
		return err
	}
	st, err := openStore(ch, trainReadTimeout)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := migrate(ctx, log, st); err != nil {
		return err
	}
	reg := newRegistry()
	rp := newRankingPart(rf, st, k.brokerList(), topics(*k.topicPrefix), reg, log)
	srv, err := api.New(api.Config{Addr: *httpAddr, Gatherer: reg, Registerer: reg, Feed: rp.ranker, Matching: rp.matching, Logger: log, Auth: auth, AccessLog: *af.accessLog,
		Checks: map[string]api.Check{"clickhouse": st.Ping, "ranking": rp.check, "matching": rp.matchingCheck}})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *httpAddr, err)
	}
	fmt.Printf("serving on http://%s/  (/v1/feed /v1/products/{id}/similar /v1/brands/{id}/influencers /v1/influencers/{id} /v1/plans /healthz /readyz /metrics)\n", srv.Addr())
	g, gctx := errgroup.WithContext(ctx)
	rp.run(gctx, g)
	g.Go(func() error { return paceGC(gctx, af.gcHeadroom(), log) })
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}

func runTrain(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("train", "Trains the ranking model once from ClickHouse and writes the snapshot a serving process loads.")
	ch := f.clickhouse("127.0.0.1:9000")
	rf := f.ranking(filepath.Join(".vetrina", "models", "ranking.gob"))
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
	tr := ranking.NewTrainer(st, r, ranking.TrainerConfig{Train: rf.trainConfig(), Window: *rf.window, Snapshot: *rf.snapshot, Logger: log})
	start := time.Now()
	m, err := tr.TrainOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("trained in %s: %d users, %d products, %d user-product pairs, k=%d; blend learned: %v\n  snapshot %s\n  peak RSS %d MiB\n",
		time.Since(start).Round(time.Millisecond), m.Data.NumUsers(), m.Data.NumItems(), m.Data.NumPairs(), m.Factors.K, m.Blend.Learned, *rf.snapshot, bench.PeakRSS("self")>>20)
	return nil
}
