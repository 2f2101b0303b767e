package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Interaction aggregates what one user did with one product: the training
// input of the ranking models.
type Interaction struct {
	UserID, ProductID       uint64
	Views, Chats, Purchases uint64
	DwellMS                 uint64
	First, Last             time.Time
}

// interactionsSQL aggregates the three event tables per (user, product) in
// ClickHouse, so that only one row per pair crosses the wire. Chats without a
// product say nothing about a product and are left out.
const interactionsSQL = `
SELECT user_id, product_id, sum(v), sum(c), sum(p), sum(d), min(first), max(last)
FROM (
    SELECT user_id, product_id, count() AS v, toUInt64(0) AS c, toUInt64(0) AS p,
           sum(toUInt64(dwell_ms)) AS d, min(ts) AS first, max(ts) AS last
    FROM {db}.views WHERE ts >= ? GROUP BY user_id, product_id
    UNION ALL
    SELECT user_id, product_id, toUInt64(0), count(), toUInt64(0), toUInt64(0), min(ts), max(ts)
    FROM {db}.chats WHERE ts >= ? AND product_id != 0 GROUP BY user_id, product_id
    UNION ALL
    SELECT user_id, product_id, toUInt64(0), toUInt64(0), count(), toUInt64(0), min(ts), max(ts)
    FROM {db}.purchases WHERE ts >= ? GROUP BY user_id, product_id
)
GROUP BY user_id, product_id`

// Interactions streams one Interaction per (user, product) pair with events
// at or after since, in no particular order. fn's error stops the scan and
// is returned.
func (s *Store) Interactions(ctx context.Context, since time.Time, fn func(Interaction) error) error {
	q := strings.ReplaceAll(interactionsSQL, "{db}", s.db)
	rows, err := s.conn.Query(ctx, q, since, since, since)
	if err != nil {
		return fmt.Errorf("aggregate interactions in %s since %s: %w", s.db, since.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var in Interaction
	for rows.Next() {
		if err := rows.Scan(&in.UserID, &in.ProductID, &in.Views, &in.Chats, &in.Purchases, &in.DwellMS, &in.First, &in.Last); err != nil {
			return fmt.Errorf("scan interactions of %s: %w", s.db, err)
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("aggregate interactions in %s: %w", s.db, err)
	}
	return nil
}

// InfluencerHandles returns the latest handle of every influencer.
func (s *Store) InfluencerHandles(ctx context.Context) (map[uint64]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT influencer_id, handle FROM "+s.db+".influencers")
	if err != nil {
		return nil, fmt.Errorf("read %s.influencers: %w", s.db, err)
	}
	defer rows.Close()
	out := map[uint64]string{}
	for rows.Next() {
		var id uint64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("scan %s.influencers: %w", s.db, err)
		}
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.influencers: %w", s.db, err)
	}
	return out, nil
}
