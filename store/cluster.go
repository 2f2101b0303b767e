package store

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Cluster layouts (Config.ClusterMode).
const (
	// ClusterReplicated: local tables are ReplicatedMergeTree (ZooKeeper or
	// ClickHouse Keeper, with the {shard} and {replica} macros on every
	// node) and every statement runs ON CLUSTER: migrate once, from any node.
	ClusterReplicated = "replicated"
	// ClusterSharded: plain MergeTree local tables and no ON CLUSTER (no
	// Keeper needed): run the migrations against every node.
	ClusterSharded = "sharded"
)

// LocalSuffix ends the name of the per-node table behind each Distributed
// table of a cluster layout: views (the Distributed table) over
// views_local (the rows of this shard).
const LocalSuffix = "_local"

// dedupSettings end the replicated layout's local tables. An insert that
// fails in the replicated layout is retried as it was (the same rows, so
// the same block), and ReplicatedMergeTree drops a block it has already
// committed: it keeps the hashes of the table's last
// replicated_deduplication_window blocks per shard in ZooKeeper. The
// default, 100, is a few seconds of an ingester's inserts; 1000 covers the
// longest wait between two tries (ingest's 10 s backoff) many times over.
const dedupSettings = " SETTINGS replicated_deduplication_window = 1000"

// DeduplicatesRetries reports whether a retried insert of the same rows is
// stored once: true in the replicated cluster layout. There a failed
// insert must be retried as it was rather than checked against the
// watermark: an insert that fails because ZooKeeper went away while the
// part was being committed ("Unknown status", code 319) leaves the part
// visible on its replica for up to five minutes, and ClickHouse drops it
// then if the commit did not happen; a watermark read meanwhile would
// count rows that are about to vanish.
func (s *Store) DeduplicatesRetries() bool { return s.cluster != nil && s.cluster.replicated }

// clusterLayout rewrites the migrations' single-server statements for a
// cluster. Each MergeTree table T becomes T_local on every node and a
// Distributed table T over the cluster, sharded by kafka_partition: all
// rows of one Kafka partition live on one shard, so one ingester insert
// (one partition's batch, inserted synchronously through T) is one part on
// one shard, and max(kafka_offset) per partition read through T is the
// resume point it is on a single server. Readers and writers keep using T.
type clusterLayout struct {
	cluster    string
	replicated bool
	// distributed holds the statement that creates each Distributed table
	// so far (by db.table): ClusterMigrations rewrites the migrations in
	// order, so a later ALTER can create its table again.
	distributed map[string]string
}

var (
	createTableRE = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+) (\(.*\)) ENGINE = MergeTree\(\)(.*)$`)
	createViewRE  = regexp.MustCompile(`(?s)^CREATE VIEW IF NOT EXISTS (\w+)\.(\w+) AS(.*)$`)
	dropRE        = regexp.MustCompile(`^DROP (TABLE|VIEW) IF EXISTS (\w+)\.(\w+)$`)
)

func (l clusterLayout) onCluster() string {
	if l.replicated {
		return " ON CLUSTER " + l.cluster
	}
	return ""
}

// migrationsTable is the replicated layout's schema_migrations: one table
// replicated to every node of the cluster (its path has no {shard}), so
// that migrating from one node records the migrations on all of them and
// any node answers what was applied. The replica name joins the {shard}
// and {replica} macros, unique together in any cluster.
func (l *clusterLayout) migrationsTable(db string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.schema_migrations%s (version UInt32, name String, applied_at DateTime) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{shard}-{replica}') ORDER BY version", db, l.onCluster(), db)
}

// statements returns the cluster form of one migration statement. Every
// form the migrations use is handled; anything else is an error, so that
// a new migration cannot silently skip the cluster.
func (l *clusterLayout) statements(stmt string) ([]string, error) {
	on := l.onCluster()
	if m := createTableRE.FindStringSubmatch(stmt); m != nil {
		db, table, cols, rest := m[1], m[2], m[3], m[4]
		engine := "MergeTree()"
		if l.replicated {
			engine = fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')", db, table+LocalSuffix)
			rest += dedupSettings
		}
		key := "rand()"
		if strings.Contains(cols, "kafka_partition ") {
			key = "kafka_partition"
		}
		dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s%s ENGINE = Distributed(%s, %s, %s%s, %s)", db, table, on, db, table, LocalSuffix, l.cluster, db, table, LocalSuffix, key)
		if l.distributed == nil {
			l.distributed = map[string]string{}
		}
		l.distributed[db+"."+table] = dist
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s%s %s ENGINE = %s%s", db, table, LocalSuffix, on, cols, engine, rest),
			dist,
		}, nil
	}
	if m := createViewRE.FindStringSubmatch(stmt); m != nil {
		return []string{fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s.%s%s AS%s", m[1], m[2], on, m[3])}, nil
	}
	if m := dropRE.FindStringSubmatch(strings.TrimSpace(stmt)); m != nil {
		return []string{fmt.Sprintf("DROP %s IF EXISTS %s.%s%s", m[1], m[2], m[3], on)}, nil
	}
	if m := addColumnRE.FindStringSubmatch(stmt); m != nil {
		db, table := m[1], m[2]
		rest := stmt[strings.Index(strings.ToUpper(stmt), " ADD COLUMN"):]
		// The local table first: the Distributed one must not announce a
		// column the shards lack.
		local := fmt.Sprintf("ALTER TABLE %s.%s%s%s%s", db, table, LocalSuffix, on, rest)
		if !l.replicated {
			return []string{local, fmt.Sprintf("ALTER TABLE %s.%s%s", db, table, rest)}, nil
		}
		// ClickHouse 18.16 refuses an ALTER ON CLUSTER of a table that is
		// not replicated (the Distributed one) when the cluster's shards
		// replicate internally, so that table is created again, from its
		// local table that now has the column. The replicated ALTER of the
		// local table returns once every active replica applied it.
		dist, ok := l.distributed[db+"."+table]
		if !ok {
			return nil, fmt.Errorf("ALTER of %s.%s, which no earlier migration creates", db, table)
		}
		return []string{local, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s%s", db, table, on), dist}, nil
	}
	return nil, fmt.Errorf("no cluster form for statement %.80q", stmt)
}

// ClusterMigrations returns the migrations of Migrations(db) rewritten for
// a cluster (see Config.Cluster).
func ClusterMigrations(db, cluster, mode string) ([]Migration, error) {
	l, err := newClusterLayout(cluster, mode)
	if err != nil {
		return nil, err
	}
	migs, err := Migrations(db)
	if err != nil {
		return nil, err
	}
	for i, m := range migs {
		var out []string
		for _, stmt := range m.Statements {
			ss, err := l.statements(stmt)
			if err != nil {
				return nil, fmt.Errorf("migration %s: %w", m.Name, err)
			}
			out = append(out, ss...)
		}
		migs[i].Statements = out
	}
	return migs, nil
}

func newClusterLayout(cluster, mode string) (clusterLayout, error) {
	if !identRE.MatchString(cluster) {
		return clusterLayout{}, fmt.Errorf("cluster name %q: want letters, digits and _", cluster)
	}
	switch mode {
	case "", ClusterReplicated:
		return clusterLayout{cluster: cluster, replicated: true}, nil
	case ClusterSharded:
		return clusterLayout{cluster: cluster}, nil
	}
	return clusterLayout{}, fmt.Errorf("cluster mode %q: want %s or %s", mode, ClusterReplicated, ClusterSharded)
}

// everyReplica returns the FROM clause, and its arguments, of a read of
// table that the ingester's exactly-once rests on (resume points, and the
// event ids of the duplicate window): on one server or a sharded cluster
// the table itself; in the replicated layout the local tables of every
// replica of every shard (remote() over the addresses of system.clusters),
// so that the caller takes the maximum over all copies. Replication is
// asynchronous: a read through the Distributed table can be answered by a
// replica that has not yet fetched the last batch inserted into its peer,
// and a new owner of the partition would then land that batch again. A
// replica that does not answer fails the read (the ingester retries it)
// rather than be skipped: it may hold a batch its peer has not fetched.
func (s *Store) everyReplica(ctx context.Context, table string) (string, []any, error) {
	if s.cluster == nil || !s.cluster.replicated {
		return s.db + "." + table, nil, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", s.cluster.cluster)
	if err != nil {
		return "", nil, fmt.Errorf("read the replicas of cluster %s: %w", s.cluster.cluster, err)
	}
	defer rows.Close()
	var addrs []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return "", nil, fmt.Errorf("read the replicas of cluster %s: %w", s.cluster.cluster, err)
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("read the replicas of cluster %s: %w", s.cluster.cluster, err)
	}
	if len(addrs) == 0 {
		return "", nil, fmt.Errorf("cluster %s is not in the remote_servers of the server (system.clusters)", s.cluster.cluster)
	}
	// Each address a shard of its own: every replica is read.
	return "remote(?, " + s.db + ", " + table + LocalSuffix + ", ?, ?)", []any{strings.Join(addrs, ","), s.user, s.pass}, nil
}
