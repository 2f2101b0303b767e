package bench

import (
	"cmp"
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
	"sync/atomic"
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
	// Dir keeps the model snapshot; default a temporary directory.
	Dir string
	// Rate and Duration of each round of feed load; defaults 2000/s and
	// 30 s. Rounds per server (default 1): with a stand-in the rounds
	// alternate between the two.
	Rate     float64
	Duration time.Duration
	Rounds   int
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
	// Tool returns this build's `vetrina args...` for the load generator
	// and the stand-in (Command may run another build); default Command.
	Tool func(args ...string) *exec.Cmd
	// StandIn, if positive, also runs `vetrina bench stand-in` beside the
	// server: a fixed feed after StandIn of busy CPU per request (see
	// StandIn), the machine's own latency under the same load; the rounds
	// alternate between the two.
	StandIn time.Duration
	// StandInHold is memory the stand-in keeps resident (bytes; see
	// StandIn's hold).
	StandInHold int
	// StandInMatch sets the stand-in's busy time before each of its
	// rounds after the first so that its CPU per request matches the
	// server's in the round just before: on a shared host the server's
	// cost moves between rounds.
	StandInMatch bool
}

// RankingResult holds the figures of one run.
type RankingResult struct {
	Users, Products, Events int
	LoadSeconds             float64
	TrainSeconds            float64
	TrainPeakBytes          int64
	TrainOutput             string
	ServeReadySeconds       float64 // from start to a model loaded from the snapshot
	ProfilesReadySeconds    float64 // from start to the matching profiles computed
	Rate                    float64
	Duration                time.Duration
	// Rounds are the measured loads, in the order they ran.
	Rounds         []LoadRound
	ServePeakBytes int64
	StreamEvents   int64
	Cores          int
	StandIn        time.Duration
	StandInHold    int
}

// LoadRound is one round of load against one server.
type LoadRound struct {
	Target string // "server" or "stand-in"
	LoadResult
	// CPUPerRequest is the target's CPU time (user and system) over the
	// round, per feed request it served.
	CPUPerRequest time.Duration
	// Spin is the stand-in's busy time per request in the round.
	Spin time.Duration
	// HandlerRequests and HandlerOver10ms count the round's feed requests
	// by the server's own clock (its duration histogram): how many took
	// longer than 10 ms inside the handler, queueing before it excluded.
	HandlerRequests, HandlerOver10ms uint64
	// Steal is the share of the machine's CPU time during the round that
	// the hypervisor gave to other guests (/proc/stat; a lower bound: a
	// tickless kernel accounts it at ticks, which a busy CPU may not take).
	Steal float64
	// OthersCPU is the CPU time of what shares the machine with the
	// target during the round: the load generator, this process (the
	// broker and the simulator) and the managed ClickHouse (its merges).
	OthersCPU time.Duration
}

// Pooled returns every round of target as one: all latencies together.
func (r RankingResult) Pooled(target string) (LoadResult, time.Duration) {
	var p LoadResult
	var cpu time.Duration
	var n int
	for _, rd := range r.Rounds {
		if rd.Target != target {
			continue
		}
		p.Rate = rd.Rate
		p.Requests += rd.Requests
		p.Errors += rd.Errors
		p.Seconds += rd.Seconds
		p.SessionPicks += rd.SessionPicks
		p.Latencies = append(p.Latencies, rd.Latencies...)
		cpu += rd.CPUPerRequest
		n++
	}
	if p.Seconds > 0 {
		p.Achieved = float64(p.Requests) / p.Seconds
	}
	slices.Sort(p.Latencies)
	if n > 0 {
		cpu /= time.Duration(n)
	}
	return p, cpu
}

// Print writes a human-readable report.
func (r RankingResult) Print(w io.Writer) {
	fmt.Fprintf(w, "vetrina bench ranking: %d users, %d products, %d events on %d cores\n", r.Users, r.Products, r.Events, r.Cores)
	if r.LoadSeconds > 0 {
		fmt.Fprintf(w, "  load into ClickHouse:      %8.1f s\n", r.LoadSeconds)
	}
	if r.TrainSeconds > 0 {
		fmt.Fprintf(w, "  training (vetrina train):  %8.1f s   peak RSS %d MiB (the trainer's own VmHWM)\n", r.TrainSeconds, r.TrainPeakBytes>>20)
		fmt.Fprintf(w, "    %s\n", r.TrainOutput)
	} else {
		fmt.Fprintf(w, "  training: reused the snapshot\n")
	}
	fmt.Fprintf(w, "  server ready from snapshot:%8.1f s\n", r.ServeReadySeconds)
	fmt.Fprintf(w, "  matching profiles computed:%8.1f s (the load starts after them)\n", r.ProfilesReadySeconds)
	fmt.Fprintf(w, "  feed load: open loop (each request timed from when it was due) by `vetrina bench load` in its own process,\n")
	fmt.Fprintf(w, "    %.0f requests/s for %s a round after 2 s of warm-up; the stream: %d events during the loads, which the server follows\n", r.Rate, r.Duration, r.StreamEvents)
	if r.StandIn > 0 {
		fmt.Fprintf(w, "    the stand-in (not vetrina): the same feed body after %s of busy CPU per request", r.StandIn)
		if r.StandInHold > 0 {
			fmt.Fprintf(w, ", holding %d MiB resident", r.StandInHold>>20)
		}
		var spins []string
		matched := false
		for _, rd := range r.Rounds {
			if rd.Target == "stand-in" {
				spins = append(spins, rd.Spin.String())
				matched = matched || rd.Spin != r.StandIn
			}
		}
		if matched {
			fmt.Fprintf(w, "; then matched to the server's CPU per request in the round before: %s by round", strings.Join(spins, ", "))
		}
		fmt.Fprintf(w, "\n")
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()*1000) }
	fmt.Fprintf(w, "  %-6s %-9s %10s %8s %8s %8s %8s %8s %7s %8s %6s %6s %s\n", "round", "target", "achieved/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "CPU/req", "others", "steal", "handler >10 ms")
	row := func(round, target string, lr LoadResult, cpu time.Duration, others, steal, handler string) {
		fmt.Fprintf(w, "  %-6s %-9s %10.0f %8s %8s %8s %8s %8s %7d %8s %6s %6s %s\n", round, target, lr.Achieved,
			ms(lr.Quantile(0.5)), ms(lr.Quantile(0.9)), ms(lr.Quantile(0.99)), ms(lr.Quantile(0.999)), ms(lr.Quantile(1)), lr.Errors, ms(cpu), others, steal, handler)
	}
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	seen := map[string]int{}
	for _, rd := range r.Rounds {
		seen[rd.Target]++
		handler := ""
		if rd.HandlerRequests > 0 {
			handler = fmt.Sprintf("%d of %d", rd.HandlerOver10ms, rd.HandlerRequests)
		}
		row(strconv.Itoa(seen[rd.Target]), rd.Target, rd.LoadResult, rd.CPUPerRequest, fmt.Sprintf("%.1fs", rd.OthersCPU.Seconds()), pct(rd.Steal), handler)
	}
	server, cpu := r.Pooled("server")
	row("all", "server", server, cpu, "", "", "")
	if r.StandIn > 0 {
		standIn, scpu := r.Pooled("stand-in")
		row("all", "stand-in", standIn, scpu, "", "", "")
		ratio := func(q float64) string {
			if s := standIn.Quantile(q); s > 0 {
				return fmt.Sprintf("%.2f×", float64(server.Quantile(q))/float64(s))
			}
			return "-"
		}
		fmt.Fprintf(w, "  server ÷ stand-in: p50 %s  p90 %s  p99 %s  p99.9 %s\n", ratio(0.5), ratio(0.9), ratio(0.99), ratio(0.999))
	}
	fmt.Fprintf(w, "  server peak RSS:           %8d MiB\n", r.ServePeakBytes>>20)
	if len(r.Rounds) == 0 {
		return
	}
	if steal := slices.MaxFunc(r.Rounds, func(a, b LoadRound) int { return cmp.Compare(a.Steal, b.Steal) }).Steal; steal > maxSteal {
		fmt.Fprintf(w, "  warning: the hypervisor gave up to %.0f%% of this machine's CPU time to other guests during a round (steal):\n"+
			"    the latencies are the host's as much as the server's; measure again when it is quiet\n", 100*steal)
	}
}

// maxSteal is the steal share of a round above which the report warns.
const maxSteal = 0.02

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
	if c.Tool == nil {
		c.Tool = c.Command
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
	res := RankingResult{Users: cfg.Users, Products: cfg.Products, Events: cfg.Events, Cores: runtime.GOMAXPROCS(0), StandIn: cfg.StandIn, StandInHold: cfg.StandInHold,
		Rate: cfg.Rate, Duration: cfg.Duration}
	if cfg.Command == nil {
		return res, fmt.Errorf("bench ranking: no command to run vetrina")
	}
	addr := cfg.ClickHouse
	chPID := "" // the managed ClickHouse's
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
		chPID = strconv.Itoa(srv.PID())
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
	if _, err := os.Stat(snap); err == nil && cfg.Reuse {
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
	// The load authenticates as the feed service does, with a token whose
	// rate limit is far above the load.
	feedToken := token.New()
	tokens, err := json.Marshal(token.File{Tokens: []token.Entry{{Name: "bench-feed", SHA256: token.HashHex(feedToken), Scopes: []string{token.ScopeFeed}, Rate: 100_000}}})
	if err != nil {
		return res, err
	}
	start := time.Now()
	httpAddr, err := freeLoopback()
	if err != nil {
		return res, err
	}
	serve := cfg.Command("serve", "--http", httpAddr, "--brokers", b.Addr(), "--topic-prefix", "benchrank.",
		"--clickhouse", addr, "--database", rankingDB, "--model-snapshot", snap, "--train-every", "24h")
	serve.Env = append(os.Environ(), "VETRINA_TOKENS_JSON="+string(tokens))
	if cfg.ServeCPUProfile != "" {
		serve.Env = append(serve.Env, "VETRINA_CPUPROFILE="+cfg.ServeCPUProfile)
	}
	serveCtx, stopServe, err := startChild(ctx, serve)
	if err != nil {
		return res, fmt.Errorf("start vetrina serve: %w", err)
	}
	defer stopServe()
	targets := []target{{name: "server", base: "http://" + httpAddr, pid: serve.Process.Pid}}
	if err := waitModel(serveCtx, targets[0].base, 10*time.Minute); err != nil {
		return res, err
	}
	res.ServeReadySeconds = time.Since(start).Seconds()
	// The matching profiles are computed at start from the same events,
	// with heavy ClickHouse queries: the load starts once they are done,
	// as a serving replica's steady state.
	if err := waitCheck(serveCtx, targets[0].base, "matching", 30*time.Minute); err != nil {
		return res, err
	}
	res.ProfilesReadySeconds = time.Since(start).Seconds()
	if cfg.StandIn > 0 {
		standInAddr, err := freeLoopback()
		if err != nil {
			return res, err
		}
		standIn := cfg.Tool("bench", "stand-in", "--http", standInAddr, "--spin", cfg.StandIn.String(), "--hold-mib", strconv.Itoa(cfg.StandInHold>>20))
		standInCtx, stopStandIn, err := startChild(ctx, standIn)
		if err != nil {
			return res, fmt.Errorf("start vetrina bench stand-in: %w", err)
		}
		defer stopStandIn()
		t := target{name: "stand-in", base: "http://" + standInAddr, pid: standIn.Process.Pid}
		if err := waitModel(standInCtx, t.base, time.Minute); err != nil {
			return res, err
		}
		targets = append(targets, t)
	}

	// The real-time path: the simulator continues on the wall clock, and
	// the server follows it.
	g.UseWallClock()
	kw := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Hash{}, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireOne}
	defer kw.Close()
	var eventTopics []string
	for _, k := range event.Kinds {
		if k.IsEvent() {
			eventTopics = append(eventTopics, topics[k])
		}
	}
	stream := &eventsOnly{Writer: kw, topics: eventTopics}
	sctx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	var swg sync.WaitGroup
	swg.Add(1)
	go func() {
		defer swg.Done()
		_, _ = sim.Run(sctx, w, g, stream, topics, sim.RunConfig{Rate: cfg.StreamRate, BatchSize: 50}, nil)
	}()

	// The rounds, alternating between the targets.
	spin := cfg.StandIn
	for round := range max(1, cfg.Rounds) {
		for _, t := range targets {
			if t.name == "stand-in" && cfg.StandInMatch {
				var err error
				if spin, err = matchStandIn(ctx, t.base, spin, res.Rounds); err != nil {
					return res, err
				}
			}
			before := handlerTimes(ctx, t.base)
			cpuBefore, machineBefore, othersBefore := processCPU(t.pid), machineCPU(), CPUSeconds("self")+CPUSeconds(chPID)
			lr, err := runLoad(ctx, cfg, t.base, feedToken, b.Addr(), eventTopics, uint64(cfg.Seed)+uint64(round))
			if err != nil {
				return res, fmt.Errorf("round %d against the %s: %w", round+1, t.name, err)
			}
			after := handlerTimes(ctx, t.base)
			rd := LoadRound{Target: t.name, LoadResult: lr, Steal: stealShare(machineBefore, machineCPU()), Spin: t.spin(spin),
				OthersCPU: time.Duration((lr.cpuSeconds + CPUSeconds("self") + CPUSeconds(chPID) - othersBefore) * float64(time.Second))}
			rd.HandlerRequests, rd.HandlerOver10ms = after.n-before.n, (after.n-after.le10ms)-(before.n-before.le10ms)
			if cpu := processCPU(t.pid) - cpuBefore; cpu > 0 && lr.Requests > 0 {
				rd.CPUPerRequest = cpu / time.Duration(lr.Requests)
			}
			log.Info("bench: round", "round", round+1, "target", t.name, "achieved", int(lr.Achieved),
				"p99_ms", lr.Quantile(0.99).Seconds()*1000, "p999_ms", lr.Quantile(0.999).Seconds()*1000)
			res.Rounds = append(res.Rounds, rd)
		}
	}
	stopStream()
	swg.Wait()
	res.StreamEvents = stream.events.Load()
	res.ServePeakBytes = int64(PeakRSS(strconv.Itoa(serve.Process.Pid)))
	return res, nil
}

// matchStandIn sets the stand-in's busy time for its next round so that
// its CPU per request matches the server's in the round just before: the
// server's CPU less the stand-in's own cost beside its busy time, as its
// previous round measured it. Before the stand-in's first round it keeps
// spin.
func matchStandIn(ctx context.Context, base string, spin time.Duration, rounds []LoadRound) (time.Duration, error) {
	var server, standIn *LoadRound
	for k := range rounds {
		switch rounds[k].Target {
		case "server":
			server = &rounds[k]
		case "stand-in":
			standIn = &rounds[k]
		}
	}
	if server == nil || standIn == nil || server.CPUPerRequest <= 0 || standIn.CPUPerRequest <= 0 {
		return spin, nil
	}
	own := max(standIn.CPUPerRequest-standIn.Spin, 0)
	next := max(server.CPUPerRequest-own, 0).Round(time.Microsecond)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/spin?d="+next.String(), nil)
	if err != nil {
		return spin, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return spin, fmt.Errorf("set the stand-in's busy time: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return spin, fmt.Errorf("set the stand-in's busy time to %v: %s", next, resp.Status)
	}
	return next, nil
}

// target is a server under load: vetrina serve or the stand-in.
type target struct {
	name string
	base string
	pid  int
}

// spin is the target's busy time per request when the stand-in's is d.
func (t target) spin(d time.Duration) time.Duration {
	if t.name == "stand-in" {
		return d
	}
	return 0
}

// freeLoopback returns a free loopback address.
func freeLoopback() (string, error) {
	port, err := chserver.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// startChild starts cmd with its stderr passed through. It returns a
// context that ends, with the reason, if the child exits before stop, and
// stop, which ends the child (SIGTERM) and waits for it.
func startChild(ctx context.Context, cmd *exec.Cmd) (context.Context, func(), error) {
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithCancelCause(ctx)
	exited := make(chan struct{})
	stopping := atomic.Bool{}
	go func() {
		err := cmd.Wait()
		if !stopping.Load() {
			cancel(fmt.Errorf("%s exited: %v", strings.Join(cmd.Args[:min(2, len(cmd.Args))], " "), err))
		}
		close(exited)
	}()
	return cctx, func() {
		stopping.Store(true)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		cancel(nil)
	}, nil
}

// runLoad runs one round of `vetrina bench load` against base, in a
// process of its own, and returns what it measured.
func runLoad(ctx context.Context, cfg RankingConfig, base, feedToken, brokers string, eventTopics []string, seed uint64) (LoadResult, error) {
	cmd := cfg.Tool("bench", "load", "--url", base, "--rate", strconv.FormatFloat(cfg.Rate, 'f', -1, 64),
		"--duration", cfg.Duration.String(), "--warmup", "2s", "--users", strconv.Itoa(cfg.Users),
		"--unknown-share", strconv.FormatFloat(cfg.UnknownShare, 'f', -1, 64), "--session-share", strconv.FormatFloat(cfg.SessionShare, 'f', -1, 64),
		"--follow-brokers", brokers, "--follow-topics", strings.Join(eventTopics, ","), "--seed", strconv.FormatUint(seed, 10))
	cmd.Env = append(os.Environ(), "VETRINA_BENCH_LOAD_TOKEN="+feedToken)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return LoadResult{}, fmt.Errorf("vetrina bench load: %w", err)
	}
	var lr LoadResult
	if err := json.Unmarshal(out, &lr); err != nil {
		return LoadResult{}, fmt.Errorf("vetrina bench load: its output: %w", err)
	}
	lr.cpuSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return lr, nil
}

// eventsOnly passes the stream's events to Kafka and counts them; the
// catalog is not what the server follows, and is dropped rather than
// burst into the broker while the load runs.
type eventsOnly struct {
	sim.Writer
	topics []string
	events atomic.Int64
}

func (e *eventsOnly) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	msgs = slices.DeleteFunc(msgs, func(m kafka.Message) bool { return !slices.Contains(e.topics, m.Topic) })
	if len(msgs) == 0 {
		return nil
	}
	e.events.Add(int64(len(msgs)))
	return e.Writer.WriteMessages(ctx, msgs...)
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
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: check %s not ok after %s", base, check, timeout)
}
