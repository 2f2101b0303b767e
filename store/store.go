// Package store is the only package that speaks SQL. It owns Vetrina's
// ClickHouse schema (numbered migrations embedded from migrations/), inserts
// columnar batches of decoded events, and answers the questions the
// ingester needs for exactly-once delivery: how far each Kafka partition has
// landed in each table.
//
// Every insert is one block with one value of the partition key
// (ingested_at is the same for all its rows), so ClickHouse writes it as one
// part: it is visible entirely or not at all.
package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config says where ClickHouse is.
type Config struct {
	Addr        string // native protocol host:port, default 127.0.0.1:9000
	Database    string // default "vetrina"
	Username    string // default "default"
	Password    string
	DialTimeout time.Duration // default 5s
	ReadTimeout time.Duration // default 60s
	MaxConns    int           // default 8
	// Compression of the native protocol: "lz4" (default) saves network
	// bandwidth, "none" saves CPU when ClickHouse is on the same machine.
	Compression string
	// Cluster, when set, names the ClickHouse cluster (remote_servers) the
	// schema spans: every table becomes a per-node table_local plus a
	// Distributed table of the usual name sharded by kafka_partition, and
	// inserts through it are synchronous. Readers and writers are unchanged.
	Cluster string
	// ClusterMode is ClusterReplicated (the default: ReplicatedMergeTree,
	// DDL ON CLUSTER, migrate from one node) or ClusterSharded (MergeTree,
	// migrate every node).
	ClusterMode string
}

// DefaultDatabase is the database used when Config.Database is empty.
const DefaultDatabase = "vetrina"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Store is a connection pool to one ClickHouse database.
type Store struct {
	conn    driver.Conn
	db      string
	cluster *clusterLayout // nil on a single server
	user    string         // for remote() reads of every replica
	pass    string
}

// Open connects to ClickHouse. It does not require the database to exist
// (Migrate creates it) and does not fail if the server is down: the first
// query does.
func Open(cfg Config) (*Store, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:9000"
	}
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if !identRE.MatchString(cfg.Database) {
		return nil, fmt.Errorf("open clickhouse: database name %q: want letters, digits and _", cfg.Database)
	}
	if cfg.Username == "" {
		cfg.Username = "default"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	// On a cluster, the servers' profiles must set distributed_product_mode
	// = global (a join of two Distributed tables runs its right side once):
	// ClickHouse 18.16's protocol takes no string settings from clients.
	var layout *clusterLayout
	if cfg.Cluster != "" {
		l, err := newClusterLayout(cfg.Cluster, cfg.ClusterMode)
		if err != nil {
			return nil, fmt.Errorf("open clickhouse: %w", err)
		}
		layout = &l
	}
	var comp *clickhouse.Compression
	switch cfg.Compression {
	case "", "lz4":
		comp = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "none":
	default:
		return nil, fmt.Errorf("open clickhouse: compression %q: want lz4 or none", cfg.Compression)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:            []string{cfg.Addr},
		Auth:            clickhouse.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     cfg.ReadTimeout,
		MaxOpenConns:    cfg.MaxConns,
		MaxIdleConns:    cfg.MaxConns,
		ConnMaxLifetime: time.Hour,
		Compression:     comp,
		// An insert's block is encoded, compressed and sent in pieces of
		// about this size, a column at a time (still one block, one part):
		// a connection's buffers grow to its largest column, not to its
		// largest insert.
		MaxCompressionBuffer: 1 << 20,
		// Even so (megabytes each), kept by every idle connection of the
		// pool those buffers were a sixth of the ingester's live heap,
		// which under its memory limit set how often the collector ran.
		// Dropped after each query.
		FreeBufOnConnRelease: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, err)
	}
	return &Store{conn: conn, db: cfg.Database, cluster: layout, user: cfg.Username, pass: cfg.Password}, nil
}

// Database returns the database name.
func (s *Store) Database() string { return s.db }

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Ping checks that ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// ErrorCode returns the ClickHouse exception code of err as a short label
// for metrics: the server's code number, "network" for connection problems,
// "timeout" for deadlines, or "other".
func ErrorCode(err error) string {
	var ex *clickhouse.Exception
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ex):
		return strconv.Itoa(int(ex.Code))
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return "network"
	}
	return "other"
}

// Watermarks returns, per Kafka partition, the highest offset stored in
// table. Partitions with no rows are absent. In the replicated cluster
// layout it is the highest over every replica (everyReplica).
func (s *Store) Watermarks(ctx context.Context, table Table) (map[int32]int64, error) {
	from, args, err := s.everyReplica(ctx, table.Name())
	if err != nil {
		return nil, fmt.Errorf("read watermarks of %s.%s: %w", s.db, table.Name(), err)
	}
	q := "SELECT kafka_partition, max(kafka_offset) FROM " + from + " GROUP BY kafka_partition"
	return s.watermarks(ctx, q, table.Name(), args...)
}

// DeadLetterWatermarks returns, per partition of topic, the highest offset in
// the dead-letter table (over every replica, as Watermarks).
func (s *Store) DeadLetterWatermarks(ctx context.Context, topic string) (map[int32]int64, error) {
	from, args, err := s.everyReplica(ctx, "dead_letters")
	if err != nil {
		return nil, fmt.Errorf("read watermarks of %s.dead_letters: %w", s.db, err)
	}
	q := "SELECT kafka_partition, max(kafka_offset) FROM " + from + " WHERE topic = ? GROUP BY kafka_partition"
	return s.watermarks(ctx, q, "dead_letters", append(args, topic)...)
}

func (s *Store) watermarks(ctx context.Context, q, table string, args ...any) (map[int32]int64, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read watermarks of %s.%s: %w", s.db, table, err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p uint32
		var o uint64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("scan watermarks of %s.%s: %w", s.db, table, err)
		}
		out[int32(p)] = int64(o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read watermarks of %s.%s: %w", s.db, table, err)
	}
	return out, nil
}

// RecentEventIDs returns the event_id of every row of table from partition
// with an offset above after, in offset order. The ingester uses it to
// rebuild its duplicate window after a restart.
func (s *Store) RecentEventIDs(ctx context.Context, table Table, partition int32, after int64) ([]string, error) {
	if !table.IsEvent() {
		return nil, nil
	}
	from, args, err := s.everyReplica(ctx, table.Name())
	if err != nil {
		return nil, fmt.Errorf("read recent event ids of %s.%s partition %d: %w", s.db, table.Name(), partition, err)
	}
	q := "SELECT event_id FROM " + from + " WHERE kafka_partition = ? AND kafka_offset > ? ORDER BY kafka_offset"
	if args != nil {
		// Every replica's copy: one row per offset.
		q = "SELECT any(event_id) FROM " + from + " WHERE kafka_partition = ? AND kafka_offset > ? GROUP BY kafka_offset ORDER BY kafka_offset"
	}
	rows, err := s.conn.Query(ctx, q, append(args, uint32(partition), uint64(max(after, 0)))...)
	if err != nil {
		return nil, fmt.Errorf("read recent event ids of %s.%s partition %d: %w", s.db, table.Name(), partition, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan event id: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read recent event ids of %s.%s: %w", s.db, table.Name(), err)
	}
	return ids, nil
}

// Count returns count() and uniqExact(event_id) of an event table, or
// count() twice for other tables: what an analyst reads, without FINAL.
func (s *Store) Count(ctx context.Context, table Table) (rows, unique uint64, err error) {
	uniq := "count()"
	if table.IsEvent() {
		uniq = "uniqExact(event_id)"
	}
	q := "SELECT count(), " + uniq + " FROM " + s.db + "." + table.Name()
	if err := s.conn.QueryRow(ctx, q).Scan(&rows, &unique); err != nil {
		return 0, 0, fmt.Errorf("count %s.%s: %w", s.db, table.Name(), err)
	}
	return rows, unique, nil
}

// Insert writes rows as one INSERT (one block, one part). An empty batch is
// a no-op.
func (s *Store) Insert(ctx context.Context, rows Rows) error {
	n := rows.Len()
	if n == 0 {
		return nil
	}
	t := rows.Table()
	if s.cluster != nil {
		// Through the Distributed table, synchronously: the insert returns
		// once the shard holds the rows, so the batch's watermark is real.
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	}
	batch, err := s.conn.PrepareBatch(ctx, t.insertSQL(s.db), driver.WithReleaseConnection())
	if err != nil {
		return fmt.Errorf("insert %d rows into %s.%s: prepare: %w", n, s.db, t.Name(), err)
	}
	if err := rows.appendColumns(batch); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("insert %d rows into %s.%s: append: %w", n, s.db, t.Name(), err)
	}
	if err := batch.Send(); err != nil {
		if s.cluster != nil && s.cluster.replicated {
			if why := keeperTrouble(err); why != "" {
				return fmt.Errorf("insert %d rows into %s.%s: %s: %w", n, s.db, t.Name(), why, err)
			}
		}
		return fmt.Errorf("insert %d rows into %s.%s: %w", n, s.db, t.Name(), err)
	}
	return nil
}

// Exec runs a statement that takes no input from users (schema, admin).
func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	return s.conn.Exec(ctx, q, args...)
}

// DropDatabase drops the whole database. Tests use it to clean up.
func (s *Store) DropDatabase(ctx context.Context) error {
	if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+s.db+s.onCluster()); err != nil {
		return fmt.Errorf("drop database %s: %w", s.db, err)
	}
	return nil
}

// onCluster is " ON CLUSTER name" in the replicated cluster layout, else "".
func (s *Store) onCluster() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.onCluster()
}

// ClickHouse exception codes that mean a replicated table has no usable
// ZooKeeper session.
const (
	codeNoZooKeeper     = 225 // NO_ZOOKEEPER
	codeTableIsReadOnly = 242 // TABLE_IS_READ_ONLY: a replica without a ZooKeeper session
	codeUnknownStatus   = 319 // UNKNOWN_STATUS_OF_INSERT: ZooKeeper lost during the commit
	codeKeeperException = 999 // KEEPER_EXCEPTION: connection loss, session expired, ...
)

// keeperTrouble says, for an operator, why a replicated insert failed when
// the reason is ZooKeeper; "" otherwise.
func keeperTrouble(err error) string {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return ""
	}
	switch ex.Code {
	case codeNoZooKeeper, codeTableIsReadOnly, codeKeeperException:
		return "replicated tables cannot write without ZooKeeper (down, unreachable, or the session was lost and is being re-established)"
	case codeUnknownStatus:
		return "ZooKeeper went away while the insert was being committed; the same rows are inserted again (ClickHouse stores them once)"
	}
	return ""
}
