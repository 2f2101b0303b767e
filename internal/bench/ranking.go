package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// RankingConfig configures the ranking benchmark.
type RankingConfig struct {
	Users    int // simulated users; default 1,000,000
	Products int // simulated products (25 per brand); default 100,000
	Events   int // interactions loaded into ClickHouse; default 20,000,000
	Seed     int64
	// ClickHouse is a native address; empty starts a managed server.
	ClickHouse string
	// Reuse skips loading when the database already holds the events, and
	// training when Dir already holds a snapshot.
	Reuse bool
	// ServeCPUProfile, if set, is where the server writes a CPU profile.
	ServeCPUProfile string
	// Wrk, if set, is the path of wrk (https://github.com/wg/wrk): after
	// the Go load, wrk drives the same rate for the same duration, an
	// independent client written in C, lighter than Go's.
	Wrk string
	// WrkOnly skips the measured Go load: wrk alone measures.
	WrkOnly bool
	// WrkThreads is wrk's -t; default 1.
	WrkThreads int
	// Dir keeps the model snapshot; default a temporary directory.
	Dir string
	// Rate and Duration of the feed load; defaults 2000/s and 30s.
	Rate     float64
	Duration time.Duration
	// StreamRate is the events per second produced to Kafka during the
	// load, which the server follows (the real-time path); default 500.
	StreamRate float64
	// UnknownShare of requests are for users the model does not know;
	// SessionShare for users who just acted in the stream. Defaults 0.2
	// and 0.2; a negative UnknownShare means none.
	UnknownShare, SessionShare float64
	Logger                     *slog.Logger
	// Progress, if set, hears how far the loading of the events is
	// (`vetrina train`, a child process, reports its own on stderr).
	Progress func(step string, done, total int)
	// Command returns `vetrina args...` as a child process: the trainer and
	// the server run apart from the load generator, as in production.
	Command func(args ...string) *exec.Cmd
	// StandIn, if positive, serves the load with `vetrina bench stand-in`
	// instead of the server: a fixed feed after StandIn of busy CPU per
	// request (see StandIn), the machine's own latency under this load.
	StandIn time.Duration
	// StandInHold is memory the stand-in keeps resident (bytes; see
	// StandIn's hold).
	StandInHold int
}

// RankingResult holds the figures of one run.
type RankingResult struct {
	Users, Products, Events  int
	LoadSeconds              float64
	TrainSeconds             float64
	TrainPeakBytes           int64
	TrainOutput              string
	ServeReadySeconds        float64 // from start to a model loaded from the snapshot
	ProfilesReadySeconds     float64 // from start to the matching profiles computed
	Requests, Errors         int
	AchievedRate             float64
	P50, P90, P99, P999, Max time.Duration
	ServePeakBytes           int64
	StreamEvents             int64
	// WrkReport is wrk's latency distribution, when it ran.
	WrkReport string
	// HandlerRequests and HandlerOver10ms count the measured feed requests
	// (the Go load's and wrk's)
	// by the server's own clock (its duration histogram): how many took
	// longer than 10 ms inside the handler, queueing before it excluded.
	HandlerRequests, HandlerOver10ms uint64
	// ServeCPUPerRequest is the server's CPU time (user and system) over
	// the measured load, per feed request it served.
	ServeCPUPerRequest time.Duration
	Cores              int
	StandIn            time.Duration
	StandInHold        int
}

// Print writes a human-readable report.
func (r RankingResult) Print(w io.Writer) {
	fmt.Fprintf(w, "vetrina bench ranking: %d users, %d products, %d events on %d cores\n", r.Users, r.Products, r.Events, r.Cores)
	if r.LoadSeconds > 0 {
		fmt.Fprintf(w, "  load into ClickHouse:      %8.1f s\n", r.LoadSeconds)
	}
	if r.StandIn > 0 {
		fmt.Fprintf(w, "  training: none (a stand-in serves)\n")
	} else if r.TrainSeconds > 0 {
		fmt.Fprintf(w, "  training (vetrina train):  %8.1f s   peak RSS %d MiB (the trainer's own VmHWM)\n", r.TrainSeconds, r.TrainPeakBytes>>20)
		fmt.Fprintf(w, "    %s\n", r.TrainOutput)
	} else {
		fmt.Fprintf(w, "  training: reused the snapshot\n")
	}
	if r.StandIn > 0 {
		fmt.Fprintf(w, "  SERVER: A STAND-IN, NOT VETRINA: the same feed body after %s of busy CPU per request (--stand-in)\n", r.StandIn)
		if r.StandInHold > 0 {
			fmt.Fprintf(w, "    holding %d MiB resident, written once, not read under the load (--stand-in-hold-mib)\n", r.StandInHold>>20)
		}
	}
	if r.StandIn == 0 {
		fmt.Fprintf(w, "  server ready from snapshot:%8.1f s\n", r.ServeReadySeconds)
		fmt.Fprintf(w, "  matching profiles computed:%8.1f s (the load starts after them)\n", r.ProfilesReadySeconds)
	}
	if r.Requests > 0 {
		fmt.Fprintf(w, "  Go load: %d requests at %.0f/s achieved, %d errors\n", r.Requests, r.AchievedRate, r.Errors)
		fmt.Fprintf(w, "    latency p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", r.P50, r.P90, r.P99, r.P999, r.Max)
	}
	follows := "which the server follows"
	if r.StandIn > 0 {
		follows = "which the stand-in ignores"
	}
	fmt.Fprintf(w, "  stream: %d events produced during the load, %s\n", r.StreamEvents, follows)
	if r.HandlerRequests > 0 {
		fmt.Fprintf(w, "    in the server's handler: %d of %d requests (%.2f%%) over 10 ms\n", r.HandlerOver10ms, r.HandlerRequests, 100*float64(r.HandlerOver10ms)/float64(r.HandlerRequests))
	}
	if r.WrkReport != "" {
		fmt.Fprintf(w, "  wrk (known and unknown users, no session picks):\n%s", r.WrkReport)
	}
	if r.ServeCPUPerRequest > 0 {
		fmt.Fprintf(w, "  server CPU per request:    %8.3f ms (user and system, over the measured load)\n", r.ServeCPUPerRequest.Seconds()*1000)
	}
	fmt.Fprintf(w, "  server peak RSS:           %8d MiB\n", r.ServePeakBytes>>20)
}

const rankingDB = "bench_ranking"

func (c *RankingConfig) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Users, 1_000_000)
	def(&c.Products, 100_000)
	def(&c.Events, 20_000_000)
	if c.Rate <= 0 {
		c.Rate = 2000
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.StreamRate <= 0 {
		c.StreamRate = 500
	}
	switch {
	case c.UnknownShare < 0: // none
		c.UnknownShare = 0
	case c.UnknownShare == 0:
		c.UnknownShare = 0.2
	}
	if c.SessionShare == 0 {
		c.SessionShare = 0.2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *RankingConfig) world() sim.Config {
	w := sim.DefaultConfig()
	w.Seed = c.Seed
	w.Users = c.Users
	w.Brands = max(1, c.Products/25)
	w.ProductsPerBrand = 25
	w.Influencers = max(100, c.Users/500)
	w.LivesPerHour = 200
	return w
}

// Ranking runs the benchmark: load simulated interactions into ClickHouse,
// train with `vetrina train`, start `vetrina serve` from the snapshot, and
// drive an open-loop feed load while the simulator keeps producing events
// that the server follows.
func Ranking(ctx context.Context, cfg RankingConfig) (RankingResult, error) {
	cfg.defaults()
	log := cfg.Logger
	res := RankingResult{Users: cfg.Users, Products: cfg.Products, Events: cfg.Events, Cores: runtime.GOMAXPROCS(0), StandIn: cfg.StandIn, StandInHold: cfg.StandInHold}
	if cfg.Command == nil {
		return res, fmt.Errorf("bench ranking: no command to run vetrina")
	}
	if cfg.WrkOnly && cfg.Wrk == "" {
		return res, fmt.Errorf("bench ranking: wrk only, but no wrk to run")
	}
	addr := cfg.ClickHouse
	if addr == "" {
		// With Dir, ClickHouse keeps its data there too, so that --reuse
		// can skip the load next time.
		chDir := ""
		if cfg.Dir != "" {
			chDir = filepath.Join(cfg.Dir, "clickhouse")
		}
		srv, stop, err := startClickHouse(ctx, chDir, log)
		if err != nil {
			return res, err
		}
		defer stop()
		addr = srv.NativeAddr()
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "vetrina-bench-model-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	w, err := sim.NewWorld(cfg.world())
	if err != nil {
		return res, err
	}
	st, err := store.Open(store.Config{Addr: addr, Database: rankingDB, Compression: "none"})
	if err != nil {
		return res, err
	}
	defer st.Close()
	// The simulated clock starts far enough back to hold the events, and
	// the events after them (the stream) carry wall-clock times.
	simStart := time.Now().UTC().Add(-72 * time.Hour)
	g := sim.NewGenerator(w, cfg.Seed, simStart)
	have := uint64(0)
	if cfg.Reuse {
		if n, err := st.RowCount(ctx, store.TableViews); err == nil {
			have = n
		}
	}
	if have == 0 {
		start := time.Now()
		progress := cfg.Progress
		if progress == nil {
			progress = func(string, int, int) {}
		}
		n, err := loadEvents(ctx, st, w, g, cfg.Events, log, progress)
		if err != nil {
			return res, err
		}
		res.Events = n
		res.LoadSeconds = time.Since(start).Seconds()
	} else {
		log.Info("bench: reusing the loaded events", "views", have)
	}

	// Train in a child process: its time and peak memory are the trainer's.
	snap := filepath.Join(dir, "ranking.gob")
	if cfg.StandIn > 0 {
		log.Info("bench: no training, the stand-in has no model")
	} else if _, err := os.Stat(snap); err == nil && cfg.Reuse {
		log.Info("bench: reusing the model snapshot", "path", snap)
	} else if err := trainModel(cfg, addr, snap, &res); err != nil {
		return res, err
	}

	// Serve from the snapshot, following a broker the simulator feeds.
	topics := sim.Topics{}
	var names []string
	for _, k := range event.Kinds {
		topics[k] = "benchrank." + k.Plural()
		names = append(names, topics[k])
	}
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: names, Partitions: 6})
	if err != nil {
		return res, err
	}
	defer b.Close()
	port, err := chserver.FreePort()
	if err != nil {
		return res, err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	start := time.Now()
	serve := cfg.Command("serve", "--http", httpAddr, "--brokers", b.Addr(), "--topic-prefix", "benchrank.",
		"--clickhouse", addr, "--database", rankingDB, "--model-snapshot", snap, "--train-every", "24h")
	if cfg.StandIn > 0 {
		serve = cfg.Command("bench", "stand-in", "--http", httpAddr, "--spin", cfg.StandIn.String(), "--hold-mib", strconv.Itoa(cfg.StandInHold>>20))
	}
	serve.Stderr = os.Stderr
	// The load authenticates as the feed service does, with a token whose
	// rate limit is far above the load.
	feedToken := token.New()
	tokens, err := json.Marshal(token.File{Tokens: []token.Entry{{Name: "bench-feed", SHA256: token.HashHex(feedToken), Scopes: []string{token.ScopeFeed}, Rate: 1e6}}})
	if err != nil {
		return res, err
	}
	serve.Env = append(os.Environ(), "VETRINA_TOKENS_JSON="+string(tokens))
	if cfg.ServeCPUProfile != "" {
		serve.Env = append(serve.Env, "VETRINA_CPUPROFILE="+cfg.ServeCPUProfile)
	}
	if err := serve.Start(); err != nil {
		return res, fmt.Errorf("start vetrina serve: %w", err)
	}
	servePID := strconv.Itoa(serve.Process.Pid)
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	base := "http://" + httpAddr
	if err := waitModel(ctx, base, 10*time.Minute); err != nil {
		return res, err
	}
	res.ServeReadySeconds = time.Since(start).Seconds()
	// The matching profiles are computed at start from the same events,
	// with heavy ClickHouse queries: the load starts once they are done,
	// as a serving replica's steady state.
	if err := waitCheck(ctx, base, "matching", 30*time.Minute); err != nil {
		return res, err
	}
	res.ProfilesReadySeconds = time.Since(start).Seconds()

	// The real-time path: the simulator continues on the wall clock.
	g.UseWallClock()
	kw := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Hash{}, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireOne}
	defer kw.Close()
	rec := &recentUsers{Writer: kw, follow: map[string]bool{}}
	for _, k := range event.Kinds {
		if k.IsEvent() {
			rec.follow[topics[k]] = true
		}
	}
	sctx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	var swg sync.WaitGroup
	swg.Add(1)
	go func() {
		defer swg.Done()
		_, _ = sim.Run(sctx, w, g, rec, topics, sim.RunConfig{Rate: cfg.StreamRate, BatchSize: 50}, nil)
	}()
	// Two seconds of load that is not measured: sessions build up and the
	// client opens its connections, as wrk does before it counts.
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	loadFeed(ctx, tr, base, feedToken, cfg, 2*time.Second, rec)
	before := handlerTimes(ctx, base)
	cpuBefore := processCPU(serve.Process.Pid)
	var lat []time.Duration
	var errs int
	var achieved float64
	if !cfg.WrkOnly {
		lat, errs, achieved = loadFeed(ctx, tr, base, feedToken, cfg, cfg.Duration, rec)
	}
	if cfg.Wrk != "" {
		report, err := runWrk(ctx, cfg, base, dir, feedToken)
		if err != nil {
			return res, err
		}
		res.WrkReport = report
	}
	after := handlerTimes(ctx, base)
	res.HandlerRequests, res.HandlerOver10ms = after.n-before.n, (after.n-after.le10ms)-(before.n-before.le10ms)
	if cpu := processCPU(serve.Process.Pid) - cpuBefore; cpu > 0 && res.HandlerRequests > 0 {
		res.ServeCPUPerRequest = cpu / time.Duration(res.HandlerRequests)
	}
	stopStream()
	swg.Wait()
	res.StreamEvents = rec.events.Load()
	res.Requests, res.Errors, res.AchievedRate = len(lat), errs, achieved
	logSeconds(log, lat, int(cfg.Rate))
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	res.P50, res.P90, res.P99, res.P999 = q(0.5), q(0.9), q(0.99), q(0.999)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1].Round(10 * time.Microsecond)
	}
	res.ServePeakBytes = int64(PeakRSS(servePID))
	return res, nil
}

// handlerCounts are the server's feed requests so far and those done
// within 10 ms, from its duration histogram.
type handlerCounts struct{ n, le10ms uint64 }

func handlerTimes(ctx context.Context, base string) handlerCounts {
	var c handlerCounts
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return c
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "vetrina_http_request_duration_seconds") || !strings.Contains(line, `route="GET /v1/feed"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "vetrina_http_request_duration_seconds_count"):
			c.n = uint64(v)
		case strings.Contains(line, `le="0.01"`):
			c.le10ms = uint64(v)
		}
	}
	return c
}

// trainModel runs `vetrina train` as a child process: its time and peak
// memory are the trainer's.
func trainModel(cfg RankingConfig, addr, snap string, res *RankingResult) error {
	start := time.Now()
	train := cfg.Command("train", "--clickhouse", addr, "--database", rankingDB, "--clickhouse-compression", "none", "--model-snapshot", snap)
	train.Stderr = os.Stderr
	out, err := train.Output()
	if err != nil {
		return fmt.Errorf("vetrina train: %w", err)
	}
	res.TrainSeconds = time.Since(start).Seconds()
	res.TrainPeakBytes = trainerPeak(string(out))
	res.TrainOutput = string(out)
	return nil
}

// trainerPeakRE finds the peak RSS `vetrina train` reports of itself
// (VmHWM). The child's rusage cannot tell it: Go starts children with
// vfork semantics, so Linux counts the parent's resident set at exec into
// the child's ru_maxrss, and after loading 20M events that is the bench's
// own 6 GB.
var trainerPeakRE = regexp.MustCompile(`peak RSS (\d+) MiB`)

// trainerPeak is the peak RSS in `vetrina train`'s output, 0 if absent.
func trainerPeak(out string) int64 {
	m := trainerPeakRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	mib, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0
	}
	return mib << 20
}

// loadEvents generates n events and inserts them, decoded as the ingester
// decodes them, in batches of 200,000 rows (with the catalog first).
func loadEvents(ctx context.Context, st *store.Store, w *sim.World, g *sim.Generator, n int, log *slog.Logger, progress func(step string, done, total int)) (int, error) {
	const step = "load the events into ClickHouse"
	if err := st.DropDatabase(ctx); err != nil {
		return 0, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return 0, err
	}
	l := ingest.NewLoader(ctx, st, 200_000)
	var err error
	for _, m := range w.CatalogMessages(g.Now()) {
		if err = l.Add(m.Kind, m.Value); err != nil {
			break
		}
	}
	limit := time.Now().Add(-time.Minute)
	produced := 0
	for err == nil && produced < n {
		m := g.Next()
		if m.Kind.IsEvent() {
			produced++ // lives' messages land too, but n counts events
		}
		if m.Time.After(limit) {
			log.Warn("bench: simulated clock reached now; stopping early", "events", produced)
			break
		}
		err = l.Add(m.Kind, m.Value)
		if produced%100_000 == 0 && m.Kind.IsEvent() {
			progress(step, produced, n)
		}
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return produced, err
}

// waitModel polls /readyz until the ranking check says a model is loaded.
func waitModel(ctx context.Context, base string, timeout time.Duration) error {
	return waitCheck(ctx, base, "ranking", timeout)
}

// waitCheck polls /readyz until the named check is ok.
func waitCheck(ctx context.Context, base, check string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var r struct {
				Checks map[string]string `json:"checks"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if r.Checks[check] == "ok" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("vetrina serve: check %s not ok after %s", check, timeout)
}
