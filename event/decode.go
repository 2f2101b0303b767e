package event

import (
	"strconv"
	"time"
)

// Reason classifies why a message was rejected; it is the `reason` column of
// the dead-letter table and a metric label, so the set is small and fixed.
type Reason string

// The reasons a message can be rejected.
const (
	ReasonMalformed    Reason = "malformed_json" // not a JSON object
	ReasonWrongType    Reason = "wrong_type"     // a field has the wrong JSON type
	ReasonMissing      Reason = "missing_field"  // a required field is absent or null
	ReasonOutOfRange   Reason = "out_of_range"   // a value is outside its domain (negative quantity, unknown surface)
	ReasonBadTimestamp Reason = "bad_timestamp"  // unparsable or absurd time
	ReasonOversized    Reason = "oversized"      // message larger than the limit
)

// Error says why a message was rejected.
type Error struct {
	Reason Reason
	Field  string // the offending field, if any
	Msg    string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return string(e.Reason) + ": " + e.Msg
	}
	return string(e.Reason) + ": " + e.Field + ": " + e.Msg
}

// Limits bound what a Decoder accepts. The zero value takes the defaults.
type Limits struct {
	MaxBytes  int           // largest message accepted; default 64 KiB
	MaxString int           // longest string field; default 8 KiB
	MinTime   time.Time     // earliest event time; default 2000-01-01
	MaxFuture time.Duration // how far ahead of Now an event may be; default 24h
	Now       func() time.Time
}

// Defaults for Limits.
const (
	DefaultMaxBytes  = 64 << 10
	DefaultMaxString = 8 << 10
	DefaultMaxFuture = 24 * time.Hour
	maxEventID       = 128
)

// DefaultMinTime is the earliest event time accepted by default.
var DefaultMinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Decoder decodes and validates messages. It reuses internal buffers, so one
// Decoder must not be used by two goroutines at once; the decoded strings are
// copies and stay valid.
type Decoder struct {
	lim Limits
	s   scanner
	// max event time, refreshed at most once per decode call batch
	now      func() time.Time
	nowCache time.Time
	nowCalls int
}

// NewDecoder returns a Decoder enforcing lim.
func NewDecoder(lim Limits) *Decoder {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxString <= 0 {
		lim.MaxString = DefaultMaxString
	}
	if lim.MinTime.IsZero() {
		lim.MinTime = DefaultMinTime
	}
	if lim.MaxFuture <= 0 {
		lim.MaxFuture = DefaultMaxFuture
	}
	now := lim.Now
	if now == nil {
		now = time.Now
	}
	return &Decoder{lim: lim, now: now}
}

func (d *Decoder) begin(data []byte) *Error {
	if len(data) > d.lim.MaxBytes {
		return &Error{Reason: ReasonOversized, Msg: strconv.Itoa(len(data)) + " bytes, limit " + strconv.Itoa(d.lim.MaxBytes)}
	}
	d.s.reset(data)
	return nil
}

// latest returns the newest acceptable event time. time.Now is cheap but
// not free; refreshing it every 1024 messages is precise enough for a
// 24-hour bound.
func (d *Decoder) latest() time.Time {
	if d.nowCalls%1024 == 0 {
		d.nowCache = d.now()
	}
	d.nowCalls++
	return d.nowCache.Add(d.lim.MaxFuture)
}

// refresh re-reads the clock and returns the newest acceptable event time.
// A cached now can only be too old, so a time past latest() is rejected
// only if it is also past refresh() (a quiet topic may not see 1024
// messages in a day).
func (d *Decoder) refresh() time.Time {
	d.nowCache = d.now()
	return d.nowCache.Add(d.lim.MaxFuture)
}

func (d *Decoder) checkTime(field string, t time.Time) *Error {
	if t.Before(d.lim.MinTime) {
		return &Error{Reason: ReasonBadTimestamp, Field: field, Msg: t.Format(time.RFC3339) + " is before " + d.lim.MinTime.Format(time.RFC3339)}
	}
	if t.After(d.latest()) && t.After(d.refresh()) {
		return &Error{Reason: ReasonBadTimestamp, Field: field, Msg: t.Format(time.RFC3339) + " is more than " + d.lim.MaxFuture.String() + " in the future"}
	}
	return nil
}

func (d *Decoder) str(max int) (string, *Error) {
	b, err := d.s.string()
	if err != nil {
		return "", err
	}
	if len(b) > max {
		return "", &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "longer than " + strconv.Itoa(max) + " bytes"}
	}
	return string(b), nil
}

func (d *Decoder) nonEmpty(max int) (string, *Error) {
	v, err := d.str(max)
	if err == nil && v == "" {
		err = &Error{Reason: ReasonMissing, Field: d.s.field, Msg: "must not be empty"}
	}
	return v, err
}

func (d *Decoder) id() (uint64, *Error) {
	v, err := d.s.uint()
	if err == nil && v == 0 {
		err = &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "must be positive"}
	}
	return v, err
}

func (d *Decoder) optID() (uint64, *Error) {
	if d.s.isNull() {
		return 0, nil
	}
	return d.s.uint()
}

func (d *Decoder) currency() (string, *Error) {
	b, err := d.s.string()
	if err != nil {
		return "", err
	}
	if len(b) != 3 || !upper(b[0]) || !upper(b[1]) || !upper(b[2]) {
		return "", &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "want an ISO 4217 code such as EUR"}
	}
	return string(b), nil
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

func (d *Decoder) nonNegative() (float64, *Error) {
	f, err := d.s.float()
	if err == nil && f < 0 {
		err = &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "must not be negative"}
	}
	return f, err
}

// optNonNegative reads an optional non-negative number; null means 0.
func (d *Decoder) optNonNegative() (float64, *Error) {
	if d.s.isNull() {
		return 0, nil
	}
	return d.nonNegative()
}

// requiredTime reads a required time field and checks its range.
func (d *Decoder) requiredTime(name string) (time.Time, *Error) {
	if err := d.notNull(name); err != nil {
		return time.Time{}, err
	}
	t, err := d.s.time()
	if err == nil {
		err = d.checkTime(name, t)
	}
	return t, err
}

// optTime reads an optional time field; null is the zero time.
func (d *Decoder) optTime(name string) (time.Time, *Error) {
	d.s.field = name
	if d.s.isNull() {
		return time.Time{}, nil
	}
	t, err := d.s.time()
	if err == nil {
		err = d.checkTime(name, t)
	}
	return t, err
}

// fields tracks which required members were seen.
type fields uint32

func (f fields) missing(required fields, names []string) *Error {
	gap := required &^ f
	for i, n := range names {
		if gap&(1<<i) != 0 {
			return &Error{Reason: ReasonMissing, Field: n, Msg: "required"}
		}
	}
	return nil
}

// required reports err for a null required field.
func (d *Decoder) notNull(name string) *Error {
	d.s.field = name
	if d.s.isNull() {
		return &Error{Reason: ReasonMissing, Field: name, Msg: "must not be null"}
	}
	return nil
}

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
					if n < 1 || n > 1_000_000 {
						err = &Error{Reason: ReasonOutOfRange, Field: "quantity", Msg: "want 1 to 1000000, got " + strconv.FormatInt(n, 10)}
					}
					p.Quantity = uint32(n)
				}
				seen |= 1 << 5
			}
		case "unit_price":
			if err = d.notNull("unit_price"); err == nil {
				p.UnitPrice, err = d.nonNegative()
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
				p.Price, err = d.nonNegative()
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
				in.Followers, err = d.s.uint()
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
			in.Fee, err = d.optNonNegative()
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
			l.Fee, err = d.optNonNegative()
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

// asError keeps a nil *Error from becoming a non-nil error interface.
func asError(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}
