package event

import (
	"strconv"
	"time"
	"unsafe"
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
	borrow   bool // see Borrow
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
	return d.keep(b), nil
}

// keep returns b as a string: a copy, or with Borrow a view of the message
// when b lies in it (an unescaped string lies in the scanner's scratch,
// which the next string reuses, and is copied).
func (d *Decoder) keep(b []byte) string {
	if d.borrow && len(b) > 0 && d.s.inData(b) {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// Borrow makes the strings decoded afterwards views of the message's bytes
// where they can be (no escapes) instead of copies: valid only while those
// bytes are, for a caller that copies what it keeps, as the ingester's
// batches do. It saves an allocation per string, and the collector the
// work of those strings.
func (d *Decoder) Borrow() { d.borrow = true }

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
	return d.keep(b), nil
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

func (d *Decoder) nonNegative() (float64, *Error) {
	f, err := d.s.float()
	if err == nil && f < 0 {
		err = &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "must not be negative"}
	}
	return f, err
}

// price reads a price: 0 to MaxPrice.
func (d *Decoder) price() (float64, *Error) {
	f, err := d.nonNegative()
	if err == nil && f > MaxPrice {
		err = &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "more than the maximum price " + strconv.Itoa(MaxPrice)}
	}
	return f, err
}

// optFee reads an optional fee: null or 0 (unknown, or none), else
// MinFee to MaxFee.
func (d *Decoder) optFee() (float64, *Error) {
	if d.s.isNull() {
		return 0, nil
	}
	f, err := d.nonNegative()
	if err == nil && (f > 0 && f < MinFee || f > MaxFee) {
		err = &Error{Reason: ReasonOutOfRange, Field: d.s.field, Msg: "want 0 (unknown) or 0.01 to " + strconv.Itoa(MaxFee) + " EUR, got " + strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return f, err
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

// asError keeps a nil *Error from becoming a non-nil error interface.
func asError(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}
