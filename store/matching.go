package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The aggregates behind influencer matching. Each query aggregates in
// ClickHouse what happened before a cut-off, so that only a row per live,
// per (live, product), per (influencer, category) or per product crosses
// the wire. A viewer is "active" when they viewed something outside lives
// before the cut-off: fake accounts watch lives and do nothing else.

// activeUsersSQL is the set of users with a view outside lives before ?.
// Every subquery of a JOIN has an alias: current ClickHouse requires one
// (joined_subquery_requires_alias), 18.16 accepts it.
const activeUsersSQL = `(SELECT user_id, toUInt8(1) AS active FROM {db}.views WHERE live_id = 0 AND ts < ? GROUP BY user_id) AS active_users`

// LiveAudience is one live's audience before the cut-off.
type LiveAudience struct {
	LiveID, InfluencerID uint64
	Start                time.Time // first view
	Views, Viewers       uint64
	// ActiveViews and ActiveViewers count only active viewers.
	ActiveViews, ActiveViewers uint64
}

var liveAudienceSQL = `
SELECT live_id, any(influencer_id), min(ts), count(), uniqExact(user_id), countIf(active = 1), uniqExactIf(user_id, active = 1)
FROM {db}.views
ANY LEFT JOIN ` + activeUsersSQL + ` USING user_id
WHERE live_id != 0 AND ts < ?
GROUP BY live_id`

// LiveAudiences returns the audience of every live with views before
// before.
func (s *Store) LiveAudiences(ctx context.Context, before time.Time) ([]LiveAudience, error) {
	var out []LiveAudience
	err := s.scan(ctx, "live audiences", liveAudienceSQL, []any{before, before}, func(sc func(...any) error) error {
		var a LiveAudience
		if err := sc(&a.LiveID, &a.InfluencerID, &a.Start, &a.Views, &a.Viewers, &a.ActiveViews, &a.ActiveViewers); err != nil {
			return err
		}
		a.Start = a.Start.UTC()
		out = append(out, a)
		return nil
	})
	return out, err
}

// LiveProductStats is what one product did in one live: its views (by
// active viewers) and its sales.
type LiveProductStats struct {
	LiveID, ProductID uint64
	ActiveViews       uint64
	Orders, Units     uint64
	GMV               float64
}

var liveProductSQL = `
SELECT live_id, product_id, sum(v), sum(o), sum(u), sum(g)
FROM (
    SELECT live_id, product_id, count() AS v, toUInt64(0) AS o, toUInt64(0) AS u, toFloat64(0) AS g
    FROM {db}.views
    ANY LEFT JOIN ` + activeUsersSQL + ` USING user_id
    WHERE live_id != 0 AND ts < ? AND active = 1
    GROUP BY live_id, product_id
    UNION ALL
    SELECT live_id, product_id, toUInt64(0), count(), sum(toUInt64(quantity)), sum(quantity * unit_price)
    FROM {db}.purchases
    WHERE live_id != 0 AND ts < ?
    GROUP BY live_id, product_id
)
GROUP BY live_id, product_id`

// LiveProducts returns the views and sales of each product in each live
// before before.
func (s *Store) LiveProducts(ctx context.Context, before time.Time) ([]LiveProductStats, error) {
	var out []LiveProductStats
	err := s.scan(ctx, "live product stats", liveProductSQL, []any{before, before, before}, func(sc func(...any) error) error {
		var p LiveProductStats
		if err := sc(&p.LiveID, &p.ProductID, &p.ActiveViews, &p.Orders, &p.Units, &p.GMV); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// LiveChats is the chat of one live: messages, writers, questions
// (messages with a question mark, or about a product), and messages in
// bursts (five or more identical texts within ten seconds).
type LiveChats struct {
	LiveID          uint64
	Chats, Chatters uint64
	BurstChats      uint64
	ActiveChatters  uint64
	Questions       uint64
}

var liveChatsSQL = `
SELECT live_id, sum(c), sum(w), sum(b), sum(a), sum(q)
FROM (
    SELECT live_id, count() AS c, uniqExact(user_id) AS w, toUInt64(0) AS b, uniqExactIf(user_id, active = 1) AS a,
        countIf(position(text, '?') > 0 OR product_id != 0) AS q
    FROM {db}.chats
    ANY LEFT JOIN ` + activeUsersSQL + ` USING user_id
    WHERE live_id != 0 AND ts < ?
    GROUP BY live_id
    UNION ALL
    SELECT live_id, toUInt64(0), toUInt64(0), sum(n), toUInt64(0), toUInt64(0)
    FROM (
        SELECT live_id, text, intDiv(toUInt32(ts), 10) AS slot, count() AS n
        FROM {db}.chats WHERE live_id != 0 AND ts < ?
        GROUP BY live_id, text, slot
        HAVING n >= 5
    )
    GROUP BY live_id
)
GROUP BY live_id`

// LiveChatStats returns the chat statistics of every live with chats
// before before.
func (s *Store) LiveChatStats(ctx context.Context, before time.Time) ([]LiveChats, error) {
	var out []LiveChats
	err := s.scan(ctx, "live chats", liveChatsSQL, []any{before, before, before}, func(sc func(...any) error) error {
		var c LiveChats
		if err := sc(&c.LiveID, &c.Chats, &c.Chatters, &c.BurstChats, &c.ActiveChatters, &c.Questions); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// AudienceCategory is how much an influencer's active live viewers look at
// a category outside lives: the sum over viewers of the category's share
// of each viewer's views.
type AudienceCategory struct {
	InfluencerID uint64
	Category     string
	Share        float64
}

var audienceSQL = `
SELECT influencer_id, category, sum(share)
FROM (SELECT DISTINCT influencer_id, user_id FROM {db}.views WHERE live_id != 0 AND ts < ?) AS viewers
ALL INNER JOIN (
    SELECT user_id, category, n / t AS share
    FROM (
        SELECT user_id, category, count() AS n
        FROM {db}.views
        ANY LEFT JOIN (SELECT product_id, category FROM {db}.products) AS c USING product_id
        WHERE live_id = 0 AND ts < ?
        GROUP BY user_id, category
    ) AS per_category
    ALL INNER JOIN (
        SELECT user_id, count() AS t FROM {db}.views WHERE live_id = 0 AND ts < ? GROUP BY user_id
    ) AS totals USING user_id
) AS shares USING user_id
GROUP BY influencer_id, category`

// Audiences returns, per influencer and category, the summed category
// shares of the influencer's active live viewers (each viewer's shares sum
// to 1), from views before before.
func (s *Store) Audiences(ctx context.Context, before time.Time) ([]AudienceCategory, error) {
	var out []AudienceCategory
	err := s.scan(ctx, "audiences", audienceSQL, []any{before, before, before}, func(sc func(...any) error) error {
		var a AudienceCategory
		if err := sc(&a.InfluencerID, &a.Category, &a.Share); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// ProductSales is one product's views and sales outside lives.
type ProductSales struct {
	ProductID     uint64
	Views         uint64
	Orders, Units uint64
	GMV           float64
}

var productSalesSQL = `
SELECT product_id, sum(v), sum(o), sum(u), sum(g)
FROM (
    SELECT product_id, count() AS v, toUInt64(0) AS o, toUInt64(0) AS u, toFloat64(0) AS g
    FROM {db}.views WHERE live_id = 0 AND ts < ? GROUP BY product_id
    UNION ALL
    SELECT product_id, toUInt64(0), count(), sum(toUInt64(quantity)), sum(quantity * unit_price)
    FROM {db}.purchases WHERE live_id = 0 AND ts < ? GROUP BY product_id
)
GROUP BY product_id`

// ShopSales returns each product's views and sales outside lives before
// before.
func (s *Store) ShopSales(ctx context.Context, before time.Time) ([]ProductSales, error) {
	var out []ProductSales
	err := s.scan(ctx, "shop sales", productSalesSQL, []any{before, before}, func(sc func(...any) error) error {
		var p ProductSales
		if err := sc(&p.ProductID, &p.Views, &p.Orders, &p.Units, &p.GMV); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// BrandNames returns the latest name of every brand.
func (s *Store) BrandNames(ctx context.Context) (map[uint64]string, error) {
	out := map[uint64]string{}
	err := s.scan(ctx, "brands", "SELECT brand_id, name FROM {db}.brands", nil, func(sc func(...any) error) error {
		var id uint64
		var name string
		if err := sc(&id, &name); err != nil {
			return err
		}
		out[id] = name
		return nil
	})
	return out, err
}

// scan runs q ({db} replaced by the database) with args and calls row for
// each row with the row's Scan.
func (s *Store) scan(ctx context.Context, what, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(q, "{db}", s.db), args...)
	if err != nil {
		return fmt.Errorf("query %s in %s: %w", what, s.db, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return fmt.Errorf("scan %s in %s: %w", what, s.db, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s in %s: %w", what, s.db, err)
	}
	return nil
}
