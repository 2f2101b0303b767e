// Command vetrina is Vetrina's one binary: `vetrina up` runs the whole
// system on one machine; the other subcommands run one part each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, log *slog.Logger, args []string) error
}

var commands = []command{
	{"up", "run everything on this machine: ClickHouse, broker, ingester, API, simulator", runUp},
	{"broker", "run the embedded Kafka-protocol broker alone", runBroker},
	{"ingest", "consume the Kafka topics into ClickHouse", runIngest},
	{"simulate", "produce simulated live-commerce traffic to Kafka", runSimulate},
	{"serve", "serve the HTTP API: feed ranking (trained from ClickHouse, real time from Kafka), health, metrics", runServe},
	{"train", "train the ranking model once and write its snapshot", runTrain},
	{"migrate", "apply the ClickHouse schema migrations", runMigrate},
	{"token", "create or revoke an API token (feed, brand:<id>, admin)", runToken},
	{"bench", "measure throughput: `vetrina bench ingest`", runBench},
	{"eval", "offline evaluation: `vetrina eval ranking`", runEval},
}

func usage() {
	fmt.Fprintf(os.Stderr, "Usage: vetrina COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\n`vetrina COMMAND --help` lists a command's flags and their environment variables.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	level := slog.LevelInfo
	if os.Getenv("VETRINA_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name := os.Args[1]
	if path := os.Getenv("VETRINA_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if path := os.Getenv("VETRINA_TRACE"); path != "" {
		traceOnSignal(path, log)
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(ctx, log, os.Args[2:])
		switch {
		case err == nil:
			pprof.StopCPUProfile()
			return
		case errors.Is(err, flag.ErrHelp):
			return
		default:
			log.Error("vetrina "+name, "err", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "vetrina: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}

// traceOnSignal writes a 5 s execution trace to path on each SIGUSR2: a
// look at the scheduler of a running process (go tool trace path).
func traceOnSignal(path string, log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2)
	go func() {
		for range sig {
			f, err := os.Create(path)
			if err != nil {
				log.Error("trace", "err", err)
				continue
			}
			if err := trace.Start(f); err != nil {
				log.Error("trace", "err", err)
				f.Close()
				continue
			}
			time.Sleep(5 * time.Second)
			trace.Stop()
			f.Close()
			log.Info("trace written", "path", path)
		}
	}()
}
