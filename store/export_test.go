package store

import (
	"context"
	"fmt"
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
