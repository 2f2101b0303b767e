package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vetrina/vetrina/internal/bench"
	"github.com/vetrina/vetrina/internal/kafkacluster"
	"github.com/vetrina/vetrina/internal/progress"
)

func runBench(ctx context.Context, log *slog.Logger, args []string) error {
	return subcommand(ctx, log, "bench", args, []command{
		{"ingest", "events/s through the ingester into ClickHouse, against the raw insert rate of the same rows", runBenchIngest},
		{"ranking", "training time and memory, then feed latency under an open-loop load", runBenchRanking},
		{"load", "an open-loop feed load from a process of its own (what `bench ranking` runs)", runBenchLoad},
		{"stand-in", "a model-free stand-in of the feed server (what `bench ranking --stand-in` runs)", runBenchStandIn},
	})
}

func runBenchIngest(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("bench ingest", "Preloads N simulated events into an embedded broker (and with --kafka apache also into a managed Apache Kafka broker), then measures in one run: end-to-end events/s into ClickHouse through the ingester from each broker, and the raw clickhouse-go batch insert rate of the same rows (the ceiling), side by side. Starts a managed ClickHouse unless --clickhouse is given.")
	events := f.Int("events", 2_000_000, "events to preload")
	partitions := f.Int("partitions", 6, "partitions per topic")
	ch := f.clickhouse("")
	inf := f.ingest()
	seed := f.Int64("seed", 7, "simulator seed")
	cpuProfile := f.String("cpuprofile", "", "the ingester (a child process) writes a CPU profile of its run to this file (with --kafka apache: of kfake's last phase, and of Apache Kafka's to the file with -apache before its extension)")
	kafkaKind := f.String("kafka", "kfake", "the brokers measured: kfake (the embedded broker), or apache (kfake and, in the same run, one managed Apache Kafka broker, scripts/fetch-kafka.sh's release, which needs Java)")
	kafkaVersion := f.String("kafka-version", kafkacluster.DefaultVersion, "with --kafka apache: the Apache Kafka release (fetch it first with scripts/fetch-kafka.sh VERSION)")
	ingesterBinary := f.String("ingester-binary", "", "run this vetrina build as the ingester instead of this one: two builds compared by the same benchmark")
	if err := f.parse(args); err != nil {
		return err
	}
	if *kafkaKind != "kfake" && *kafkaKind != "apache" {
		return usageErrorf("vetrina bench ingest: --kafka %q: kfake or apache (see vetrina bench ingest --help)", *kafkaKind)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ingester := self
	if *ingesterBinary != "" {
		ingester = *ingesterBinary
	}
	meter := progress.New(os.Stderr)
	defer meter.Finish()
	res, err := bench.Ingest(ctx, bench.Config{
		Events: *events, Partitions: *partitions, Seed: *seed,
		ClickHouse: *ch.addr, Compression: *ch.compression, BatchRows: *inf.batchRows, Linger: *inf.linger, MaxBufferedBytes: max(1, *inf.bufferedMiB) << 20, Logger: log, Progress: meter.Update,
		Apache: *kafkaKind == "apache", ApacheVersion: *kafkaVersion,
		BrokerCommand: func(addr, prefix string, partitions int) *exec.Cmd {
			return exec.Command(self, "broker", "--listen", addr, "--topic-prefix", prefix, "--partitions", strconv.Itoa(partitions))
		},
		// The ingester runs on its own, as in production: its memory is
		// its own, and --cpuprofile profiles it.
		IngestCommand: func(broker string, args ...string) *exec.Cmd {
			cmd := exec.Command(ingester, args...)
			if p := *cpuProfile; p != "" {
				if broker != "kfake" {
					ext := filepath.Ext(p)
					p = strings.TrimSuffix(p, ext) + "-" + broker + ext
				}
				cmd.Env = append(os.Environ(), "VETRINA_CPUPROFILE="+p)
			}
			return cmd
		},
	})
	if err != nil {
		return err
	}
	meter.Finish()
	res.Print(os.Stdout)
	return nil
}

func runBenchRanking(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("bench ranking", "Loads simulated interactions into ClickHouse, trains the ranking with `vetrina train` (time and peak RSS), starts `vetrina serve` from the snapshot and measures feed latency with `vetrina bench load`, an open-loop generator in its own process (each request timed from when it was due), while the simulator streams events that the server follows. With --stand-in, a model-free stand-in serves beside it and the rounds alternate between the two. Starts a managed ClickHouse unless --clickhouse is given.")
	users := f.Int("users", 1_000_000, "simulated users")
	products := f.Int("products", 100_000, "simulated products")
	events := f.Int("events", 20_000_000, "interactions to load")
	rate := f.Float64("rate", 2000, "feed requests per second")
	duration := f.Duration("duration", 30*time.Second, "length of each round of feed load")
	rounds := f.Int("rounds", 1, "rounds of load per server (with --stand-in they alternate)")
	stream := f.Float64("stream-rate", 500, "events per second streamed to Kafka during the load")
	reuse := f.Bool("reuse", false, "reuse the events already loaded in the bench_ranking database and the snapshot in --dir")
	serveProfile := f.String("serve-cpuprofile", "", "the server writes a CPU profile of its run here")
	dir := f.String("dir", "", "keep the model snapshot here (default: a temporary directory)")
	server := f.String("server-binary", "", "run this vetrina build as the trainer and server instead of this one: two builds compared under the same load")
	seed := f.Int64("seed", 11, "simulator seed")
	unknown := f.Float64("unknown-share", 0.2, "share of the requests for users the model does not know (1: all, 0: none)")
	standIn := f.Duration("stand-in", 0, "also run a stand-in beside the server, alternating rounds: the same feed body after this much busy CPU per request (e.g. the server's CPU per request), to see what the machine itself allows")
	match := f.Bool("stand-in-match", false, "with --stand-in: before each stand-in round after the first, set its busy time so that its CPU per request matches the server's in the round just before (on a shared host the server's cost moves)")
	hold := f.Int("stand-in-hold-mib", 0, "with --stand-in: the stand-in also keeps this many MiB resident, written once and not read under the load (the server keeps its model so), to see what resident memory alone costs")
	wrk := f.Bool("wrk", false, "removed: wrk paces each connection (a closed loop), which understates the tail; the open-loop `vetrina bench load` measures")
	ch := f.clickhouse("")
	if err := f.parse(args); err != nil {
		return err
	}
	if *wrk {
		return usageErrorf("vetrina bench ranking: --wrk was removed: wrk paces each connection (a closed loop: a slow answer delays the next request, so a slow period is sampled less), which understates the tail; the open-loop `vetrina bench load` measures instead")
	}
	if *match && *standIn <= 0 {
		return fmt.Errorf("bench ranking: --stand-in-match needs --stand-in (the first round's busy time)")
	}
	if *hold < 0 || *hold > 0 && *standIn <= 0 {
		return fmt.Errorf("bench ranking: --stand-in-hold-mib %d needs --stand-in and a size of 0 or more", *hold)
	}
	if *unknown < 0 || *unknown > 1 {
		return fmt.Errorf("bench ranking: --unknown-share %v is not a share between 0 and 1", *unknown)
	}
	if *rounds < 1 {
		return fmt.Errorf("bench ranking: --rounds %d: at least one", *rounds)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	serverBinary := self
	if *server != "" {
		serverBinary = *server
	}
	meter := progress.New(os.Stderr)
	defer meter.Finish()
	res, err := bench.Ranking(ctx, bench.RankingConfig{Progress: meter.Update,
		Users: *users, Products: *products, Events: *events, Seed: *seed, ClickHouse: *ch.addr, Reuse: *reuse, Dir: *dir,
		Rate: *rate, Duration: *duration, Rounds: *rounds, StreamRate: *stream, Logger: log, ServeCPUProfile: *serveProfile,
		Command: func(args ...string) *exec.Cmd { return exec.Command(serverBinary, args...) },
		Tool:    func(args ...string) *exec.Cmd { return exec.Command(self, args...) },
		StandIn: *standIn, StandInHold: *hold << 20, StandInMatch: *match, UnknownShare: unknownShare(*unknown),
	})
	if err != nil {
		return err
	}
	meter.Finish()
	res.Print(os.Stdout)
	return nil
}

// runBenchLoad is the open-loop feed load generator, in a process of its
// own; it prints what it measured as JSON.
func runBenchLoad(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("bench load", "Sends GET /v1/feed open-loop: request i is due at start + i/rate whatever happened to the others, and its latency counts from when it was due (no coordinated omission). Prints the achieved rate, the errors and every latency as JSON on stdout, p50 to p99.9 on stderr. `vetrina bench ranking` runs it in a process of its own.")
	url := f.String("url", "http://127.0.0.1:8080", "the server")
	tok := f.String("token", "", "a feed-scope API token (better in its environment variable than on the command line)")
	rate := f.Float64("rate", 2000, "requests per second")
	duration := f.Duration("duration", 30*time.Second, "length of the measured load")
	warmup := f.Duration("warmup", 2*time.Second, "load before the measured one, not measured")
	users := f.Int("users", 1_000_000, "known user ids are 1..users")
	unknown := f.Float64("unknown-share", 0.2, "share of the requests for users the model does not know")
	session := f.Float64("session-share", 0.2, "share of the requests for users the stream just saw (with --follow-brokers)")
	brokers := f.String("follow-brokers", "", "Kafka brokers of the event stream, host:port[,host:port], to learn who just acted")
	topics := f.String("follow-topics", "", "the event topics to follow, comma-separated")
	seed := f.Uint64("seed", 1, "seed of the users asked for")
	workers := f.Int("workers", 512, "connections kept open: each request goes out on a free one when it is due")
	if err := f.parse(args); err != nil {
		return err
	}
	if *tok == "" {
		return usageErrorf("vetrina bench load: a feed token is required: $%s or --token", f.envName("token"))
	}
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	res, err := bench.Load(ctx, bench.LoadConfig{URL: *url, Token: *tok, Rate: *rate, Duration: *duration, Warmup: *warmup, Users: *users,
		UnknownShare: *unknown, SessionShare: *session, Brokers: split(*brokers), Topics: split(*topics), Seed: *seed, Workers: *workers})
	if err != nil {
		return err
	}
	ms := func(q float64) float64 { return res.Quantile(q).Seconds() * 1000 }
	log.Info("bench load", "achieved", int(res.Achieved), "requests", res.Requests, "errors", res.Errors,
		"p50_ms", ms(0.5), "p90_ms", ms(0.9), "p99_ms", ms(0.99), "p999_ms", ms(0.999), "max_ms", ms(1))
	return json.NewEncoder(os.Stdout).Encode(res)
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
