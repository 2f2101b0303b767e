package ranking

import (
	"context"
	"fmt"
)

// Similar is the answer to "products like this one".
type Similar struct {
	ProductID uint64     `json:"product_id"`
	Items     []FeedItem `json:"items"`
}

// Similar returns up to limit in-stock products similar to productID: its
// item neighbours, then trending products of its category.
func (r *Ranker) Similar(ctx context.Context, productID uint64, limit int) (*Similar, error) {
	if limit == 0 {
		limit = r.cfg.DefaultLimit
	}
	if limit < 0 || limit > r.cfg.MaxLimit {
		return nil, fmt.Errorf("%w: limit %d is outside 1..%d", ErrBadRequest, limit, r.cfg.MaxLimit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &Similar{ProductID: productID, Items: []FeedItem{}}
	m := r.model.Load()
	if m == nil {
		return out, nil // nothing known yet: an empty list, not an error
	}
	i, ok := m.Data.ItemIndex(productID)
	if !ok {
		return nil, fmt.Errorf("%w: product %d", ErrUnknownProduct, productID)
	}
	seen := map[int32]bool{i: true}
	addItem := func(j int32, score float64, reason string) {
		it := m.Data.Items[j]
		if seen[j] || !it.InStock || len(out.Items) >= limit {
			return
		}
		seen[j] = true
		out.Items = append(out.Items, FeedItem{ProductID: it.ID, Title: it.Title, Category: it.Category, BrandID: it.Brand, Price: it.Price, Score: round3(score), Reason: reason})
	}
	items, sims := m.Neighbours.Of(i)
	for k, j := range items {
		addItem(j, float64(sims[k]), "often viewed together")
	}
	if c := m.Data.ItemCategory[i]; c >= 0 && int(c) < len(m.Trending.ByCategory) {
		for _, j := range m.Trending.ByCategory[c] {
			addItem(j, 0, "trending in "+m.Data.Categories[c])
		}
	}
	return out, nil
}
