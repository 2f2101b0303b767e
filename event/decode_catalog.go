package event

import (
	"strconv"
	"time"
)

var productFields = []string{"product_id", "brand_id", "category", "title", "price", "currency", "in_stock", "updated_at"}

// Product decodes a product catalog message into p.
func (d *Decoder) Product(data []byte, p *Product) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*p = Product{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "product_id":
			if err = d.notNull("product_id"); err == nil {
				p.ProductID, err = d.id()
				seen |= 1 << 0
			}
		case "brand_id":
			if err = d.notNull("brand_id"); err == nil {
				p.BrandID, err = d.id()
				seen |= 1 << 1
			}
		case "category":
			if err = d.notNull("category"); err == nil {
				p.Category, err = d.nonEmpty(256)
				seen |= 1 << 2
			}
		case "title":
			if err = d.notNull("title"); err == nil {
				p.Title, err = d.str(d.lim.MaxString)
				seen |= 1 << 3
			}
		case "price":
			if err = d.notNull("price"); err == nil {
				p.Price, err = d.price()
				seen |= 1 << 4
			}
		case "currency":
			if err = d.notNull("currency"); err == nil {
				p.Currency, err = d.currency()
				seen |= 1 << 5
			}
		case "in_stock":
			if err = d.notNull("in_stock"); err == nil {
				p.InStock, err = d.s.bool()
				seen |= 1 << 6
			}
		case "updated_at":
			if err = d.notNull("updated_at"); err == nil {
				if p.UpdatedAt, err = d.s.time(); err == nil {
					err = d.checkTime("updated_at", p.UpdatedAt)
				}
				seen |= 1 << 7
			}
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return asError(seen.missing(1<<len(productFields)-1, productFields))
}

var brandFields = []string{"brand_id", "name", "country", "updated_at"}

// Brand decodes a brand catalog message into b.
func (d *Decoder) Brand(data []byte, b *Brand) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*b = Brand{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "brand_id":
			if err = d.notNull("brand_id"); err == nil {
				b.BrandID, err = d.id()
				seen |= 1 << 0
			}
		case "name":
			if err = d.notNull("name"); err == nil {
				b.Name, err = d.nonEmpty(1024)
				seen |= 1 << 1
			}
		case "country":
			if err = d.notNull("country"); err == nil {
				b.Country, err = d.str(64)
				seen |= 1 << 2
			}
		case "updated_at":
			if err = d.notNull("updated_at"); err == nil {
				if b.UpdatedAt, err = d.s.time(); err == nil {
					err = d.checkTime("updated_at", b.UpdatedAt)
				}
				seen |= 1 << 3
			}
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return asError(seen.missing(1<<len(brandFields)-1, brandFields))
}

var influencerFields = []string{"influencer_id", "handle", "followers", "country", "categories", "updated_at"}

// Influencer decodes an influencer catalog message into in.
func (d *Decoder) Influencer(data []byte, in *Influencer) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*in = Influencer{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "influencer_id":
			if err = d.notNull("influencer_id"); err == nil {
				in.InfluencerID, err = d.id()
				seen |= 1 << 0
			}
		case "handle":
			if err = d.notNull("handle"); err == nil {
				in.Handle, err = d.nonEmpty(256)
				seen |= 1 << 1
			}
		case "followers":
			if err = d.notNull("followers"); err == nil {
				if in.Followers, err = d.s.uint(); err == nil && in.Followers > MaxFollowers {
					err = &Error{Reason: ReasonOutOfRange, Field: "followers", Msg: "more than " + strconv.Itoa(MaxFollowers)}
				}
				seen |= 1 << 2
			}
		case "country":
			if err = d.notNull("country"); err == nil {
				in.Country, err = d.str(64)
				seen |= 1 << 3
			}
		case "categories":
			if err = d.notNull("categories"); err == nil {
				in.Categories, err = d.s.strings(make([]string, 0, 4))
				if err == nil && len(in.Categories) > 64 {
					err = &Error{Reason: ReasonOutOfRange, Field: "categories", Msg: "more than 64"}
				}
				seen |= 1 << 4
			}
		case "fee":
			d.s.field = "fee"
			in.Fee, err = d.optFee()
		case "updated_at":
			if err = d.notNull("updated_at"); err == nil {
				if in.UpdatedAt, err = d.s.time(); err == nil {
					err = d.checkTime("updated_at", in.UpdatedAt)
				}
				seen |= 1 << 5
			}
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return asError(seen.missing(1<<len(influencerFields)-1, influencerFields))
}

var liveFields = []string{"live_id", "influencer_id", "started_at", "updated_at"}

// maxLiveProducts bounds product_ids of a live message.
const maxLiveProducts = 1000

// Live decodes a live catalog message into l.
func (d *Decoder) Live(data []byte, l *Live) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*l = Live{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "live_id":
			if err = d.notNull("live_id"); err == nil {
				l.LiveID, err = d.id()
				seen |= 1 << 0
			}
		case "influencer_id":
			if err = d.notNull("influencer_id"); err == nil {
				l.InfluencerID, err = d.id()
				seen |= 1 << 1
			}
		case "sponsor_brand_id":
			d.s.field = "sponsor_brand_id"
			l.SponsorBrandID, err = d.optID()
		case "fee":
			d.s.field = "fee"
			l.Fee, err = d.optFee()
		case "product_ids":
			d.s.field = "product_ids"
			l.ProductIDs = nil
			if !d.s.isNull() {
				l.ProductIDs, err = d.s.ids(make([]uint64, 0, 8))
				if err == nil && len(l.ProductIDs) > maxLiveProducts {
					err = &Error{Reason: ReasonOutOfRange, Field: "product_ids", Msg: "more than " + strconv.Itoa(maxLiveProducts)}
				}
			}
		case "started_at":
			l.StartedAt, err = d.requiredTime("started_at")
			seen |= 1 << 2
		case "ended_at":
			l.EndedAt, err = d.optTime("ended_at")
		case "updated_at":
			l.UpdatedAt, err = d.requiredTime("updated_at")
			seen |= 1 << 3
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := seen.missing(1<<len(liveFields)-1, liveFields); err != nil {
		return err
	}
	if !l.EndedAt.IsZero() && l.EndedAt.Before(l.StartedAt) {
		return &Error{Reason: ReasonOutOfRange, Field: "ended_at",
			Msg: l.EndedAt.Format(time.RFC3339Nano) + " is before started_at " + l.StartedAt.Format(time.RFC3339Nano)}
	}
	return nil
}
