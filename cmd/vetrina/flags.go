package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/ranking"
)

// flags wraps a FlagSet so that every flag has an environment twin. The
// flags of the groups several commands share (Kafka, ClickHouse, ingest,
// ranking, API access, --http) have VETRINA_ and the flag's name:
// --batch-rows is VETRINA_BATCH_ROWS for every command that has it. A
// command's own flags have the command's name too: --rate of `vetrina
// token` is VETRINA_TOKEN_RATE, of `vetrina bench ranking`
// VETRINA_BENCH_RANKING_RATE, so setting one never changes another
// command. A flag given on the command line wins over the environment.
type flags struct {
	*flag.FlagSet
	cmd     string
	summary string
	shared  map[string]bool
}

func newFlags(cmd, summary string) *flags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// parse reports errors and prints --help itself.
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, cmd: cmd, summary: summary, shared: map[string]bool{}}
}

// usage writes the command's help: what it does and every flag with its
// environment variable and default.
func (f *flags) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: vetrina %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", f.cmd, f.summary)
	f.VisitAll(func(fl *flag.Flag) {
		def := ""
		if fl.DefValue != "" {
			def = fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		fmt.Fprintf(w, "  --%s  [$%s]\n      %s%s\n", fl.Name, f.envName(fl.Name), fl.Usage, def)
	})
}

// group defines the flags of a group several commands share: their
// environment twins carry no command name.
func (f *flags) group(define func()) {
	before := map[string]bool{}
	f.VisitAll(func(fl *flag.Flag) { before[fl.Name] = true })
	define()
	f.VisitAll(func(fl *flag.Flag) {
		if !before[fl.Name] {
			f.shared[fl.Name] = true
		}
	})
}

// envName is the environment twin of a flag.
func (f *flags) envName(flagName string) string {
	if f.shared[flagName] {
		return legacyEnvName(flagName)
	}
	return "VETRINA_" + envWord(f.cmd) + "_" + envWord(flagName)
}

// legacyEnvName is the twin every flag had before command names were part
// of them; it is still read, with a warning, for one release.
func legacyEnvName(flagName string) string { return "VETRINA_" + envWord(flagName) }

func envWord(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(s))
}

// lookupEnv returns the value of a flag's environment twin: its own name,
// else the legacy one, which logs a deprecation warning, unless the legacy
// name is now a shared flag's twin.
func (f *flags) lookupEnv(flagName string) (string, string, bool) {
	name := f.envName(flagName)
	if v, ok := os.LookupEnv(name); ok {
		return name, v, true
	}
	old := legacyEnvName(flagName)
	if old == name {
		return "", "", false
	}
	if _, ok := os.LookupEnv(old); ok && sharedEnvNames()[old] {
		// The old name is today's twin of a shared flag (--clickhouse,
		// --http of the serving commands): it is set for those commands
		// and must not reach this command's own flag of the same name.
		slog.Warn("environment variable ignored: it sets the shared flag of other commands, not this command's own", "variable", old, "command", f.cmd, "use", name)
		return "", "", false
	}
	if v, ok := os.LookupEnv(old); ok {
		slog.Warn("deprecated environment variable: it will be ignored in the next release", "variable", old, "use", name)
		return old, v, true
	}
	return "", "", false
}

// sharedEnvNames are the environment twins of every shared group's flags,
// whichever command defines them.
var sharedEnvNames = sync.OnceValue(func() map[string]bool {
	f := newFlags("", "")
	f.kafka("")
	f.http("")
	f.clickhouse("")
	f.ingest()
	f.models("")
	f.api()
	f.gcHeadroom()
	names := map[string]bool{}
	for flagName := range f.shared {
		names[legacyEnvName(flagName)] = true
	}
	return names
})

// setDefault changes a flag's default, as --help shows it, before parse.
func (f *flags) setDefault(name, value string) {
	fl := f.Lookup(name)
	if err := fl.Value.Set(value); err != nil {
		panic(fmt.Sprintf("flag --%s: default %q: %v", name, value, err))
	}
	fl.DefValue = fl.Value.String()
}

// usageError is a mistake on the command line: main prints it and exits
// with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// parse applies the environment, then the arguments. --help prints the
// command's help on stdout and returns flag.ErrHelp.
func (f *flags) parse(args []string) error {
	var err error
	f.VisitAll(func(fl *flag.Flag) {
		if name, v, ok := f.lookupEnv(fl.Name); ok && err == nil {
			if e := fl.Value.Set(v); e != nil {
				err = fmt.Errorf("$%s=%q: %w", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage(os.Stdout)
			return flag.ErrHelp
		}
		return usageErrorf("vetrina %s: %v (see vetrina %s --help)", f.cmd, err, f.cmd)
	}
	if f.NArg() > 0 {
		return usageErrorf("vetrina %s: unexpected argument %q (see vetrina %s --help)", f.cmd, f.Arg(0), f.cmd)
	}
	return nil
}

// The flag groups several commands share.

type kafkaFlags struct {
	brokers     *string
	topicPrefix *string
}

func (f *flags) kafka(defBrokers string) kafkaFlags {
	var k kafkaFlags
	f.group(func() {
		k.brokers = f.String("brokers", defBrokers, "Kafka bootstrap brokers, host:port[,host:port]")
	})
	k.topicPrefix = f.topicPrefix()
	return k
}

func (f *flags) topicPrefix() *string {
	var p *string
	f.group(func() {
		p = f.String("topic-prefix", "vetrina.", "topic names are PREFIX + views, chats, purchases, products, brands, influencers, lives")
	})
	return p
}

func (k kafkaFlags) brokerList() []string { return splitList(*k.brokers) }

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// http is the address a long-running command serves HTTP on.
func (f *flags) http(def string) *string {
	var addr *string
	f.group(func() {
		addr = f.String("http", def, "HTTP address: /metrics, /healthz, /readyz, and for serve and up the API")
	})
	return addr
}

type chFlags struct {
	addr, database, user, password, compression, cluster, clusterMode *string
}

func (f *flags) clickhouse(defAddr string) chFlags {
	var c chFlags
	f.group(func() {
		c = chFlags{
			addr:        f.String("clickhouse", defAddr, "ClickHouse native protocol address host:port"),
			database:    f.String("database", "vetrina", "ClickHouse database"),
			user:        f.String("clickhouse-user", "default", "ClickHouse user"),
			password:    f.String("clickhouse-password", "", "ClickHouse password"),
			compression: f.String("clickhouse-compression", "lz4", "native protocol compression: lz4, or none to save CPU when ClickHouse is on the same machine"),
			cluster:     f.String("clickhouse-cluster", "", "ClickHouse cluster (remote_servers) the schema spans: per-node table_local + Distributed tables sharded by kafka_partition (empty: one server)"),
			clusterMode: f.String("clickhouse-cluster-mode", "replicated", "with --clickhouse-cluster: replicated (ReplicatedMergeTree, DDL ON CLUSTER, needs Keeper) or sharded (MergeTree; migrate every node)"),
		}
	})
	return c
}

type ingestFlags struct {
	group       *string
	batchRows   *int
	linger      *time.Duration
	dedupWindow *int
	maxBytes    *int
	session     *time.Duration
	bufferedMiB *int
}

func (f *flags) ingest() ingestFlags {
	var i ingestFlags
	f.group(func() {
		i = ingestFlags{
			group:       f.String("group", "vetrina-ingest", "Kafka consumer group of the ingesters"),
			batchRows:   f.Int("batch-rows", 100000, "rows per ClickHouse insert at most"),
			linger:      f.Duration("linger", 250*time.Millisecond, "longest wait before a partial batch is inserted"),
			dedupWindow: f.Int("dedup-window", 1<<16, "event ids remembered per partition to drop producer retries (0 disables)"),
			maxBytes:    f.Int("max-message-bytes", 64<<10, "larger messages go to dead_letters as oversized"),
			session:     f.Duration("session-timeout", 10*time.Second, "consumer group session timeout: how soon a crashed ingester's partitions move to the others"),
			bufferedMiB: f.Int("max-buffered-mib", 64, "messages read and not yet inserted, across all partitions, at most about this many MiB: past it, batches are inserted early (bounds the ingester's memory whatever the backlog)"),
		}
	})
	return i
}

// trainFlags are what a training of the ranking needs (`train`, and the
// serving commands that retrain).
type trainFlags struct {
	window              *time.Duration
	snapshot            *string
	factors, iterations *int
	learnBlend          *float64
}

func (f *flags) training(defSnapshot string) trainFlags {
	var t trainFlags
	f.group(func() {
		t = trainFlags{
			window:     f.Duration("train-window", 90*24*time.Hour, "history a training reads"),
			snapshot:   f.String("model-snapshot", defSnapshot, "file the ranking model is saved to and loaded from at start (\"\" for none)"),
			factors:    f.Int("factors", 64, "ALS factors (k)"),
			iterations: f.Int("iterations", 10, "ALS iterations"),
			learnBlend: f.Float64("learn-blend", 0.10, "learn the blend's weights on this last fraction of the timeline (costs a second training); 0: equal weights of the standardised features"),
		}
	})
	return t
}

func (t trainFlags) trainConfig() ranking.TrainConfig {
	return ranking.TrainConfig{
		ALS:          ranking.ALSConfig{Factors: *t.factors, Iterations: *t.iterations},
		BlendHoldout: *t.learnBlend,
	}
}

// modelFlags are the serving commands' models, kept current in the
// background: the ranking (trained every --train-every, following the
// event topics) and matching's profiles.
type modelFlags struct {
	trainFlags
	every, lookback, profilesEvery *time.Duration
}

func (f *flags) models(defSnapshot string) modelFlags {
	m := modelFlags{trainFlags: f.training(defSnapshot)}
	f.group(func() {
		m.every = f.Duration("train-every", 10*time.Minute, "retrain the ranking model this often")
		m.profilesEvery = f.Duration("profiles-every", 10*time.Minute, "recompute the influencer and brand profiles of matching this often")
		m.lookback = f.Duration("follow-lookback", 30*time.Minute, "at start, read the event topics from this long ago to rebuild users' sessions")
	})
	return m
}

// apiFlags are the HTTP API's access settings.
type apiFlags struct {
	file      *string
	noAuth    *bool
	accessLog *string
}

func (f *flags) api() apiFlags {
	var a apiFlags
	f.group(func() {
		a = apiFlags{
			file:      f.String("tokens", "", "API token file (JSON; `vetrina token` adds entries); reloaded on SIGHUP and within 5 s of a change. Or put the document itself in $"+tokensEnv),
			noAuth:    f.Bool("no-auth", false, "serve the feed and brand routes without tokens: local experiments only"),
			accessLog: f.String("access-log", api.AccessLogErrors, "which requests to log: errors (4xx, 5xx and slower than 1 s), all, off"),
		}
	})
	return a
}

// gcHeadroom defines --gc-headroom-mib and returns it in bytes after
// parse (see gcpace.Run).
func (f *flags) gcHeadroom() func() uint64 {
	var mib *int
	f.group(func() {
		mib = f.Int("gc-headroom-mib", 64, "collect garbage once the heap grows this many MiB past the live heap (mostly the model) instead of letting it double; 0 keeps Go's default, and so does an explicit $GOGC")
	})
	return func() uint64 { return uint64(max(0, *mib)) << 20 }
}
