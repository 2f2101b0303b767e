// Command vetrina is Vetrina's one binary: `vetrina up` runs the whole
// system on one machine; the other subcommands run one part each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"strings"
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
	{"serve", "serve the HTTP API: feed and matching, trained from ClickHouse and following Kafka; health, metrics", runServe},
	{"train", "train the ranking model once and write its snapshot", runTrain},
	{"migrate", "apply the ClickHouse schema migrations", runMigrate},
	{"token", "create or revoke an API token (feed, brand:<id>, admin)", runToken},
	{"bench", "benchmarks: `vetrina bench ingest`, `vetrina bench ranking`", runBench},
	{"eval", "offline evaluation: `vetrina eval ranking`, `vetrina eval matching`", runEval},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: vetrina COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\n`vetrina COMMAND --help` lists a command's flags and their environment variables;\n`vetrina --version` prints the build.\n"+
		"VETRINA_DEBUG=1 logs at debug level; VETRINA_CPUPROFILE=FILE writes a CPU profile of the whole run;\n"+
		"with VETRINA_TRACE=FILE each SIGUSR2 writes a 5 s execution trace.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs the command line args and returns the exit status: 0, 1 when
// the command failed, 2 for a mistake on the command line.
func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run([]string{args[1], "--help"})
		}
		usage(os.Stdout)
		return 0
	case "-version", "--version", "version":
		printVersion(os.Stdout)
		return 0
	}
	level := slog.LevelInfo
	if os.Getenv("VETRINA_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name := args[0]
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
		err := c.run(ctx, log, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintln(os.Stderr, err)
			return 2
		default:
			log.Error("vetrina "+name, "err", err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "vetrina: unknown command %q\n\n", name)
	usage(os.Stderr)
	return 2
}

// subcommand dispatches a command with subcommands (bench, eval): --help
// lists them on stdout, a missing or unknown one is a usage error.
func subcommand(ctx context.Context, log *slog.Logger, cmd string, args []string, subs []command) error {
	list := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: vetrina %s SUBCOMMAND [flags]\n\nSubcommands:\n", cmd)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-9s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\n`vetrina %s SUBCOMMAND --help` lists its flags.\n", cmd)
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return usageErrorf("usage: vetrina %s SUBCOMMAND [flags]; subcommands: %s", cmd, strings.Join(names, ", "))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		list(os.Stdout)
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, log, args[1:])
		}
	}
	return usageErrorf("vetrina %s: unknown subcommand %q; subcommands: %s", cmd, args[0], strings.Join(names, ", "))
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
