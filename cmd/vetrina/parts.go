package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/chserver"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
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

// buildInfo returns the labels of vetrina_build_info, from what the Go
// toolchain stamped into the binary ("unknown" where it stamped nothing).
func buildInfo() prometheus.Labels {
	l := prometheus.Labels{"version": "unknown", "revision": "unknown", "vcs_time": "unknown", "modified": "unknown", "goversion": runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return l
	}
	l["version"] = info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			l["revision"] = s.Value
		case "vcs.time":
			l["vcs_time"] = s.Value
		case "vcs.modified":
			l["modified"] = s.Value
		}
	}
	return l
}

// trainReadTimeout bounds one read of a training query: ClickHouse
// aggregates tens of millions of events before it sends the first block.
const trainReadTimeout = 10 * time.Minute

// openStore connects to ClickHouse; readTimeout 0 keeps the store's default.
func openStore(c chFlags, readTimeout time.Duration) (*store.Store, error) {
	return store.Open(store.Config{Addr: *c.addr, Database: *c.database, Username: *c.user, Password: *c.password, Compression: *c.compression, ReadTimeout: readTimeout,
		Cluster: *c.cluster, ClusterMode: *c.clusterMode})
}

// migrate applies the migrations, waiting for ClickHouse to come up.
func migrate(ctx context.Context, log *slog.Logger, st *store.Store) error {
	wait := 500 * time.Millisecond
	for {
		applied, err := st.Migrate(ctx)
		if err == nil {
			if len(applied) > 0 {
				log.Info("schema migrations applied", "database", st.Database(), "versions", applied)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("migrate: ClickHouse not ready; retrying", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func newIngester(k kafkaFlags, f ingestFlags, st *store.Store, reg prometheus.Registerer, log *slog.Logger) (*ingest.Ingester, error) {
	dw := *f.dedupWindow
	if dw == 0 {
		dw = -1
	}
	return ingest.New(ingest.Config{
		Brokers:        k.brokerList(),
		GroupID:        *f.group,
		Topics:         topics(*k.topicPrefix),
		BatchRows:      *f.batchRows,
		Linger:         *f.linger,
		DedupWindow:    dw,
		Limits:         event.Limits{MaxBytes: *f.maxBytes},
		SessionTimeout: *f.session,
		AfterInsert:    failpoint(log),
		Logger:         log,
	}, st, ingest.NewMetrics(reg))
}

func ingestChecks(in *ingest.Ingester, st *store.Store) map[string]api.Check {
	return map[string]api.Check{
		"clickhouse": st.Ping,
		"ingest":     func(context.Context) error { return in.Ready() },
	}
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

// pipeline is what `ingest` and `up` share: the store (migrated), the
// ingester and the HTTP server, not yet running.
type pipeline struct {
	st         *store.Store
	trainStore *store.Store // nil without ranking
	in         *ingest.Ingester
	srv        *api.Server
	rp         *rankingPart // nil without ranking
}

// newPipeline builds the parts; with rf the API serves the feed too.
func newPipeline(ctx context.Context, log *slog.Logger, k kafkaFlags, ch chFlags, inf ingestFlags, rf *rankingFlags, httpAddr string, auth *api.Auth, accessLog string) (*pipeline, error) {
	st, err := openStore(ch, 0)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, log, st); err != nil {
		st.Close()
		return nil, err
	}
	reg := newRegistry()
	in, err := newIngester(k, inf, st, reg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	cfg := api.Config{Addr: httpAddr, Gatherer: reg, Registerer: reg, Checks: ingestChecks(in, st), Logger: log, Auth: auth, AccessLog: accessLog}
	var rp *rankingPart
	var trainStore *store.Store
	if rf != nil {
		// Training reads through its own pool, with a longer timeout.
		if trainStore, err = openStore(ch, trainReadTimeout); err != nil {
			st.Close()
			return nil, err
		}
		rp = newRankingPart(*rf, trainStore, k.brokerList(), topics(*k.topicPrefix), reg, log)
		cfg.Feed = rp.ranker
		cfg.Matching = rp.matching
		cfg.Checks["ranking"] = rp.check
		cfg.Checks["matching"] = rp.matchingCheck
	}
	srv, err := api.New(cfg)
	if err != nil {
		st.Close()
		if trainStore != nil {
			trainStore.Close()
		}
		return nil, fmt.Errorf("listen on %s: %w", httpAddr, err)
	}
	return &pipeline{st: st, trainStore: trainStore, in: in, srv: srv, rp: rp}, nil
}

func (p *pipeline) close() {
	p.st.Close()
	if p.trainStore != nil {
		p.trainStore.Close()
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
