// Package bench holds Vetrina's end-to-end benchmarks, run the way an
// operator would run the system: a real broker over TCP, a real ClickHouse
// and the production binaries.
//
//   - `vetrina bench ingest` (Ingest): events/s through the ingester into
//     ClickHouse, from the embedded broker and optionally also from a
//     managed Apache Kafka, and, in the same run, the ceiling that ClickHouse
//     and clickhouse-go allow for the same rows.
//   - `vetrina bench ranking` (Ranking): training time and peak memory of
//     `vetrina train`, then feed latency of `vetrina serve` under an
//     open-loop load while the simulator streams events it follows.
//   - `vetrina bench load` (Load): that open-loop load, in a process of its
//     own: each request timed from when it was due.
//   - `vetrina bench stand-in` (StandIn): a model-free server doing a fixed
//     amount of CPU per request, to tell what the machine itself allows.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/kafkacluster"
	"github.com/vetrina/vetrina/sim"
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
	// CPUProfile, if set, receives a CPU profile of the first end-to-end
	// phase (kfake; of the in-process ingester; a child writes its own, see
	// IngestCommand).
	CPUProfile io.Writer
	// IngestCommand, if set, returns `vetrina ingest args...` with env as
	// a child process for the end-to-end phase from broker ("kfake" or
	// "apache"): the ingester then runs on its own, as in production, and
	// its peak RSS is its own (VETRINA_CPUPROFILE in env profiles it).
	// Nil runs the ingester in the benchmark's process.
	IngestCommand func(broker string, args ...string) *exec.Cmd
	// MaxBufferedBytes is the ingester's ingest.Config.MaxBufferedBytes (0:
	// its default).
	MaxBufferedBytes int
	// Progress, if set, hears how far each phase is.
	Progress func(step string, done, total int)
	// BrokerCommand, if set, returns the command that runs the broker as a
	// child process listening on addr with the topics PREFIX+kind.
	BrokerCommand func(addr, prefix string, partitions int) *exec.Cmd
	// Apache also measures the end-to-end phase from a managed Apache Kafka
	// broker (internal/kafkacluster: one node, replication factor 1)
	// preloaded with the same producer batches. The phases then run kfake,
	// Apache, Apache, kfake, before the ceiling.
	Apache bool
	// ApacheVersion is the Apache Kafka release (default
	// kafkacluster.DefaultVersion), fetched by scripts/fetch-kafka.sh.
	ApacheVersion string
}

// Result holds the measured figures.
type Result struct {
	Events, Rows   int
	ProduceSeconds float64 // preloading every broker (not part of any rate)
	// EndToEnd has one entry per broker, the embedded one first.
	EndToEnd          []EndToEnd
	CeilingSeconds    float64
	CeilingRowsPerSec float64
	// CeilingInserts and CeilingClickHouseCPUSeconds are the INSERT
	// statements of the ceiling and the CPU seconds the managed ClickHouse
	// used for them (0 if it is not managed); CeilingClientCPUSeconds those
	// of this process, which runs the inserters.
	CeilingInserts                                       uint64
	CeilingClickHouseCPUSeconds, CeilingClientCPUSeconds float64
	// CeilingSteal is the share of the machine's CPU time during the
	// ceiling that the hypervisor gave to other guests (/proc/stat).
	CeilingSteal        float64
	ClickHousePeakBytes uint64 // the managed ClickHouse, if any
	Cores               int
}

// EndToEnd is the end-to-end phase from one broker.
type EndToEnd struct {
	Broker  string // "kfake", "apache"
	About   string // the broker in a few words, for the report
	Seconds float64
	PerSec  float64 // events/s
	// Ratio is PerSec over the same run's ceiling in rows/s.
	Ratio             float64
	IngesterPeakBytes uint64 // the ingester (in-process: this process, the generator included)
	BrokerPeakBytes   uint64 // the broker, when it runs as a child process
	// CPU seconds (user and system) each process used during the phases;
	// zero for a process not run as a child (in-process: the ingester's
	// are the whole process's).
	IngesterCPUSeconds, BrokerCPUSeconds, ClickHouseCPUSeconds float64
	// Inserts is the INSERT statements the ingester made during the
	// phases (from its metrics; 0 if unknown).
	Inserts uint64
	// Phases holds the events/s of each phase from this broker, in order
	// (Seconds and PerSec pool them).
	Phases []float64
	// Steal is the share of the machine's CPU time during the phases that
	// the hypervisor gave to other guests (/proc/stat; a lower bound, see
	// LoadRound.Steal): the largest phase's.
	Steal float64
}

// add pools phase p, which ingested events, into e.
func (e *EndToEnd) add(p EndToEnd, events int) {
	e.Phases = append(e.Phases, p.PerSec)
	e.Seconds += p.Seconds
	e.PerSec = float64(len(e.Phases)*events) / e.Seconds
	e.IngesterCPUSeconds += p.IngesterCPUSeconds
	e.BrokerCPUSeconds += p.BrokerCPUSeconds
	e.ClickHouseCPUSeconds += p.ClickHouseCPUSeconds
	e.Inserts += p.Inserts
	e.Steal = max(e.Steal, p.Steal)
	e.IngesterPeakBytes = max(e.IngesterPeakBytes, p.IngesterPeakBytes)
	e.BrokerPeakBytes = max(e.BrokerPeakBytes, p.BrokerPeakBytes)
}

// Print writes a human-readable report: one row per broker and the
// ceiling, side by side.
func (r Result) Print(w io.Writer) {
	mib := func(b uint64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	fmt.Fprintf(w, "vetrina bench ingest: %d events (%d rows) on %d cores\n", r.Events, r.Rows, r.Cores)
	fmt.Fprintf(w, "  preload into the broker(s): %8.2f s  (not measured below)\n\n", r.ProduceSeconds)
	phased := ""
	for _, e := range r.EndToEnd {
		if len(e.Phases) > 1 {
			phased = "each phase's rate"
		}
	}
	fmt.Fprintf(w, "  %-26s %8s %11s %9s %7s %13s %11s %25s %8s %6s  %s\n", "", "seconds", "per second", "/ceiling", "/kfake", "ingester RSS", "broker RSS", "CPU s ingester/broker/CH", "inserts", "steal", phased)
	var kfake float64
	for _, e := range r.EndToEnd {
		if e.Broker == "kfake" {
			kfake = e.PerSec
		}
	}
	for _, e := range r.EndToEnd {
		vs := "-"
		if kfake > 0 {
			vs = fmt.Sprintf("%.2fx", e.PerSec/kfake)
		}
		cpu := func(s float64) string {
			if s == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", s)
		}
		var phases []string
		if len(e.Phases) > 1 {
			for _, p := range e.Phases {
				phases = append(phases, fmt.Sprintf("%.0f", p))
			}
		}
		fmt.Fprintf(w, "  %-26s %8.2f %11.0f %8.1f%% %7s %13s %11s %25s %8d %5.1f%%  %s\n", "end to end, "+e.Broker, e.Seconds, e.PerSec, 100*e.Ratio, vs, mib(e.IngesterPeakBytes), mib(e.BrokerPeakBytes),
			cpu(e.IngesterCPUSeconds)+" / "+cpu(e.BrokerCPUSeconds)+" / "+cpu(e.ClickHouseCPUSeconds), e.Inserts, 100*e.Steal, strings.Join(phases, ", "))
	}
	chCPU := "-"
	if r.CeilingClickHouseCPUSeconds > 0 {
		chCPU = fmt.Sprintf("%.1f", r.CeilingClickHouseCPUSeconds)
	}
	fmt.Fprintf(w, "  %-26s %8.2f %11.0f %8.1f%% %7s %13s %11s %25s %8d %5.1f%%\n\n", "ceiling (clickhouse-go)", r.CeilingSeconds, r.CeilingRowsPerSec, 100.0, "", "", "",
		fmt.Sprintf("%.1f", r.CeilingClientCPUSeconds)+" / - / "+chCPU, r.CeilingInserts, 100*r.CeilingSteal)
	for _, e := range r.EndToEnd {
		fmt.Fprintf(w, "  %-8s %s\n", e.Broker+":", e.About)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "ceiling:", "the same rows decoded ahead, clickhouse-go batch inserts of the same size, one inserter per core (rows/s)")
	if phased != "" {
		fmt.Fprintf(w, "  %-8s %s\n", "phases:", "kfake, apache, apache, kfake, each from offset 0 into a fresh database; a broker's row pools its phases")
	}
	if r.ClickHousePeakBytes > 0 {
		fmt.Fprintf(w, "  peak RSS ClickHouse: %s\n", mib(r.ClickHousePeakBytes))
	}
	steal := r.CeilingSteal
	for _, e := range r.EndToEnd {
		steal = max(steal, e.Steal)
	}
	if steal > maxSteal {
		fmt.Fprintf(w, "  warning: the hypervisor gave up to %.0f%% of this machine's CPU time to other guests during a phase (steal):\n"+
			"    the rates and their ratio are the host's as much as the ingester's; measure again when it is quiet\n", 100*steal)
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
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}

	// Apache Kafka first: a missing Java or release fails at once, with
	// how to fetch it, not after minutes of preloading.
	var apache *kafkacluster.Cluster
	if cfg.Apache {
		progress("start Apache Kafka", 0, 1)
		var err error
		apache, err = kafkacluster.Start(ctx, kafkacluster.Config{Version: cfg.ApacheVersion, Logger: log})
		if err != nil {
			return res, fmt.Errorf("bench: start Apache Kafka: %w", err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := apache.Close(cctx); err != nil {
				log.Warn("bench: stop Apache Kafka", "err", err)
			}
		}()
		progress("start Apache Kafka", 1, 1)
	}

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
	brokerAddr, stopBroker, brokerPID, err := startBroker(ctx, cfg, names)
	if err != nil {
		return res, err
	}
	defer stopBroker()
	kfakeAbout := "franz-go's kfake, the embedded broker of `vetrina up`, in memory"
	if cfg.BrokerCommand != nil {
		kfakeAbout += ", in its own process (`vetrina broker`)"
	}
	targets := []brokerTarget{{name: "kfake", about: kfakeAbout, addr: brokerAddr, db: "bench_e2e", pid: brokerPID}}
	if apache != nil {
		var ts []kafkacluster.Topic
		for _, n := range names {
			ts = append(ts, kafkacluster.Topic{Name: n, Partitions: cfg.Partitions, ReplicationFactor: 1})
		}
		if err := apache.CreateTopics(ctx, ts...); err != nil {
			return res, fmt.Errorf("bench: create the topics on Apache Kafka: %w", err)
		}
		targets = append(targets, brokerTarget{name: "apache", pid: strconv.Itoa(apache.PID(1)),
			about: fmt.Sprintf("Apache Kafka %s, 1 broker (KRaft, internal/kafkacluster's JVM settings), replication factor 1, acks=1, the same producer batches", apache.Version()),
			addr:  apache.Addr(1), db: "bench_e2e_apache"})
	}

	// Preload every broker with the same messages in the same producer
	// batches (kafka-go, lz4): a fetch then reads the same record batches
	// from each.
	log.Info("bench: preloading", "events", cfg.Events, "brokers", len(targets))
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
	var out teeWriter
	for _, t := range targets {
		out = append(out, &kafka.Writer{Addr: kafka.TCP(t.addr), Balancer: &kafka.Hash{}, BatchSize: 10000, BatchBytes: 16 << 20, BatchTimeout: 50 * time.Millisecond, RequiredAcks: kafka.RequireOne, Compression: kafka.Lz4})
	}
	preload := func(produced, count int) { progress("preload the broker(s) (events)", produced, count) }
	_, err = sim.Run(ctx, w, g, out, simTopics, sim.RunConfig{Count: cfg.Events, BatchSize: 20000, Progress: preload}, log)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("preload: %w", err)
	}
	res.ProduceSeconds = time.Since(start).Seconds()

	chPIDs := ""
	if chPID > 0 {
		chPIDs = strconv.Itoa(chPID)
	}
	// With two brokers the phases run kfake, Apache, Apache, kfake: a later
	// phase has measured up to a fifth slower than an earlier one (more
	// ClickHouse CPU per row), and this order gives both brokers the same
	// positions. Each phase reads its broker from offset 0 into a fresh
	// database (the ingester resumes from what ClickHouse holds).
	order := []int{0}
	if len(targets) == 2 {
		order = []int{0, 1, 1, 0}
	}
	res.EndToEnd = make([]EndToEnd, len(targets))
	for i, t := range targets {
		res.EndToEnd[i] = EndToEnd{Broker: t.name, About: t.about}
	}
	for phase, ti := range order {
		// A group of its own: the ingester resumes after the group's
		// committed offsets too, which the previous phase moved to the end.
		group := "bench-" + strconv.Itoa(phase+1)
		e, err := endToEnd(ctx, cfg, targets[ti], group, addr, chPIDs, topics, progress)
		if err != nil {
			return res, fmt.Errorf("end-to-end phase %d of %d: %w", phase+1, len(order), err)
		}
		res.EndToEnd[ti].add(e, cfg.Events)
		cfg.CPUProfile = nil // in-process, the profile is of the first phase
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
	res.CeilingInserts = uint64(len(batches))
	chCPU, clientCPU, machine := CPUSeconds(chPIDs), CPUSeconds("self"), machineCPU()
	start = time.Now()
	progress("ceiling: raw clickhouse-go inserts", 0, 1)
	if err := insertAll(ctx, ceil, batches, res.Cores); err != nil {
		return res, err
	}
	progress("ceiling: raw clickhouse-go inserts", 1, 1)
	res.CeilingSeconds = time.Since(start).Seconds()
	res.CeilingSteal = stealShare(machine, machineCPU())
	res.CeilingRowsPerSec = float64(rows) / res.CeilingSeconds
	res.CeilingClientCPUSeconds = CPUSeconds("self") - clientCPU
	if chPID > 0 {
		res.CeilingClickHouseCPUSeconds = CPUSeconds(chPIDs) - chCPU
	}
	for i := range res.EndToEnd {
		res.EndToEnd[i].Ratio = res.EndToEnd[i].PerSec / res.CeilingRowsPerSec
	}
	if chPID > 0 {
		res.ClickHousePeakBytes = PeakRSS(strconv.Itoa(chPID))
	}
	return res, nil
}
