package event

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Shared fixtures for the decoder tests, cross-checks, fuzz target and
// benchmarks.

// testNow is the fixed "now" of every test decoder, so future-time checks
// are deterministic.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// baseTS is the time of every base message.
var baseTS = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

func testDecoder() *Decoder { return NewDecoder(Limits{Now: fixedNow}) }

// decodeAs decodes data as kind k and returns a pointer to the decoded
// struct (even on error).
func decodeAs(d *Decoder, k Kind, data []byte) (any, error) {
	switch k {
	case KindView:
		var v View
		err := d.View(data, &v)
		return &v, err
	case KindChat:
		var v Chat
		err := d.Chat(data, &v)
		return &v, err
	case KindPurchase:
		var v Purchase
		err := d.Purchase(data, &v)
		return &v, err
	case KindProduct:
		var v Product
		err := d.Product(data, &v)
		return &v, err
	case KindBrand:
		var v Brand
		err := d.Brand(data, &v)
		return &v, err
	case KindInfluencer:
		var v Influencer
		err := d.Influencer(data, &v)
		return &v, err
	case KindLive:
		var v Live
		err := d.Live(data, &v)
		return &v, err
	}
	panic(fmt.Sprintf("unknown kind %d", k))
}

// Field types of the wire contract, written down independently of decode*.go
// so the tests check its field lists too.
const (
	tID      = "id"      // required unsigned id, > 0
	tOptID   = "optid"   // optional unsigned id, null or absent is 0
	tUint    = "uint"    // required unsigned integer, 0 allowed
	tStr     = "str"     // required string, may be empty
	tNEStr   = "nestr"   // required non-empty string
	tTime    = "time"    // required RFC 3339 or Unix milliseconds
	tQty     = "qty"     // required integer 1..1e6
	tMoney   = "money"   // required non-negative finite number
	tCur     = "cur"     // required ISO 4217 code
	tSurface = "surface" // required view surface
	tDwell   = "dwell"   // optional milliseconds, at most a day
	tBool    = "bool"    // required boolean
	tStrs    = "strs"    // required array of strings
	tOptFee  = "optfee"  // optional non-negative finite number, null or absent is 0
	tOptTime = "opttime" // optional time, null or absent is the zero time
	tOptIDs  = "optids"  // optional array of ids > 0, null or absent is nil
)

type fieldSpec struct {
	name, typ string
}

func (f fieldSpec) required() bool {
	switch f.typ {
	case tOptID, tDwell, tOptFee, tOptTime, tOptIDs:
		return false
	}
	return true
}

var schema = map[Kind][]fieldSpec{
	KindView: {{"event_id", tNEStr}, {"ts", tTime}, {"user_id", tID}, {"product_id", tID},
		{"influencer_id", tOptID}, {"live_id", tOptID}, {"surface", tSurface}, {"dwell_ms", tDwell}},
	KindChat: {{"event_id", tNEStr}, {"ts", tTime}, {"user_id", tID}, {"live_id", tID},
		{"influencer_id", tID}, {"product_id", tOptID}, {"text", tStr}},
	KindPurchase: {{"event_id", tNEStr}, {"ts", tTime}, {"order_id", tNEStr}, {"user_id", tID},
		{"product_id", tID}, {"influencer_id", tOptID}, {"live_id", tOptID}, {"quantity", tQty},
		{"unit_price", tMoney}, {"currency", tCur}},
	KindProduct: {{"product_id", tID}, {"brand_id", tID}, {"category", tNEStr}, {"title", tStr},
		{"price", tMoney}, {"currency", tCur}, {"in_stock", tBool}, {"updated_at", tTime}},
	KindBrand: {{"brand_id", tID}, {"name", tNEStr}, {"country", tStr}, {"updated_at", tTime}},
	KindInfluencer: {{"influencer_id", tID}, {"handle", tNEStr}, {"followers", tUint},
		{"country", tStr}, {"categories", tStrs}, {"fee", tOptFee}, {"updated_at", tTime}},
	KindLive: {{"live_id", tID}, {"influencer_id", tID}, {"sponsor_brand_id", tOptID}, {"fee", tOptFee},
		{"product_ids", tOptIDs}, {"started_at", tTime}, {"ended_at", tOptTime}, {"updated_at", tTime}},
}

func knownField(k Kind, name string) bool {
	for _, f := range schema[k] {
		if f.name == name {
			return true
		}
	}
	return false
}

var knownReasons = map[Reason]bool{
	ReasonMalformed: true, ReasonWrongType: true, ReasonMissing: true,
	ReasonOutOfRange: true, ReasonBadTimestamp: true, ReasonOversized: true,
}

type member struct{ key, val string }

// baseMembers are minimal valid messages of each kind (raw JSON values).
var baseMembers = map[Kind][]member{
	KindView: {{"event_id", `"v-1"`}, {"ts", `"2026-05-01T10:00:00Z"`}, {"user_id", `11`},
		{"product_id", `22`}, {"surface", `"feed"`}},
	KindChat: {{"event_id", `"c-1"`}, {"ts", `"2026-05-01T10:00:00Z"`}, {"user_id", `11`},
		{"live_id", `44`}, {"influencer_id", `33`}, {"text", `"hi"`}},
	KindPurchase: {{"event_id", `"p-1"`}, {"ts", `"2026-05-01T10:00:00Z"`}, {"order_id", `"o-1"`},
		{"user_id", `11`}, {"product_id", `22`}, {"quantity", `2`}, {"unit_price", `9.99`},
		{"currency", `"EUR"`}},
	KindProduct: {{"product_id", `22`}, {"brand_id", `55`}, {"category", `"beauty"`},
		{"title", `"Lipstick"`}, {"price", `12.5`}, {"currency", `"EUR"`}, {"in_stock", `true`},
		{"updated_at", `"2026-05-01T10:00:00Z"`}},
	KindBrand: {{"brand_id", `55`}, {"name", `"Acme"`}, {"country", `"FR"`},
		{"updated_at", `"2026-05-01T10:00:00Z"`}},
	KindInfluencer: {{"influencer_id", `33`}, {"handle", `"@ann"`}, {"followers", `1000`},
		{"country", `"IT"`}, {"categories", `["beauty","fashion"]`},
		{"updated_at", `"2026-05-01T10:00:00Z"`}},
	// A live on air: started, not ended, organic.
	KindLive: {{"live_id", `44`}, {"influencer_id", `33`}, {"product_ids", `[22,23]`},
		{"started_at", `"2026-05-01T09:00:00Z"`}, {"updated_at", `"2026-05-01T10:00:00Z"`}},
}

// absent, as a value in msg's mods, deletes the member.
const absent = "\x00absent"

// msg builds a message of kind k from its base members. mods are key,
// raw-value pairs: a value replaces the base member of that key (in place),
// or is appended if the key is new; the value absent deletes the member.
func msg(k Kind, mods ...string) string {
	ms := append([]member(nil), baseMembers[k]...)
	for i := 0; i+1 < len(mods); i += 2 {
		key, val := mods[i], mods[i+1]
		found := false
		for j := range ms {
			if ms[j].key == key {
				ms[j].val = val
				found = true
			}
		}
		if !found {
			ms = append(ms, member{key, val})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, m := range ms {
		if m.val == absent {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%q:%s", m.key, m.val)
	}
	b.WriteByte('}')
	return b.String()
}

// Expected values of the base messages, optionally modified.

func wantView(f func(*View)) *View {
	v := &View{EventID: "v-1", TS: baseTS, UserID: 11, ProductID: 22, Surface: "feed"}
	if f != nil {
		f(v)
	}
	return v
}

func wantChat(f func(*Chat)) *Chat {
	v := &Chat{EventID: "c-1", TS: baseTS, UserID: 11, LiveID: 44, InfluencerID: 33, Text: "hi"}
	if f != nil {
		f(v)
	}
	return v
}

func wantPurchase(f func(*Purchase)) *Purchase {
	v := &Purchase{EventID: "p-1", TS: baseTS, OrderID: "o-1", UserID: 11, ProductID: 22,
		Quantity: 2, UnitPrice: 9.99, Currency: "EUR"}
	if f != nil {
		f(v)
	}
	return v
}

func wantProduct(f func(*Product)) *Product {
	v := &Product{ProductID: 22, BrandID: 55, Category: "beauty", Title: "Lipstick", Price: 12.5,
		Currency: "EUR", InStock: true, UpdatedAt: baseTS}
	if f != nil {
		f(v)
	}
	return v
}

func wantBrand(f func(*Brand)) *Brand {
	v := &Brand{BrandID: 55, Name: "Acme", Country: "FR", UpdatedAt: baseTS}
	if f != nil {
		f(v)
	}
	return v
}

func wantInfluencer(f func(*Influencer)) *Influencer {
	v := &Influencer{InfluencerID: 33, Handle: "@ann", Followers: 1000, Country: "IT",
		Categories: []string{"beauty", "fashion"}, UpdatedAt: baseTS}
	if f != nil {
		f(v)
	}
	return v
}

func wantLive(f func(*Live)) *Live {
	v := &Live{LiveID: 44, InfluencerID: 33, ProductIDs: []uint64{22, 23},
		StartedAt: baseTS.Add(-time.Hour), UpdatedAt: baseTS}
	if f != nil {
		f(v)
	}
	return v
}

var timeType = reflect.TypeOf(time.Time{})

// sameEvent reports whether a and b (pointers to the same struct type) are
// equal: time fields must be Equal and both in UTC, everything else
// DeepEqual. It returns a description of the first difference.
func sameEvent(a, b any) (bool, string) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false, fmt.Sprintf("types %v and %v", va.Type(), vb.Type())
	}
	va, vb = va.Elem(), vb.Elem()
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Type() == timeType {
			ta, tb := fa.Interface().(time.Time), fb.Interface().(time.Time)
			if !ta.Equal(tb) {
				return false, fmt.Sprintf("%s: %v != %v", name, ta, tb)
			}
			if ta.Location() != time.UTC || tb.Location() != time.UTC {
				return false, fmt.Sprintf("%s: locations %v, %v, want UTC", name, ta.Location(), tb.Location())
			}
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			return false, fmt.Sprintf("%s: %#v != %#v", name, fa.Interface(), fb.Interface())
		}
	}
	return true, ""
}
