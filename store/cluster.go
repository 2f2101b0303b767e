package store

import (
	"fmt"
	"regexp"
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

// statements returns the cluster form of one migration statement. Every
// form the migrations use is handled; anything else is an error, so that
// a new migration cannot silently skip the cluster.
func (l clusterLayout) statements(stmt string) ([]string, error) {
	on := l.onCluster()
	if m := createTableRE.FindStringSubmatch(stmt); m != nil {
		db, table, cols, rest := m[1], m[2], m[3], m[4]
		engine := "MergeTree()"
		if l.replicated {
			engine = fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')", db, table+LocalSuffix)
		}
		key := "rand()"
		if strings.Contains(cols, "kafka_partition ") {
			key = "kafka_partition"
		}
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s%s %s ENGINE = %s%s", db, table, LocalSuffix, on, cols, engine, rest),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s%s ENGINE = Distributed(%s, %s, %s%s, %s)", db, table, on, db, table, LocalSuffix, l.cluster, db, table, LocalSuffix, key),
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
		return []string{
			fmt.Sprintf("ALTER TABLE %s.%s%s%s%s", db, table, LocalSuffix, on, rest),
			fmt.Sprintf("ALTER TABLE %s.%s%s%s", db, table, on, rest),
		}, nil
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
