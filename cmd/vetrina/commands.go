package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/bench"
	"github.com/vetrina/vetrina/broker"
	"github.com/vetrina/vetrina/chserver"
	"github.com/vetrina/vetrina/store"
)

func runBroker(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("broker", "Runs the embedded Kafka-protocol broker (in memory unless --data-dir) and creates Vetrina's topics.")
	listen := f.String("listen", "127.0.0.1:9092", "address to listen on")
	partitions := f.Int("partitions", 6, "partitions per topic")
	dataDir := f.String("data-dir", "", "persist the log here (default: memory only)")
	prefix := f.String("topic-prefix", "vetrina.", "topic names are PREFIX + views, chats, ..., lives")
	if err := f.parse(args); err != nil {
		return err
	}
	b, err := broker.Start(broker.Config{Listen: *listen, Topics: topicNames(topics(*prefix)), Partitions: *partitions, DataDir: *dataDir})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("broker listening on %s\n", b.Addr())
	log.Info("broker started", "addr", b.Addr(), "partitions", *partitions)
	<-ctx.Done()
	log.Info("broker stopping")
	return nil
}

func runMigrate(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("migrate", "Creates the database and applies the schema migrations not yet applied.")
	ch := f.clickhouse("127.0.0.1:9000")
	print := f.Bool("print", false, "print the migrations' SQL for this layout (with --clickhouse-cluster: the cluster form) instead of applying it")
	if err := f.parse(args); err != nil {
		return err
	}
	if *print {
		return printMigrations(os.Stdout, *ch.database, *ch.cluster, *ch.clusterMode)
	}
	st, err := openStore(ch, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("database %s: applied migrations %v\n", st.Database(), applied)
	return nil
}

// printMigrations writes every migration's statements, as Migrate would
// run them, to w.
func printMigrations(w io.Writer, db, cluster, mode string) error {
	migs, err := store.Migrations(db)
	if cluster != "" {
		migs, err = store.ClusterMigrations(db, cluster, mode)
	}
	if err != nil {
		return err
	}
	for _, m := range migs {
		fmt.Fprintf(w, "-- migration %d: %s\n", m.Version, m.Name)
		for _, stmt := range m.Statements {
			fmt.Fprintf(w, "%s;\n\n", stmt)
		}
	}
	return nil
}

func runIngest(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("ingest", "Consumes the Kafka topics into ClickHouse, every event exactly once. Serves /metrics, /healthz and /readyz on --http.")
	k := f.kafka("127.0.0.1:9092")
	ch := f.clickhouse("127.0.0.1:9000")
	inf := f.ingest()
	httpAddr := f.String("http", "127.0.0.1:9101", "address for /metrics, /healthz and /readyz")
	if err := f.parse(args); err != nil {
		return err
	}
	p, err := newPipeline(ctx, log, k, ch, inf, nil, *httpAddr, nil, api.AccessLogErrors)
	if err != nil {
		return err
	}
	defer p.close()
	in, srv := p.in, p.srv
	log.Info("ingester starting", "brokers", *k.brokers, "clickhouse", *ch.addr, "http", srv.Addr())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return in.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}

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

func runUp(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("up", "Runs the whole system on this machine: a managed ClickHouse (data under --data-dir), the embedded broker, the ingester, the HTTP API and the simulator. With --brokers and --clickhouse it uses those servers and starts none of its own.")
	dataDir := f.String("data-dir", ".vetrina", "where the managed ClickHouse and the embedded broker keep their data")
	httpAddr := f.String("http", "127.0.0.1:8080", "HTTP API address")
	brokerListen := f.String("broker-listen", "127.0.0.1:9092", "embedded broker address")
	partitions := f.Int("partitions", 6, "partitions per topic of the embedded broker")
	chNative := f.Int("clickhouse-native-port", 9000, "managed ClickHouse native port")
	chHTTP := f.Int("clickhouse-http-port", 8123, "managed ClickHouse HTTP port")
	simRate := f.Float64("sim-rate", 200, "simulated events per second (0 disables the simulator)")
	seed := f.Int64("seed", 0, "simulator seed (0: a new one each run, so event ids never repeat across runs)")
	k := f.kafka("")
	ch := f.clickhouse("")
	inf := f.ingest()
	rf := f.ranking(filepath.Join("DATA_DIR", "models", "ranking.gob"))
	af := f.api()
	if err := f.parse(args); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(*rf.snapshot, "DATA_DIR"); ok {
		*rf.snapshot = *dataDir + rest
	}
	// The simulator's lives pile up fast: the demo's profiles follow them
	// every minute unless told otherwise.
	if !f.given("profiles-every") {
		*rf.profilesEvery = time.Minute
	}
	var lines, tokenLines []string
	auth, err := af.load(ctx, log)
	if errors.Is(err, errNoTokens) {
		// The demo works at once: development tokens, printed below.
		auth, tokenLines, err = devTokens()
	}
	if err != nil {
		return err
	}
	if *ch.addr == "" {
		dir, err := filepath.Abs(filepath.Join(*dataDir, "clickhouse"))
		if err != nil {
			return err
		}
		srv, stop, err := startClickHouse(ctx, log, chserver.Config{Dir: dir, NativePort: *chNative, HTTPPort: *chHTTP, Logger: log})
		if err != nil {
			return err
		}
		defer stop()
		*ch.addr = srv.NativeAddr()
		lines = append(lines,
			"ClickHouse native   "+srv.NativeAddr()+"   (clickhouse-client --host 127.0.0.1 --port "+portOf(srv.NativeAddr())+" --user analyst)",
			"ClickHouse HTTP     http://"+srv.HTTPAddr()+"/",
			"ClickHouse data     "+dir)
	} else {
		lines = append(lines, "ClickHouse native   "+*ch.addr+"   (external)")
	}
	if *k.brokers == "" {
		// The broker persists next to ClickHouse: the offsets ClickHouse
		// holds must keep meaning the same messages across runs.
		dir, err := filepath.Abs(filepath.Join(*dataDir, "kafka"))
		if err != nil {
			return err
		}
		b, err := broker.Start(broker.Config{Listen: *brokerListen, Topics: topicNames(topics(*k.topicPrefix)), Partitions: *partitions, DataDir: dir})
		if err != nil {
			return err
		}
		defer b.Close()
		*k.brokers = b.Addr()
		lines = append(lines, "Kafka broker        "+b.Addr()+"   (embedded, data in "+dir+")")
	} else {
		lines = append(lines, "Kafka brokers       "+*k.brokers+"   (external)")
	}
	p, err := newPipeline(ctx, log, k, ch, inf, &rf, *httpAddr, auth, *af.accessLog)
	if err != nil {
		return err
	}
	defer p.close()
	in, srv := p.in, p.srv
	lines = append(lines,
		"HTTP API            http://"+srv.Addr()+"/   (/console/ /v1/feed?user_id=1 /v1/products/{id}/similar /v1/brands/{id}/influencers /v1/influencers/{id} /v1/plans /openapi.json /healthz /readyz /metrics)",
		"Ranking model       "+*rf.snapshot+fmt.Sprintf("   (retrained every %s)", *rf.every),
		"Topics              "+strings.Join(topicNames(topics(*k.topicPrefix)), ", "),
		"Database            "+*ch.database)
	for i, l := range tokenLines {
		head := "                    "
		if i == 0 {
			head = "API tokens (dev)    "
		}
		lines = append(lines, head+l)
	}
	if len(tokenLines) > 0 {
		lines = append(lines, "                    (new ones each run; e.g. curl -H 'Authorization: Bearer <feed token>' .../v1/feed?user_id=1)")
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() & (1<<62 - 1)
	}
	if *simRate > 0 {
		lines = append(lines, fmt.Sprintf("Simulator           %.0f events/s, seed %d", *simRate, *seed))
	}
	fmt.Fprintf(os.Stdout, "\nVetrina is up. Ctrl-C stops everything.\n\n  %s\n\n", strings.Join(lines, "\n  "))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return in.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	p.rp.run(gctx, g)
	g.Go(func() error { return paceGC(gctx, af.gcHeadroom(), log) })
	if *simRate > 0 {
		g.Go(func() error {
			_, err := simulate(gctx, log, k.brokerList(), topics(*k.topicPrefix), *seed, 0, *simRate, "")
			return err
		})
	}
	err = g.Wait()
	log.Info("vetrina stopped")
	return err
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

func runBench(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) > 0 && args[0] == "ranking" {
		return runBenchRanking(ctx, log, args[1:])
	}
	if len(args) > 0 && args[0] == "stand-in" {
		return runBenchStandIn(ctx, log, args[1:])
	}
	if len(args) == 0 || args[0] != "ingest" {
		return fmt.Errorf("usage: vetrina bench ingest|ranking|stand-in [flags]")
	}
	f := newFlags("bench ingest", "Preloads N simulated events into an embedded broker, then measures in one run: end-to-end events/s into ClickHouse through the ingester, and the raw clickhouse-go batch insert rate of the same rows (the ceiling). Starts a managed ClickHouse unless --clickhouse is given.")
	events := f.Int("events", 2_000_000, "events to preload")
	partitions := f.Int("partitions", 6, "partitions per topic")
	ch := f.clickhouse("")
	inf := f.ingest()
	seed := f.Int64("seed", 7, "simulator seed")
	cpuProfile := f.String("cpuprofile", "", "write a CPU profile of the end-to-end phase to this file")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	var prof io.Writer
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		prof = pf
	}
	res, err := bench.Ingest(ctx, bench.Config{
		Events: *events, Partitions: *partitions, Seed: *seed,
		ClickHouse: *ch.addr, Compression: *ch.compression, BatchRows: *inf.batchRows, Linger: *inf.linger, Logger: log, CPUProfile: prof,
		BrokerCommand: func(addr, prefix string, partitions int) *exec.Cmd {
			self, _ := os.Executable()
			return exec.Command(self, "broker", "--listen", addr, "--topic-prefix", prefix, "--partitions", strconv.Itoa(partitions))
		},
	})
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	return nil
}

func runBenchRanking(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("bench ranking", "Loads simulated interactions into ClickHouse, trains the ranking with `vetrina train` (time and peak RSS), starts `vetrina serve` from the snapshot and drives an open-loop feed load while the simulator streams events that the server follows. Starts a managed ClickHouse unless --clickhouse is given.")
	users := f.Int("users", 1_000_000, "simulated users")
	products := f.Int("products", 100_000, "simulated products")
	events := f.Int("events", 20_000_000, "interactions to load")
	rate := f.Float64("rate", 2000, "feed requests per second")
	duration := f.Duration("duration", 30*time.Second, "length of the feed load")
	stream := f.Float64("stream-rate", 500, "events per second streamed to Kafka during the load")
	reuse := f.Bool("reuse", false, "reuse the events already loaded in the bench_ranking database and the snapshot in --dir")
	serveProfile := f.String("serve-cpuprofile", "", "the server writes a CPU profile of its run here")
	dir := f.String("dir", "", "keep the model snapshot here (default: a temporary directory)")
	wrk := f.Bool("wrk", false, "after the Go load, drive the same rate with wrk (must be on PATH) as a cross-check")
	wrkOnly := f.Bool("wrk-only", false, "measure with wrk only (implies --wrk): the Go client then only warms the server up for 2 s")
	server := f.String("server-binary", "", "run this vetrina build as the trainer and server instead of this one: two builds compared under the same load")
	wrkThreads := f.Int("wrk-threads", 1, "wrk's threads: one keeps up with the rate and leaves the server the most of a small machine's cores")
	seed := f.Int64("seed", 11, "simulator seed")
	unknown := f.Float64("unknown-share", 0.2, "share of the requests for users the model does not know (1: all, 0: none)")
	standIn := f.Duration("stand-in", 0, "serve the load with a stand-in instead of vetrina serve: the same feed body after this much busy CPU per request (e.g. the server's CPU per request), to see what the machine itself allows")
	hold := f.Int("stand-in-hold-mib", 0, "with --stand-in: the stand-in also keeps this many MiB resident, written once and not read under the load (the server keeps its model so), to see what resident memory alone costs")
	ch := f.clickhouse("")
	if err := f.parse(args); err != nil {
		return err
	}
	if *hold < 0 || *hold > 0 && *standIn <= 0 {
		return fmt.Errorf("bench ranking: --stand-in-hold-mib %d needs --stand-in and a size of 0 or more", *hold)
	}
	if *unknown < 0 || *unknown > 1 {
		return fmt.Errorf("bench ranking: --unknown-share %v is not a share between 0 and 1", *unknown)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *server != "" {
		self = *server
	}
	wrkPath := ""
	if *wrk || *wrkOnly {
		if wrkPath, err = exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("bench ranking --wrk: %w (apt-get install wrk)", err)
		}
	}
	res, err := bench.Ranking(ctx, bench.RankingConfig{
		Users: *users, Products: *products, Events: *events, Seed: *seed, ClickHouse: *ch.addr, Reuse: *reuse, Dir: *dir,
		Rate: *rate, Duration: *duration, StreamRate: *stream, Logger: log, ServeCPUProfile: *serveProfile, Wrk: wrkPath, WrkOnly: *wrkOnly, WrkThreads: *wrkThreads,
		Command: func(args ...string) *exec.Cmd { return exec.Command(self, args...) }, StandIn: *standIn, StandInHold: *hold << 20, UnknownShare: unknownShare(*unknown),
	})
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	return nil
}

// unknownShare maps --unknown-share to RankingConfig.UnknownShare, where
// zero means the default and a negative share none.
func unknownShare(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

// runBenchStandIn serves the ranking benchmark's load without a model (see
// bench.StandIn); `vetrina bench ranking --stand-in` starts it.
func runBenchStandIn(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("bench stand-in", "Serves /readyz, /metrics and GET /v1/feed as the ranking benchmark expects, with no model: a fixed 20-product feed after --spin of busy CPU. `vetrina bench ranking --stand-in D` runs it in place of the server.")
	addr := f.String("http", "127.0.0.1:8080", "listen address")
	spin := f.Duration("spin", 0, "busy CPU per feed request")
	hold := f.Int("hold-mib", 0, "keep this many MiB resident, written once and not read again")
	if err := f.parse(args); err != nil {
		return err
	}
	if *hold < 0 {
		return fmt.Errorf("bench stand-in: --hold-mib %d is negative", *hold)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("bench stand-in: %w", err)
	}
	log.Info("bench stand-in: serving a fixed feed, not vetrina", "addr", ln.Addr().String(), "spin", *spin, "hold_mib", *hold)
	return bench.StandIn(ctx, ln, *spin, *hold<<20)
}
