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
