package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vetrina/vetrina/event"
)

// Products returns the latest version of every product, by id.
func (s *Store) Products(ctx context.Context) ([]event.Product, error) {
	q := "SELECT product_id, brand_id, category, title, price, currency, in_stock, updated_at FROM " + s.db + ".products ORDER BY product_id"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read %s.products: %w", s.db, err)
	}
	defer rows.Close()
	var out []event.Product
	for rows.Next() {
		var p event.Product
		var inStock uint8
		var updated time.Time
		if err := rows.Scan(&p.ProductID, &p.BrandID, &p.Category, &p.Title, &p.Price, &p.Currency, &inStock, &updated); err != nil {
			return nil, fmt.Errorf("scan %s.products: %w", s.db, err)
		}
		p.InStock = inStock == 1
		p.UpdatedAt = updated.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.products: %w", s.db, err)
	}
	return out, nil
}

// Influencers returns the latest version of every influencer, by id.
func (s *Store) Influencers(ctx context.Context) ([]event.Influencer, error) {
	q := "SELECT influencer_id, handle, followers, country, categories, fee, updated_at FROM " + s.db + ".influencers ORDER BY influencer_id"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read %s.influencers: %w", s.db, err)
	}
	defer rows.Close()
	var out []event.Influencer
	for rows.Next() {
		var in event.Influencer
		if err := rows.Scan(&in.InfluencerID, &in.Handle, &in.Followers, &in.Country, &in.Categories, &in.Fee, &in.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan %s.influencers: %w", s.db, err)
		}
		in.UpdatedAt = in.UpdatedAt.UTC()
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.influencers: %w", s.db, err)
	}
	return out, nil
}

// Lives returns the latest version of every live, by id. A live on air
// has a zero EndedAt.
func (s *Store) Lives(ctx context.Context) ([]event.Live, error) {
	q := "SELECT live_id, influencer_id, sponsor_brand_id, fee, product_ids, started_at, ended_at, updated_at FROM " + s.db + ".lives ORDER BY live_id"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read %s.lives: %w", s.db, err)
	}
	defer rows.Close()
	var out []event.Live
	for rows.Next() {
		var l event.Live
		if err := rows.Scan(&l.LiveID, &l.InfluencerID, &l.SponsorBrandID, &l.Fee, &l.ProductIDs, &l.StartedAt, &l.EndedAt, &l.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scan %s.lives: %w", s.db, err)
		}
		l.StartedAt, l.UpdatedAt = l.StartedAt.UTC(), l.UpdatedAt.UTC()
		if l.EndedAt.Unix() == onAir.Unix() {
			l.EndedAt = time.Time{}
		} else {
			l.EndedAt = l.EndedAt.UTC()
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.lives: %w", s.db, err)
	}
	return out, nil
}

// RowCount returns count() of a table (current releases answer it from
// the parts' metadata; 18.16 reads a column).
func (s *Store) RowCount(ctx context.Context, table Table) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+"."+table.Name()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s.%s: %w", s.db, table.Name(), err)
	}
	return n, nil
}

// RunningMerges returns the number of merges ClickHouse is running now.
func (s *Store) RunningMerges(ctx context.Context) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
		return 0, fmt.Errorf("count running merges: %w", err)
	}
	return n, nil
}
