package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// LocalPartitions returns the Kafka partitions whose rows of table this
// node holds (its shard's table_local), in order. For cluster tests.
func (s *Store) LocalPartitions(ctx context.Context, table Table) ([]int32, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT kafka_partition FROM "+s.db+"."+table.Name()+LocalSuffix+" ORDER BY kafka_partition")
	if err != nil {
		return nil, fmt.Errorf("local partitions of %s: %w", table.Name(), err)
	}
	defer rows.Close()
	var out []int32
	for rows.Next() {
		var p uint32
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, int32(p))
	}
	return out, rows.Err()
}

// ActiveParts returns the number of active data parts of db.table. For
// tests.
func (s *Store) ActiveParts(ctx context.Context, db, table string) (int, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND table = ? AND active", db, table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count parts of %s.%s: %w", db, table, err)
	}
	return int(n), nil
}

// CountEvent returns how many rows of an event table have this event_id.
// For tests.
func (s *Store) CountEvent(ctx context.Context, table Table, eventID string) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+"."+table.Name()+" WHERE event_id = ?", eventID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count event in %s.%s: %w", s.db, table.Name(), err)
	}
	return n, nil
}

// Origins returns count() of table and the number of distinct places its
// rows came from, (kafka_partition, kafka_offset) (with the topic for
// dead_letters), read as an analyst reads it (through the Distributed
// table on a cluster). For tests: equal when no message landed twice.
func (s *Store) Origins(ctx context.Context, table Table) (rows, unique uint64, err error) {
	origin := "kafka_partition, kafka_offset"
	if table == TableDeadLetters {
		origin = "topic, kafka_partition, kafka_offset"
	}
	if err := s.conn.QueryRow(ctx, "SELECT count(), uniqExact("+origin+") FROM "+s.db+"."+table.Name()).Scan(&rows, &unique); err != nil {
		return 0, 0, fmt.Errorf("count origins of %s.%s: %w", s.db, table.Name(), err)
	}
	return rows, unique, nil
}

// LocalDigest returns count() of this node's table_local and a checksum of
// all its rows (every column): two replicas of a shard that hold the same
// rows give the same pair. For cluster tests.
func (s *Store) LocalDigest(ctx context.Context, table Table) (rows, digest uint64, err error) {
	local := table.Name() + LocalSuffix
	cr, err := s.conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", s.db, local)
	if err != nil {
		return 0, 0, fmt.Errorf("columns of %s.%s: %w", s.db, local, err)
	}
	var cols []string
	for cr.Next() {
		var c string
		if err := cr.Scan(&c); err != nil {
			cr.Close()
			return 0, 0, err
		}
		cols = append(cols, c)
	}
	cr.Close()
	if err := cr.Err(); err != nil || len(cols) == 0 {
		return 0, 0, fmt.Errorf("columns of %s.%s: %d, %v", s.db, local, len(cols), err)
	}
	// Column names from the server's own schema.
	q := "SELECT count(), sum(cityHash64(" + strings.Join(cols, ", ") + ")) FROM " + s.db + "." + local
	if err := s.conn.QueryRow(ctx, q).Scan(&rows, &digest); err != nil {
		return 0, 0, fmt.Errorf("digest of %s.%s: %w", s.db, local, err)
	}
	return rows, digest, nil
}

// LocalRows returns count() of this node's table_local. For cluster tests.
func (s *Store) LocalRows(ctx context.Context, table Table) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+"."+table.Name()+LocalSuffix).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s.%s%s: %w", s.db, table.Name(), LocalSuffix, err)
	}
	return n, nil
}

// ReplicaHealth returns, over this node's replicated tables of the
// database, how many are read-only and how many replication tasks are
// queued. For cluster tests.
func (s *Store) ReplicaHealth(ctx context.Context) (tables, readonly, queued uint64, err error) {
	q := "SELECT count(), sum(is_readonly), sum(queue_size) FROM system.replicas WHERE database = ?"
	if err := s.conn.QueryRow(ctx, q, s.db).Scan(&tables, &readonly, &queued); err != nil {
		return 0, 0, 0, fmt.Errorf("replica health of %s: %w", s.db, err)
	}
	return tables, readonly, queued, nil
}

// RestartReplicas runs SYSTEM RESTART REPLICA on this node's replicated
// tables of the database: ClickHouse attaches each again and checks its
// parts against ZooKeeper at once, detaching a part whose commit never
// happened, as it otherwise does five minutes after the failed insert that
// left it. For cluster tests.
func (s *Store) RestartReplicas(ctx context.Context) error {
	rows, err := s.conn.Query(ctx, "SELECT table FROM system.replicas WHERE database = ?", s.db)
	if err != nil {
		return fmt.Errorf("replicated tables of %s: %w", s.db, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		// Table names from the server's own catalog.
		if err := s.conn.Exec(ctx, "SYSTEM RESTART REPLICA "+s.db+"."+t); err != nil {
			return fmt.Errorf("restart replica %s.%s: %w", s.db, t, err)
		}
	}
	return nil
}

// InsertColumns returns the column list the store's INSERT into table
// names, in order. For the chdb comparison test.
func InsertColumns(table Table) []string {
	return append(append([]string{}, tableDefs[table].columns...), "kafka_partition", "kafka_offset", "ingested_at")
}

// IssuedQuery is one query the store issues on a single server, with {db}
// replaced and the arguments it binds.
type IssuedQuery struct {
	Name string
	SQL  string
	Args []any
}

// IssuedQueries returns every read the store issues on a single server
// (training reads, matching aggregates, watermarks, the dedup rebuild,
// migration bookkeeping), with the arguments a caller passing since/before,
// partition and after would bind. The inline query texts of store.go,
// read.go, interactions.go and migrate.go are repeated here; the matching
// and interaction aggregates are the store's own constants. For the chdb
// comparison test.
func (s *Store) IssuedQueries(since, before time.Time, partition int32, after int64, topic string) []IssuedQuery {
	db := func(q string) string { return strings.ReplaceAll(q, "{db}", s.db) }
	var out []IssuedQuery
	for t := TableViews; t <= TableDeadLetters; t++ {
		n := t.Name()
		out = append(out,
			IssuedQuery{"Watermarks " + n, "SELECT kafka_partition, max(kafka_offset) FROM " + s.db + "." + n + " GROUP BY kafka_partition", nil},
			IssuedQuery{"RowCount " + n, "SELECT count() FROM " + s.db + "." + n, nil},
		)
		uniq := "count()"
		if t.IsEvent() {
			uniq = "uniqExact(event_id)"
			out = append(out, IssuedQuery{"RecentEventIDs " + n, "SELECT event_id FROM " + s.db + "." + n + " WHERE kafka_partition = ? AND kafka_offset > ? ORDER BY kafka_offset", []any{uint32(partition), uint64(max(after, 0))}})
		}
		out = append(out, IssuedQuery{"Count " + n, "SELECT count(), " + uniq + " FROM " + s.db + "." + n, nil})
	}
	out = append(out,
		IssuedQuery{"DeadLetterWatermarks", "SELECT kafka_partition, max(kafka_offset) FROM " + s.db + ".dead_letters WHERE topic = ? GROUP BY kafka_partition", []any{topic}},
		IssuedQuery{"Products", "SELECT product_id, brand_id, category, title, price, currency, in_stock, updated_at FROM " + s.db + ".products ORDER BY product_id", nil},
		IssuedQuery{"Influencers", "SELECT influencer_id, handle, followers, country, categories, fee, updated_at FROM " + s.db + ".influencers ORDER BY influencer_id", nil},
		IssuedQuery{"Lives", "SELECT live_id, influencer_id, sponsor_brand_id, fee, product_ids, started_at, ended_at, updated_at FROM " + s.db + ".lives ORDER BY live_id", nil},
		IssuedQuery{"InfluencerHandles", "SELECT influencer_id, handle FROM " + s.db + ".influencers", nil},
		IssuedQuery{"BrandNames", db("SELECT brand_id, name FROM {db}.brands"), nil},
		IssuedQuery{"Interactions", db(interactionsSQL), []any{since, since, since}},
		IssuedQuery{"LiveAudiences", db(liveAudienceSQL), []any{before, before}},
		IssuedQuery{"LiveProducts", db(liveProductSQL), []any{before, before, before}},
		IssuedQuery{"LiveChatStats", db(liveChatsSQL), []any{before, before, before}},
		IssuedQuery{"Audiences", db(audienceSQL), []any{before, before, before}},
		IssuedQuery{"ShopSales", db(productSalesSQL), []any{before, before}},
		IssuedQuery{"AppliedMigrations", "SELECT DISTINCT version FROM " + s.db + ".schema_migrations", nil},
		IssuedQuery{"columnAdded", "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?", []any{s.db, "influencer_versions", "fee"}},
	)
	return out
}
