package sim

import (
	"strconv"
	"time"

	"github.com/vetrina/vetrina/event"
)

// CatalogMessages returns one message per brand, product and influencer (in
// that order, so brands precede their products), keyed by the entity ID in
// decimal, with updated_at and Time set to now. Influencers carry their Fee
// (their rate card). Lives are in the generator's stream, not here.
func (w *World) CatalogMessages(now time.Time) []Message {
	now = now.UTC()
	ts := appendTimestamp(nil, now)
	msgs := make([]Message, 0, len(w.Brands)+len(w.Products)+len(w.Influencers))
	var b []byte
	add := func(kind event.Kind, id uint64, value []byte) {
		key := strconv.AppendUint(nil, id, 10)
		msgs = append(msgs, Message{Kind: kind, Key: key, Value: append([]byte(nil), value...), Time: now})
	}
	for i := range w.Brands {
		br := &w.Brands[i]
		b = append(b[:0], `{"brand_id":`...)
		b = strconv.AppendUint(b, br.ID, 10)
		b = append(b, `,"name":`...)
		b = event.AppendJSONString(b, br.Name)
		b = append(b, `,"country":`...)
		b = event.AppendJSONString(b, br.Country)
		b = appendUpdatedAt(b, ts)
		add(event.KindBrand, br.ID, b)
	}
	for i := range w.Products {
		p := &w.Products[i]
		b = append(b[:0], `{"product_id":`...)
		b = strconv.AppendUint(b, p.ID, 10)
		b = append(b, `,"brand_id":`...)
		b = strconv.AppendUint(b, p.BrandID, 10)
		b = append(b, `,"category":`...)
		b = event.AppendJSONString(b, p.Category)
		b = append(b, `,"title":`...)
		b = event.AppendJSONString(b, p.Title)
		b = append(b, `,"price":`...)
		b = appendPrice(b, p.Price)
		b = append(b, `,"currency":`...)
		b = event.AppendJSONString(b, p.Currency)
		b = append(b, `,"in_stock":true`...)
		b = appendUpdatedAt(b, ts)
		add(event.KindProduct, p.ID, b)
	}
	for i := range w.Influencers {
		in := &w.Influencers[i]
		b = append(b[:0], `{"influencer_id":`...)
		b = strconv.AppendUint(b, in.ID, 10)
		b = append(b, `,"handle":`...)
		b = event.AppendJSONString(b, in.Handle)
		b = append(b, `,"followers":`...)
		b = strconv.AppendUint(b, in.Followers, 10)
		b = append(b, `,"country":`...)
		b = event.AppendJSONString(b, in.Country)
		b = append(b, `,"categories":[`...)
		for j, c := range in.Categories {
			if j > 0 {
				b = append(b, ',')
			}
			b = event.AppendJSONString(b, c)
		}
		b = append(b, `],"fee":`...)
		b = appendPrice(b, in.Fee)
		b = appendUpdatedAt(b, ts)
		add(event.KindInfluencer, in.ID, b)
	}
	return msgs
}

func appendUpdatedAt(b, ts []byte) []byte {
	b = append(b, `,"updated_at":"`...)
	b = append(b, ts...)
	return append(b, `"}`...)
}
