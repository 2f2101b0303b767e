package event

import "strconv"

var viewFields = []string{"event_id", "ts", "user_id", "product_id", "surface"}

// View decodes a view message into v.
func (d *Decoder) View(data []byte, v *View) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*v = View{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "event_id":
			if err = d.notNull("event_id"); err == nil {
				v.EventID, err = d.nonEmpty(maxEventID)
				seen |= 1 << 0
			}
		case "ts":
			if err = d.notNull("ts"); err == nil {
				if v.TS, err = d.s.time(); err == nil {
					err = d.checkTime("ts", v.TS)
				}
				seen |= 1 << 1
			}
		case "user_id":
			if err = d.notNull("user_id"); err == nil {
				v.UserID, err = d.id()
				seen |= 1 << 2
			}
		case "product_id":
			if err = d.notNull("product_id"); err == nil {
				v.ProductID, err = d.id()
				seen |= 1 << 3
			}
		case "influencer_id":
			d.s.field = "influencer_id"
			v.InfluencerID, err = d.optID()
		case "live_id":
			d.s.field = "live_id"
			v.LiveID, err = d.optID()
		case "surface":
			if err = d.notNull("surface"); err == nil {
				var b []byte
				if b, err = d.s.string(); err == nil {
					if _, ok := surfaceNames[string(b)]; !ok {
						err = &Error{Reason: ReasonOutOfRange, Field: "surface", Msg: "want feed, live, search or shop"}
					} else {
						v.Surface = surfaceConst(b)
					}
				}
				seen |= 1 << 4
			}
		case "dwell_ms":
			d.s.field = "dwell_ms"
			if !d.s.isNull() {
				var n uint64
				if n, err = d.s.uint(); err == nil {
					if n > 24*3600*1000 {
						err = &Error{Reason: ReasonOutOfRange, Field: "dwell_ms", Msg: "longer than a day"}
					}
					v.DwellMS = uint32(n)
				}
			}
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return asError(seen.missing(1<<len(viewFields)-1, viewFields))
}

// surfaceConst returns the canonical (interned) surface name, so decoding a
// view allocates no string for it.
func surfaceConst(b []byte) string {
	switch string(b) {
	case "feed":
		return "feed"
	case "live":
		return "live"
	case "search":
		return "search"
	}
	return "shop"
}

var chatFields = []string{"event_id", "ts", "user_id", "live_id", "influencer_id", "text"}

// Chat decodes a chat message into c.
func (d *Decoder) Chat(data []byte, c *Chat) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*c = Chat{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "event_id":
			if err = d.notNull("event_id"); err == nil {
				c.EventID, err = d.nonEmpty(maxEventID)
				seen |= 1 << 0
			}
		case "ts":
			if err = d.notNull("ts"); err == nil {
				if c.TS, err = d.s.time(); err == nil {
					err = d.checkTime("ts", c.TS)
				}
				seen |= 1 << 1
			}
		case "user_id":
			if err = d.notNull("user_id"); err == nil {
				c.UserID, err = d.id()
				seen |= 1 << 2
			}
		case "live_id":
			if err = d.notNull("live_id"); err == nil {
				c.LiveID, err = d.id()
				seen |= 1 << 3
			}
		case "influencer_id":
			if err = d.notNull("influencer_id"); err == nil {
				c.InfluencerID, err = d.id()
				seen |= 1 << 4
			}
		case "product_id":
			d.s.field = "product_id"
			c.ProductID, err = d.optID()
		case "text":
			if err = d.notNull("text"); err == nil {
				c.Text, err = d.str(d.lim.MaxString)
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
	return asError(seen.missing(1<<len(chatFields)-1, chatFields))
}

var purchaseFields = []string{"event_id", "ts", "order_id", "user_id", "product_id", "quantity", "unit_price", "currency"}

// Purchase decodes a purchase message into p.
func (d *Decoder) Purchase(data []byte, p *Purchase) error {
	if err := d.begin(data); err != nil {
		return err
	}
	*p = Purchase{}
	var seen fields
	err := d.s.object(func(key []byte) *Error {
		var err *Error
		switch string(key) {
		case "event_id":
			if err = d.notNull("event_id"); err == nil {
				p.EventID, err = d.nonEmpty(maxEventID)
				seen |= 1 << 0
			}
		case "ts":
			if err = d.notNull("ts"); err == nil {
				if p.TS, err = d.s.time(); err == nil {
					err = d.checkTime("ts", p.TS)
				}
				seen |= 1 << 1
			}
		case "order_id":
			if err = d.notNull("order_id"); err == nil {
				p.OrderID, err = d.nonEmpty(maxEventID)
				seen |= 1 << 2
			}
		case "user_id":
			if err = d.notNull("user_id"); err == nil {
				p.UserID, err = d.id()
				seen |= 1 << 3
			}
		case "product_id":
			if err = d.notNull("product_id"); err == nil {
				p.ProductID, err = d.id()
				seen |= 1 << 4
			}
		case "influencer_id":
			d.s.field = "influencer_id"
			p.InfluencerID, err = d.optID()
		case "live_id":
			d.s.field = "live_id"
			p.LiveID, err = d.optID()
		case "quantity":
			if err = d.notNull("quantity"); err == nil {
				var n int64
				if n, err = d.s.int(); err == nil {
					if n < 1 || n > MaxQuantity {
						err = &Error{Reason: ReasonOutOfRange, Field: "quantity", Msg: "want 1 to " + strconv.Itoa(MaxQuantity) + ", got " + strconv.FormatInt(n, 10)}
					}
					p.Quantity = uint32(n)
				}
				seen |= 1 << 5
			}
		case "unit_price":
			if err = d.notNull("unit_price"); err == nil {
				p.UnitPrice, err = d.price()
				seen |= 1 << 6
			}
		case "currency":
			if err = d.notNull("currency"); err == nil {
				p.Currency, err = d.currency()
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
	return asError(seen.missing(1<<len(purchaseFields)-1, purchaseFields))
}
