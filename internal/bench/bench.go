// Package bench holds Vetrina's end-to-end benchmarks, run the way an
// operator would run the system: a real broker over TCP, a real ClickHouse
// and the production binaries.
//
//   - `vetrina bench ingest` (Ingest): events/s through the ingester into
//     ClickHouse and, in the same run, the ceiling that ClickHouse and
//     clickhouse-go allow for the same rows.
//   - `vetrina bench ranking` (Ranking): training time and peak memory of
//     `vetrina train`, then feed latency of `vetrina serve` under an
//     open-loop load while the simulator streams events it follows.
//   - `vetrina bench stand-in` (StandIn): a model-free server doing a fixed
//     amount of CPU per request, to tell what the machine itself allows.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// Config configures an ingest benchmark.
type Config struct {
	Events     int    // events to preload, default 2,000,000
	Partitions int    // per topic, default 6
	Seed       int64  // simulator seed
	ClickHouse string // native address; empty starts a managed server in a temp dir
	// Compression of the ClickHouse protocol, "lz4" or "none"; both the
	// end-to-end run and the ceiling use it.
	Compression string
	BatchRows   int
	Linger      time.Duration
	Logger      *slog.Logger
	// CPUProfile, if set, receives a CPU profile of the end-to-end phase
	// (of the in-process ingester; a child writes its own, see
	// IngestCommand).
	CPUProfile io.Writer
	// IngestCommand, if set, returns `vetrina ingest args...` with env as
	// a child process: the ingester then runs on its own, as in production,
	// and its peak RSS is its own (VETRINA_CPUPROFILE in env profiles it).
	// Nil runs the ingester in the benchmark's process.
	IngestCommand func(args ...string) *exec.Cmd
	// MaxBufferedBytes is the ingester's ingest.Config.MaxBufferedBytes (0:
	// its default).
	MaxBufferedBytes int
	// Progress, if set, hears how far each phase is.
	Progress func(step string, done, total int)
	// BrokerCommand, if set, returns the command that runs the broker as a
	// child process listening on addr with the topics PREFIX+kind.
	BrokerCommand func(addr, prefix string, partitions int) *exec.Cmd
}

// Result holds the measured figures.
type Result struct {
	Events, Rows        int
	ProduceSeconds      float64
	EndToEndSeconds     float64
	EndToEndPerSec      float64
	CeilingSeconds      float64
	CeilingRowsPerSec   float64
	Ratio               float64
	PeakRSSBytes        uint64 // this process during the end-to-end run: the ingester (and the generator before it)
	BrokerPeakBytes     uint64 // the broker, when it runs as a child process
	ClickHousePeakBytes uint64 // the managed ClickHouse, if any
	Cores               int
}

// Print writes a human-readable report.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "vetrina bench ingest: %d events (%d rows) on %d cores\n", r.Events, r.Rows, r.Cores)
	fmt.Fprintf(w, "  preload into broker:        %8.2f s\n", r.ProduceSeconds)
	fmt.Fprintf(w, "  end to end (Kafka → CH):    %8.2f s  %10.0f events/s\n", r.EndToEndSeconds, r.EndToEndPerSec)
	fmt.Fprintf(w, "  ceiling (clickhouse-go):    %8.2f s  %10.0f rows/s\n", r.CeilingSeconds, r.CeilingRowsPerSec)
	fmt.Fprintf(w, "  end to end / ceiling:       %8.1f %%\n", 100*r.Ratio)
	fmt.Fprintf(w, "  peak RSS ingester process:  %8.0f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	if r.BrokerPeakBytes > 0 {
		fmt.Fprintf(w, "  peak RSS broker process:    %8.0f MiB  (holds the whole backlog in memory)\n", float64(r.BrokerPeakBytes)/(1<<20))
	}
	if r.ClickHousePeakBytes > 0 {
		fmt.Fprintf(w, "  peak RSS ClickHouse:        %8.0f MiB\n", float64(r.ClickHousePeakBytes)/(1<<20))
	}
}

// Ingest runs the benchmark.
func Ingest(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Events <= 0 {
		cfg.Events = 2_000_000
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 6
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	res := Result{Events: cfg.Events, Cores: runtime.GOMAXPROCS(0)}

	addr := cfg.ClickHouse
	var chPID int
	if addr == "" {
		srv, stop, err := startClickHouse(ctx, "", log)
		if err != nil {
			return res, err
		}
		defer stop()
		addr, chPID = srv.NativeAddr(), srv.PID()
	}

	topics := ingest.Topics{}
	simTopics := sim.Topics{}
	for _, k := range event.Kinds {
		topics[k] = "bench." + k.Plural()
		simTopics[k] = topics[k]
	}
	var names []string
	for _, k := range event.Kinds {
		names = append(names, topics[k])
	}
	brokerAddr, stopBroker, brokerPeak, err := startBroker(ctx, cfg, names)
	if err != nil {
		return res, err
	}
	defer stopBroker()

	// Preload.
	log.Info("bench: preloading", "events", cfg.Events)
	start := time.Now()
	w, err := sim.NewWorld(worldConfig(cfg.Seed))
	if err != nil {
		return res, err
	}
	// The simulator's clock advances about 60ms per event; start it far
	// enough back that no event lands in the future (which the ingester
	// would rightly dead-letter).
	simStart := time.Now().UTC().Add(-time.Hour - time.Duration(cfg.Events)*100*time.Millisecond)
	g := sim.NewGenerator(w, cfg.Seed, simStart)
	out := &kafka.Writer{Addr: kafka.TCP(brokerAddr), Balancer: &kafka.Hash{}, BatchSize: 10000, BatchBytes: 16 << 20, BatchTimeout: 50 * time.Millisecond, RequiredAcks: kafka.RequireOne, Compression: kafka.Lz4}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	preload := func(produced, count int) { progress("preload the broker (events)", produced, count) }
	if _, err := sim.Run(ctx, w, g, out, simTopics, sim.RunConfig{Count: cfg.Events, BatchSize: 20000, Progress: preload}, log); err != nil {
		out.Close()
		return res, fmt.Errorf("preload: %w", err)
	}
	out.Close()
	res.ProduceSeconds = time.Since(start).Seconds()

	// End to end.
	e2e, err := openDB(ctx, addr, "bench_e2e", cfg.Compression)
	if err != nil {
		return res, err
	}
	defer e2e.Close()
	want := uint64(cfg.Events)
	ing, err := startIngester(ctx, cfg, brokerAddr, addr, topics)
	if err != nil {
		return res, err
	}
	// The clock starts once the ingester owns its partitions: joining a
	// consumer group takes a few seconds (the broker's initial rebalance
	// delay), which is not throughput.
	for ing.ready() != nil && ctx.Err() == nil {
		if err := ing.exited(); err != nil {
			return res, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Now()
	var got uint64
	for got < want {
		if ctx.Err() != nil {
			ing.stop()
			return res, ctx.Err()
		}
		if err := ing.exited(); err != nil {
			return res, err
		}
		time.Sleep(20 * time.Millisecond)
		got = 0
		for _, t := range []store.Table{store.TableViews, store.TableChats, store.TablePurchases, store.TableDeadLetters} {
			n, err := e2e.RowCount(ctx, t)
			if err != nil {
				ing.stop()
				return res, err
			}
			got += n
		}
		progress("end to end: ingest into ClickHouse (rows)", int(min(got, want)), int(want))
	}
	res.EndToEndSeconds = time.Since(start).Seconds()
	res.PeakRSSBytes = ing.peakRSS()
	ing.stop()
	if dl, err := e2e.RowCount(ctx, store.TableDeadLetters); err != nil || dl > 0 {
		return res, fmt.Errorf("end to end: %d generated events were dead-lettered (%v)", dl, err)
	}
	// Exactly once, as an analyst checks it (after the clock stopped).
	for _, t := range []store.Table{store.TableViews, store.TableChats, store.TablePurchases} {
		n, u, err := e2e.Count(ctx, t)
		if err != nil {
			return res, err
		}
		if n != u {
			return res, fmt.Errorf("end to end: %s has %d rows but %d distinct event ids", t.Name(), n, u)
		}
	}
	res.EndToEndPerSec = float64(want) / res.EndToEndSeconds

	res.BrokerPeakBytes = brokerPeak()
	if err := settle(ctx, e2e); err != nil {
		return res, err
	}

	// Ceiling: the same rows, decoded ahead, inserted with clickhouse-go in
	// batches of the same size, one inserter per core.
	ceil, err := openDB(ctx, addr, "bench_ceiling", cfg.Compression)
	if err != nil {
		return res, err
	}
	defer ceil.Close()
	progress("ceiling: decode the same events ahead", 0, 1)
	batches, rows, err := prebuild(w, cfg, simStart)
	if err != nil {
		return res, err
	}
	progress("ceiling: decode the same events ahead", 1, 1)
	res.Rows = rows
	start = time.Now()
	progress("ceiling: raw clickhouse-go inserts", 0, 1)
	if err := insertAll(ctx, ceil, batches, res.Cores); err != nil {
		return res, err
	}
	progress("ceiling: raw clickhouse-go inserts", 1, 1)
	res.CeilingSeconds = time.Since(start).Seconds()
	res.CeilingRowsPerSec = float64(rows) / res.CeilingSeconds
	res.Ratio = res.EndToEndPerSec / res.CeilingRowsPerSec
	if chPID > 0 {
		res.ClickHousePeakBytes = PeakRSS(strconv.Itoa(chPID))
	}
	return res, nil
}

// ingester is the end-to-end phase's ingester: a child `vetrina ingest`
// or one in this process.
type ingester struct {
	ready   func() error
	exited  func() error // non-nil once a child has exited on its own
	peakRSS func() uint64
	stop    func()
}

// startIngester starts the ingester of the end-to-end phase, its peak RSS
// counter reset.
func startIngester(ctx context.Context, cfg Config, brokerAddr, chAddr string, topics ingest.Topics) (*ingester, error) {
	if cfg.IngestCommand == nil {
		e2e, err := store.Open(store.Config{Addr: chAddr, Database: "bench_e2e", Compression: cfg.Compression})
		if err != nil {
			return nil, err
		}
		in, err := ingest.New(ingest.Config{Brokers: []string{brokerAddr}, GroupID: "bench", Topics: topics, BatchRows: cfg.BatchRows, Linger: cfg.Linger,
			MaxBufferedBytes: cfg.MaxBufferedBytes, Logger: cfg.Logger}, e2e, nil)
		if err != nil {
			e2e.Close()
			return nil, err
		}
		// Measure the ingester's memory alone: drop the preload's garbage
		// and reset the kernel's peak RSS counter (Linux: clear_refs 5).
		runtime.GC()
		debug.FreeOSMemory()
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		ictx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = in.Run(ictx) }()
		if cfg.CPUProfile != nil {
			_ = pprof.StartCPUProfile(cfg.CPUProfile)
		}
		return &ingester{ready: in.Ready, exited: func() error { return nil }, peakRSS: func() uint64 { return PeakRSS("self") },
			stop: func() { pprof.StopCPUProfile(); cancel(); wg.Wait(); e2e.Close() }}, nil
	}
	port, err := chserver.FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := cfg.IngestCommand("ingest", "--brokers", brokerAddr, "--clickhouse", chAddr, "--database", "bench_e2e",
		"--clickhouse-compression", cfg.Compression, "--group", "bench", "--topic-prefix", "bench.",
		"--batch-rows", strconv.Itoa(cfg.BatchRows), "--linger", cfg.Linger.String(),
		"--max-buffered-mib", strconv.Itoa(max(1, cfg.MaxBufferedBytes>>20)), "--http", httpAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start vetrina ingest: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var exitErr error
	stopped := false
	pid := strconv.Itoa(cmd.Process.Pid)
	return &ingester{
		ready: func() error {
			resp, err := http.Get("http://" + httpAddr + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("ingester not ready: %s", resp.Status)
			}
			return nil
		},
		exited: func() error {
			select {
			case err := <-done:
				exitErr = fmt.Errorf("vetrina ingest exited: %v", err)
				stopped = true
			default:
			}
			return exitErr
		},
		peakRSS: func() uint64 { return PeakRSS(pid) },
		stop: func() {
			if stopped {
				return
			}
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
		},
	}, nil
}

// startClickHouse starts a managed ClickHouse with its data in dir (a
// temporary directory, removed by stop, when dir is empty).
func startClickHouse(ctx context.Context, dir string, log *slog.Logger) (srv *chserver.Server, stop func(), err error) {
	tmp := ""
	if dir == "" {
		if tmp, err = os.MkdirTemp("", "vetrina-bench-ch-"); err != nil {
			return nil, nil, err
		}
		dir = tmp
	}
	srv, err = chserver.Start(ctx, chserver.Config{Dir: dir, Logger: log})
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, nil, fmt.Errorf("start ClickHouse for the benchmark: %w", err)
	}
	return srv, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}, nil
}

func worldConfig(seed int64) sim.Config {
	c := sim.DefaultConfig()
	c.Seed = seed
	return c
}

func openDB(ctx context.Context, addr, db, compression string) (*store.Store, error) {
	st, err := store.Open(store.Config{Addr: addr, Database: db, Compression: compression})
	if err != nil {
		return nil, err
	}
	if err := st.DropDatabase(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// prebuild regenerates the same events (same seed and start) and decodes
// them into batches of the configured size.
func prebuild(w *sim.World, cfg Config, simStart time.Time) ([]store.Rows, int, error) {
	batchRows := cfg.BatchRows
	if batchRows <= 0 {
		batchRows = 100_000
	}
	g := sim.NewGenerator(w, cfg.Seed, simStart)
	decs := map[event.Kind]*ingest.RowDecoder{}
	var out []store.Rows
	rows := 0
	for i := 0; i < cfg.Events; i++ {
		m := g.Next()
		d := decs[m.Kind]
		if d == nil {
			d = ingest.NewRowDecoder(m.Kind, event.Limits{})
			decs[m.Kind] = d
		}
		if _, _, err := d.Decode(m.Value); err != nil {
			return nil, 0, fmt.Errorf("decode generated %s: %w", m.Kind, err)
		}
		d.Append(0, int64(i))
		rows++
		if d.Rows().Len() >= batchRows {
			out = append(out, d.Rows())
			decs[m.Kind] = nil
		}
	}
	for _, d := range decs {
		if d != nil && d.Rows().Len() > 0 {
			out = append(out, d.Rows())
		}
	}
	return out, rows, nil
}

func insertAll(ctx context.Context, st *store.Store, batches []store.Rows, workers int) error {
	ch := make(chan store.Rows)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range ch {
				r.SetIngestedAt(time.Now())
				if err := st.Insert(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for _, r := range batches {
		select {
		case ch <- r:
		case err = <-errs:
			break loop
		}
	}
	close(ch)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// PeakRSS reads VmHWM of a process ("self" for this one) from /proc (0 if
// unavailable).
func PeakRSS(pid string) uint64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// startBroker runs the embedded broker as a child process (`vetrina broker`)
// when this binary is vetrina, so that the ingester's memory and CPU are
// measured apart from the broker's; otherwise (go test) in-process.
// It returns the broker's address, a function that stops it and one that
// reads its peak RSS (0 in-process).
func startBroker(ctx context.Context, cfg Config, topics []string) (addr string, stop func(), peak func() uint64, err error) {
	if cfg.BrokerCommand == nil {
		b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: topics, Partitions: cfg.Partitions})
		if err != nil {
			return "", nil, nil, err
		}
		return b.Addr(), b.Close, func() uint64 { return 0 }, nil
	}
	port, err := chserver.FreePort()
	if err != nil {
		return "", nil, nil, err
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := cfg.BrokerCommand(addr, "bench.", cfg.Partitions)
	if err := cmd.Start(); err != nil {
		return "", nil, nil, fmt.Errorf("start broker process: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	peak = func() uint64 { return PeakRSS(pid) }
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop, peak, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, nil, fmt.Errorf("broker process did not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until ClickHouse has no merges running, so that one phase's
// background work does not slow the next phase down.
func settle(ctx context.Context, st *store.Store) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		n, err := st.RunningMerges(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
