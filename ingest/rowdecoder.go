package ingest

import (
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// RowDecoder decodes messages of one kind and appends them to a columnar
// batch for the kind's table. It is not safe for concurrent use.
type RowDecoder struct {
	kind event.Kind
	dec  *event.Decoder
	rows store.Rows

	view       event.View
	chat       event.Chat
	purchase   event.Purchase
	product    event.Product
	brand      event.Brand
	influencer event.Influencer
	live       event.Live
}

// NewRowDecoder returns a RowDecoder for kind with an empty batch.
func NewRowDecoder(kind event.Kind, lim event.Limits) *RowDecoder {
	dec := event.NewDecoder(lim)
	dec.Borrow() // Append copies the strings into the batch's arenas
	return &RowDecoder{kind: kind, dec: dec, rows: newRows(kind)}
}

// newRows returns an empty batch for kind's table.
func newRows(kind event.Kind) store.Rows {
	switch kind {
	case event.KindView:
		return &store.ViewRows{}
	case event.KindChat:
		return &store.ChatRows{}
	case event.KindPurchase:
		return &store.PurchaseRows{}
	case event.KindProduct:
		return &store.ProductRows{}
	case event.KindBrand:
		return &store.BrandRows{}
	case event.KindInfluencer:
		return &store.InfluencerRows{}
	default:
		return &store.LiveRows{}
	}
}

// Rows returns the batch.
func (d *RowDecoder) Rows() store.Rows { return d.rows }

// Decode decodes value and keeps it for Append. It returns the event_id
// (empty for catalog kinds) and the event time (updated_at for catalog).
func (d *RowDecoder) Decode(value []byte) (id string, ts time.Time, err error) {
	switch d.kind {
	case event.KindView:
		err = d.dec.View(value, &d.view)
		return d.view.EventID, d.view.TS, err
	case event.KindChat:
		err = d.dec.Chat(value, &d.chat)
		return d.chat.EventID, d.chat.TS, err
	case event.KindPurchase:
		err = d.dec.Purchase(value, &d.purchase)
		return d.purchase.EventID, d.purchase.TS, err
	case event.KindProduct:
		err = d.dec.Product(value, &d.product)
		return "", d.product.UpdatedAt, err
	case event.KindBrand:
		err = d.dec.Brand(value, &d.brand)
		return "", d.brand.UpdatedAt, err
	case event.KindInfluencer:
		err = d.dec.Influencer(value, &d.influencer)
		return "", d.influencer.UpdatedAt, err
	default:
		err = d.dec.Live(value, &d.live)
		return "", d.live.UpdatedAt, err
	}
}

// Append adds the last decoded message to the batch.
func (d *RowDecoder) Append(partition int32, offset int64) {
	switch r := d.rows.(type) {
	case *store.ViewRows:
		r.Add(&d.view, partition, offset)
	case *store.ChatRows:
		r.Add(&d.chat, partition, offset)
	case *store.PurchaseRows:
		r.Add(&d.purchase, partition, offset)
	case *store.ProductRows:
		r.Add(&d.product, partition, offset)
	case *store.BrandRows:
		r.Add(&d.brand, partition, offset)
	case *store.InfluencerRows:
		r.Add(&d.influencer, partition, offset)
	case *store.LiveRows:
		r.Add(&d.live, partition, offset)
	}
}
