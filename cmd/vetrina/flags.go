package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// flags wraps a FlagSet so that every flag has an environment twin:
// --batch-rows is also VETRINA_BATCH_ROWS. A flag given on the command line
// wins over the environment.
type flags struct {
	*flag.FlagSet
	cmd string
}

func newFlags(cmd, summary string) *flags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	f := &flags{FlagSet: fs, cmd: cmd}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: vetrina %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", cmd, summary)
		fs.VisitAll(func(fl *flag.Flag) {
			def := ""
			if fl.DefValue != "" {
				def = fmt.Sprintf(" (default %s)", fl.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s  [$%s]\n      %s%s\n", fl.Name, envName(fl.Name), fl.Usage, def)
		})
	}
	return f
}

func envName(flagName string) string {
	return "VETRINA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// given reports whether the flag was set on the command line or through
// its environment variable (after parse).
func (f *flags) given(name string) bool {
	if _, ok := os.LookupEnv(envName(name)); ok {
		return true
	}
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// parse applies the environment, then the arguments.
func (f *flags) parse(args []string) error {
	var err error
	f.VisitAll(func(fl *flag.Flag) {
		if v, ok := os.LookupEnv(envName(fl.Name)); ok && err == nil {
			if e := fl.Value.Set(v); e != nil {
				err = fmt.Errorf("$%s=%q: %w", envName(fl.Name), v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("vetrina %s: unexpected argument %q", f.cmd, f.Arg(0))
	}
	return nil
}

// Common flag groups.

type kafkaFlags struct {
	brokers     *string
	topicPrefix *string
}

func (f *flags) kafka(defBrokers string) kafkaFlags {
	return kafkaFlags{
		brokers:     f.String("brokers", defBrokers, "Kafka bootstrap brokers, host:port[,host:port]"),
		topicPrefix: f.String("topic-prefix", "vetrina.", "topic names are PREFIX + views, chats, purchases, products, brands, influencers, lives"),
	}
}

func (k kafkaFlags) brokerList() []string {
	var out []string
	for _, b := range strings.Split(*k.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

type chFlags struct {
	addr, database, user, password, compression, cluster, clusterMode *string
}

func (f *flags) clickhouse(defAddr string) chFlags {
	return chFlags{
		addr:        f.String("clickhouse", defAddr, "ClickHouse native protocol address host:port"),
		database:    f.String("database", "vetrina", "ClickHouse database"),
		user:        f.String("clickhouse-user", "default", "ClickHouse user"),
		password:    f.String("clickhouse-password", "", "ClickHouse password"),
		compression: f.String("clickhouse-compression", "lz4", "native protocol compression: lz4, or none to save CPU when ClickHouse is on the same machine"),
		cluster:     f.String("clickhouse-cluster", "", "ClickHouse cluster (remote_servers) the schema spans: per-node table_local + Distributed tables sharded by kafka_partition (empty: one server)"),
		clusterMode: f.String("clickhouse-cluster-mode", "replicated", "with --clickhouse-cluster: replicated (ReplicatedMergeTree, DDL ON CLUSTER, needs Keeper) or sharded (MergeTree; migrate every node)"),
	}
}

type ingestFlags struct {
	group       *string
	batchRows   *int
	linger      *time.Duration
	dedupWindow *int
	maxBytes    *int
	session     *time.Duration
}

func (f *flags) ingest() ingestFlags {
	return ingestFlags{
		group:       f.String("group", "vetrina-ingest", "Kafka consumer group of the ingesters"),
		batchRows:   f.Int("batch-rows", 100000, "rows per ClickHouse insert at most"),
		linger:      f.Duration("linger", 250*time.Millisecond, "longest wait before a partial batch is inserted"),
		dedupWindow: f.Int("dedup-window", 1<<16, "event ids remembered per partition to drop producer retries (0 disables)"),
		maxBytes:    f.Int("max-message-bytes", 64<<10, "larger messages go to dead_letters as oversized"),
		session:     f.Duration("session-timeout", 10*time.Second, "consumer group session timeout: how soon a crashed ingester's partitions move to the others"),
	}
}
