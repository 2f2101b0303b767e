package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/retry"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/store"
	"golang.org/x/sync/errgroup"
)

func topics(prefix string) ingest.Topics {
	t := ingest.Topics{}
	for _, k := range event.Kinds {
		t[k] = prefix + k.Plural()
	}
	return t
}

func topicNames(t ingest.Topics) []string {
	var out []string
	for _, k := range event.Kinds {
		out = append(out, t[k])
	}
	return out
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewBuildInfoCollector())
	bi := buildInfo()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vetrina_build_info",
		Help:        "Always 1; the labels say which build runs: the module version, the VCS revision and time, whether the tree was modified, the Go version.",
		ConstLabels: bi,
	}, func() float64 { return 1 }))
	return reg
}

// trainReadTimeout bounds one read of a training query: ClickHouse
// aggregates tens of millions of events before it sends the first block.
const trainReadTimeout = 10 * time.Minute

// openStore connects to ClickHouse; readTimeout 0 keeps the store's default.
func openStore(c chFlags, readTimeout time.Duration) (*store.Store, error) {
	return store.Open(store.Config{Addr: *c.addr, Database: *c.database, Username: *c.user, Password: *c.password, Compression: *c.compression, ReadTimeout: readTimeout,
		Cluster: *c.cluster, ClusterMode: *c.clusterMode})
}

// schema applies the database's migrations in the background, so that a
// serving process opens its HTTP port at once even while ClickHouse is
// unreachable: /healthz answers, and /readyz says why it is not ready
// until the migrations are applied.
type schema struct {
	st      *store.Store
	log     *slog.Logger
	applied atomic.Bool
	lastErr atomic.Pointer[string]
}

func newSchema(st *store.Store, log *slog.Logger) *schema {
	s := &schema{st: st, log: log}
	msg := "not applied yet"
	s.lastErr.Store(&msg)
	return s
}

// check is the schema's readiness check.
func (s *schema) check(context.Context) error {
	if s.applied.Load() {
		return nil
	}
	return fmt.Errorf("clickhouse: schema migrations pending: %s", *s.lastErr.Load())
}

// apply applies the migrations, retrying with backoff until ClickHouse
// answers. It returns ctx's error when ctx ends first.
func (s *schema) apply(ctx context.Context) error {
	b := retry.NewBackoff(500*time.Millisecond, 10*time.Second)
	for {
		applied, err := s.st.Migrate(ctx)
		if err == nil {
			if len(applied) > 0 {
				s.log.Info("schema migrations applied", "database", s.st.Database(), "versions", applied)
			}
			s.applied.Store(true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := err.Error()
		s.lastErr.Store(&msg)
		s.log.Warn("migrate: ClickHouse not ready; retrying", "in", b.Next(), "err", err)
		if err := b.Sleep(ctx); err != nil {
			return err
		}
	}
}

// afterSchema runs start in g once the migrations are applied; a stop
// while waiting for ClickHouse is a clean stop, not an error.
func afterSchema(ctx context.Context, g *errgroup.Group, sc *schema, start func()) {
	g.Go(func() error {
		if err := sc.apply(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		start()
		return nil
	})
}

func newIngester(k kafkaFlags, f ingestFlags, st *store.Store, reg prometheus.Registerer, log *slog.Logger) (*ingest.Ingester, error) {
	dw := *f.dedupWindow
	if dw == 0 {
		dw = -1
	}
	return ingest.New(ingest.Config{
		Brokers:          k.brokerList(),
		GroupID:          *f.group,
		Topics:           topics(*k.topicPrefix),
		BatchRows:        *f.batchRows,
		Linger:           *f.linger,
		DedupWindow:      dw,
		Limits:           event.Limits{MaxBytes: *f.maxBytes},
		SessionTimeout:   *f.session,
		MaxBufferedBytes: max(1, *f.bufferedMiB) << 20,
		AfterInsert:      failpoint(log),
		Logger:           log,
	}, st, ingest.NewMetrics(reg))
}

func ingestChecks(in *ingest.Ingester, st *store.Store) map[string]api.Check {
	return map[string]api.Check{
		"clickhouse": st.Ping,
		"ingest":     func(context.Context) error { return in.Ready() },
	}
}

// failpoint returns, when VETRINA_FAILPOINT_KILL_AFTER_INSERTS=N is set, a
// hook that SIGKILLs this process right after its Nth insert, before the
// offset is committed: the worst moment to die, which the crash test needs
// to hit deterministically. Unset, it returns nil.
func failpoint(log *slog.Logger) func() {
	n, err := strconv.Atoi(os.Getenv("VETRINA_FAILPOINT_KILL_AFTER_INSERTS"))
	if err != nil || n <= 0 {
		return nil
	}
	log.Warn("failpoint armed: this process kills itself after an insert", "inserts", n)
	var count atomic.Int64
	return func() {
		if count.Add(1) >= int64(n) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// pipeline is what `ingest` and `up` share: the store, the ingester and
// the HTTP server (with the models for `up`), not yet running.
type pipeline struct {
	st         *store.Store
	trainStore *store.Store // nil without ranking
	in         *ingest.Ingester
	srv        *api.Server
	ms         *models // nil without ranking
	schema     *schema
	reg        *prometheus.Registry
}

// newPipeline builds the parts; with rf the API serves the feed too.
func newPipeline(log *slog.Logger, k kafkaFlags, ch chFlags, inf ingestFlags, rf *modelFlags, httpAddr string, auth *api.Auth, accessLog string) (*pipeline, error) {
	st, err := openStore(ch, 0)
	if err != nil {
		return nil, err
	}
	sc := newSchema(st, log)
	reg := newRegistry()
	in, err := newIngester(k, inf, st, reg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	cfg := api.Config{Addr: httpAddr, Gatherer: reg, Registerer: reg, Checks: ingestChecks(in, st), Logger: log, Auth: auth, AccessLog: accessLog}
	cfg.Checks["schema"] = sc.check
	var ms *models
	var trainStore *store.Store
	if rf != nil {
		// Training reads through its own pool, with a longer timeout.
		if trainStore, err = openStore(ch, trainReadTimeout); err != nil {
			st.Close()
			return nil, err
		}
		ms = newModels(*rf, trainStore, k.brokerList(), topics(*k.topicPrefix), reg, log)
		cfg.Feed = ms.ranker
		cfg.Matching = ms.matching
		cfg.Checks["ranking"] = ms.check
		cfg.Checks["matching"] = ms.matchingCheck
	}
	srv, err := api.New(cfg)
	if err != nil {
		st.Close()
		if trainStore != nil {
			trainStore.Close()
		}
		return nil, fmt.Errorf("listen on %s: %w", httpAddr, err)
	}
	return &pipeline{st: st, trainStore: trainStore, in: in, srv: srv, ms: ms, schema: sc, reg: reg}, nil
}

// run serves HTTP at once and, once the schema is applied, runs the
// ingester and the models, all in g until ctx ends.
func (p *pipeline) run(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return p.srv.Run(ctx) })
	afterSchema(ctx, g, p.schema, func() {
		g.Go(func() error { return p.in.Run(ctx) })
		if p.ms != nil {
			p.ms.run(ctx, g)
		}
	})
}

func (p *pipeline) close() {
	p.st.Close()
	if p.trainStore != nil {
		p.trainStore.Close()
	}
}

// models are the decision models inside a serving process, each kept
// current in the background: the feed ranker with its trainer and event
// follower, and matching's influencer and brand profiles.
type models struct {
	ranker   *ranking.Ranker
	trainer  *ranking.Trainer
	follow   ranking.FollowConfig
	matching *matching.Service
}

func newModels(rf modelFlags, st *store.Store, brokers []string, t ingest.Topics, reg prometheus.Registerer, log *slog.Logger) *models {
	r := ranking.New(ranking.Config{Registerer: reg})
	tr := ranking.NewTrainer(st, r, ranking.TrainerConfig{Train: rf.trainConfig(), Window: *rf.window, Every: *rf.every, Snapshot: *rf.snapshot, Logger: log})
	ms := matching.NewService(matching.ServiceConfig{Source: st, Every: *rf.profilesEvery, Logger: log, Registerer: reg})
	return &models{ranker: r, trainer: tr, matching: ms, follow: ranking.FollowConfig{
		Brokers:  brokers,
		Topics:   map[ranking.Kind]string{ranking.View: t[event.KindView], ranking.Chat: t[event.KindChat], ranking.Purchase: t[event.KindPurchase]},
		Lookback: *rf.lookback,
		Logger:   log,
	}}
}

// run runs the trainer, the follower and the session sweeper until ctx is
// done.
func (m *models) run(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return m.trainer.Run(ctx) })
	g.Go(func() error { return ranking.Follow(ctx, m.follow, m.ranker.Observe) })
	g.Go(func() error { return m.ranker.Run(ctx) })
	g.Go(func() error { return m.matching.Run(ctx) })
}

// matchingCheck reports profiles not computed yet as a degradation: the
// matching routes answer 503 meanwhile, the rest works.
func (m *models) matchingCheck(ctx context.Context) error {
	if err := m.matching.Ready(ctx); err != nil {
		return fmt.Errorf("%w: %v", api.ErrDegraded, err)
	}
	return nil
}

// check reports a missing model as a degradation in /readyz.
func (m *models) check(context.Context) error {
	if m.ranker.Model() == nil {
		return fmt.Errorf("%w: no ranking model trained yet; serving the non-personal feed", api.ErrDegraded)
	}
	return nil
}

// startClickHouse starts a managed ClickHouse and returns it with a
// function that stops it.
func startClickHouse(ctx context.Context, log *slog.Logger, cfg chserver.Config) (*chserver.Server, func(), error) {
	srv, err := chserver.Start(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("start managed ClickHouse (install it with `apt-get install clickhouse-server clickhouse-client`, or pass --clickhouse): %w", err)
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			log.Warn("stop ClickHouse", "err", err)
		}
	}
	return srv, stop, nil
}
