package event

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type validCase struct {
	name string
	kind Kind
	data string
	lim  Limits // zero: the test defaults (fixed Now)
	want any
}

type badCase struct {
	name   string
	kind   Kind
	data   string
	lim    Limits
	reason Reason
	field  string // "?": not checked
	msg    string // if set, err.Error() must contain it
}

func decoderFor(lim Limits) *Decoder {
	if lim.Now == nil {
		lim.Now = fixedNow
	}
	return NewDecoder(lim)
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func validCases() []validCase {
	const unknown = `{"a":[1,2.5e-3,{"b":null,"c":[true,false]}],"s":"x\"}y","n":-0,"big":1e400,"e":{},"l":[]}`
	cs := []validCase{
		// View
		{name: "view/base", kind: KindView, data: msg(KindView), want: wantView(nil)},
		{name: "view/all fields", kind: KindView,
			data: msg(KindView, "influencer_id", "33", "live_id", "44", "surface", `"live"`, "dwell_ms", "1500"),
			want: wantView(func(v *View) { v.InfluencerID, v.LiveID, v.Surface, v.DwellMS = 33, 44, "live", 1500 })},
		{name: "view/optional null", kind: KindView,
			data: msg(KindView, "influencer_id", "null", "live_id", "null", "dwell_ms", "null"),
			want: wantView(nil)},
		{name: "view/optional zero", kind: KindView,
			data: msg(KindView, "influencer_id", "0", "live_id", `"0"`, "dwell_ms", "0"),
			want: wantView(nil)},
		{name: "view/surface search", kind: KindView, data: msg(KindView, "surface", `"search"`),
			want: wantView(func(v *View) { v.Surface = "search" })},
		{name: "view/surface shop", kind: KindView, data: msg(KindView, "surface", `"shop"`),
			want: wantView(func(v *View) { v.Surface = "shop" })},
		{name: "view/dwell exactly a day", kind: KindView, data: msg(KindView, "dwell_ms", "86400000"),
			want: wantView(func(v *View) { v.DwellMS = 86400000 })},
		{name: "view/ids as decimal strings", kind: KindView,
			data: msg(KindView, "user_id", `"11"`, "product_id", `"18446744073709551615"`, "influencer_id", `"7"`),
			want: wantView(func(v *View) { v.ProductID, v.InfluencerID = 1<<64-1, 7 })},
		{name: "view/max uint64 number", kind: KindView, data: msg(KindView, "user_id", "18446744073709551615"),
			want: wantView(func(v *View) { v.UserID = 1<<64 - 1 })},
		{name: "view/escapes in event_id", kind: KindView,
			data: msg(KindView, "event_id", `"a\nb\"c\u00e9\ud83d\ude00\\\/\t\b\f\r\u20AC"`),
			want: wantView(func(v *View) { v.EventID = "a\nb\"cé😀\\/\t\b\f\r€" })},
		{name: "view/raw utf-8 in event_id", kind: KindView, data: msg(KindView, "event_id", `"é😀日本"`),
			want: wantView(func(v *View) { v.EventID = "é😀日本" })},
		{name: "view/ts offset +02:00", kind: KindView, data: msg(KindView, "ts", `"2026-05-01T12:00:00+02:00"`),
			want: wantView(nil)},
		{name: "view/ts offset -04:30", kind: KindView, data: msg(KindView, "ts", `"2026-05-01T05:30:00-04:30"`),
			want: wantView(nil)},
		{name: "view/ts offset crosses midnight", kind: KindView, data: msg(KindView, "ts", `"2026-05-02T01:00:00+15:00"`),
			want: wantView(nil)},
		{name: "view/ts fractional nanoseconds", kind: KindView, data: msg(KindView, "ts", `"2026-05-01T10:00:00.123456789Z"`),
			want: wantView(func(v *View) { v.TS = baseTS.Add(123456789) })},
		{name: "view/ts fractional millis with offset", kind: KindView, data: msg(KindView, "ts", `"2026-05-01T11:00:00.5+01:00"`),
			want: wantView(func(v *View) { v.TS = baseTS.Add(500 * time.Millisecond) })},
		{name: "view/ts lower-case t and z", kind: KindView, data: msg(KindView, "ts", `"2026-05-01t10:00:00z"`),
			want: wantView(nil)},
		{name: "view/ts unix millis", kind: KindView, data: msg(KindView, "ts", ms(baseTS.Add(7*time.Millisecond))),
			want: wantView(func(v *View) { v.TS = baseTS.Add(7 * time.Millisecond) })},
		{name: "view/ts leap day", kind: KindView, data: msg(KindView, "ts", `"2024-02-29T23:59:59Z"`),
			want: wantView(func(v *View) { v.TS = time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC) })},
		{name: "view/ts min time", kind: KindView, data: msg(KindView, "ts", `"2000-01-01T00:00:00Z"`),
			want: wantView(func(v *View) { v.TS = DefaultMinTime })},
		{name: "view/ts exactly now+24h", kind: KindView,
			data: msg(KindView, "ts", `"`+testNow.Add(24*time.Hour).Format(time.RFC3339)+`"`),
			want: wantView(func(v *View) { v.TS = testNow.Add(24 * time.Hour) })},
		{name: "view/unknown fields ignored", kind: KindView,
			data: `{"first":` + unknown + `,` + msg(KindView, "zz", unknown, "arr", `[[],[[]],"é",null]`)[1:],
			want: wantView(nil)},
		{name: "view/whitespace everywhere", kind: KindView,
			data: " \t\r\n{ \"event_id\" :\n\"v-1\" ,\t\"ts\" : \"2026-05-01T10:00:00Z\" , \"user_id\" : 11 , \"product_id\" : 22 , \"surface\" : \"feed\" , \"live_id\" : null } \n",
			want: wantView(nil)},
		{name: "view/duplicate member last wins", kind: KindView,
			data: msg(KindView) + "", // replaced below
			want: wantView(func(v *View) { v.UserID = 99 })},
		{name: "view/escaped member name", kind: KindView,
			data: `{"event\u005fid":"v-1","ts":"2026-05-01T10:00:00Z","user_id":11,"product_id":22,"surface":"feed"}`,
			want: wantView(nil)},
		{name: "view/lone high surrogate then escape", kind: KindView, data: msg(KindView, "event_id", `"\ud83d\u0041"`),
			want: wantView(func(v *View) { v.EventID = "\ufffdA" })},
		{name: "view/lone low surrogate then escape", kind: KindView, data: msg(KindView, "event_id", `"\udc00\u0042"`),
			want: wantView(func(v *View) { v.EventID = "\ufffdB" })},
		{name: "view/two high surrogates then low", kind: KindView, data: msg(KindView, "event_id", `"\ud83d\ud83d\ude00"`),
			want: wantView(func(v *View) { v.EventID = "\ufffd😀" })},
		{name: "view/lone surrogate at end", kind: KindView, data: msg(KindView, "event_id", `"x\ud83d"`),
			want: wantView(func(v *View) { v.EventID = "x\ufffd" })},
		{name: "view/lone surrogate then text", kind: KindView, data: msg(KindView, "event_id", `"\ud83dx\n"`),
			want: wantView(func(v *View) { v.EventID = "\ufffdx\n" })},

		// Chat
		{name: "chat/base", kind: KindChat, data: msg(KindChat), want: wantChat(nil)},
		{name: "chat/escapes in text", kind: KindChat,
			data: msg(KindChat, "text", `"line1\nline2 \"quoted\" caf\u00e9 \ud83d\ude00 tab\t back\\slash \u003cb\u003e"`),
			want: wantChat(func(c *Chat) { c.Text = "line1\nline2 \"quoted\" café 😀 tab\t back\\slash <b>" })},
		{name: "chat/raw unicode text", kind: KindChat, data: msg(KindChat, "text", `"héllo 😀 日本語 \u2028"`),
			want: wantChat(func(c *Chat) { c.Text = "héllo 😀 日本語 \u2028" })},
		{name: "chat/empty text", kind: KindChat, data: msg(KindChat, "text", `""`),
			want: wantChat(func(c *Chat) { c.Text = "" })},
		{name: "chat/NUL escape", kind: KindChat, data: msg(KindChat, "text", `"a\u0000b"`),
			want: wantChat(func(c *Chat) { c.Text = "a\x00b" })},
		{name: "chat/text at MaxString", kind: KindChat, data: msg(KindChat, "text", `"`+strings.Repeat("é", DefaultMaxString/2)+`"`),
			want: wantChat(func(c *Chat) { c.Text = strings.Repeat("é", DefaultMaxString/2) })},
		{name: "chat/product_id", kind: KindChat, data: msg(KindChat, "product_id", "22"),
			want: wantChat(func(c *Chat) { c.ProductID = 22 })},
		{name: "chat/product_id null", kind: KindChat, data: msg(KindChat, "product_id", "null"),
			want: wantChat(nil)},
		{name: "chat/ids as strings", kind: KindChat,
			data: msg(KindChat, "user_id", `"11"`, "live_id", `"44"`, "influencer_id", `"33"`, "product_id", `"22"`),
			want: wantChat(func(c *Chat) { c.ProductID = 22 })},
		{name: "chat/unknown nested", kind: KindChat, data: msg(KindChat, "meta", unknown),
			want: wantChat(nil)},
		{name: "chat/ts millis", kind: KindChat, data: msg(KindChat, "ts", ms(baseTS)), want: wantChat(nil)},

		// Purchase
		{name: "purchase/base", kind: KindPurchase, data: msg(KindPurchase), want: wantPurchase(nil)},
		{name: "purchase/all fields", kind: KindPurchase,
			data: msg(KindPurchase, "influencer_id", "33", "live_id", "44", "quantity", "1000000", "unit_price", "0", "currency", `"USD"`),
			want: wantPurchase(func(p *Purchase) {
				p.InfluencerID, p.LiveID, p.Quantity, p.UnitPrice, p.Currency = 33, 44, 1000000, 0, "USD"
			})},
		{name: "purchase/optional null", kind: KindPurchase, data: msg(KindPurchase, "influencer_id", "null", "live_id", "null"),
			want: wantPurchase(nil)},
		{name: "purchase/price exponent", kind: KindPurchase, data: msg(KindPurchase, "unit_price", "1.5E+2"),
			want: wantPurchase(func(p *Purchase) { p.UnitPrice = 150 })},
		{name: "purchase/price negative zero", kind: KindPurchase, data: msg(KindPurchase, "unit_price", "-0.0"),
			want: wantPurchase(func(p *Purchase) { p.UnitPrice = 0 })},
		{name: "purchase/quantity 1", kind: KindPurchase, data: msg(KindPurchase, "quantity", "1"),
			want: wantPurchase(func(p *Purchase) { p.Quantity = 1 })},
		{name: "purchase/order_id escapes", kind: KindPurchase, data: msg(KindPurchase, "order_id", `"o\/1\u00e9"`),
			want: wantPurchase(func(p *Purchase) { p.OrderID = "o/1é" })},
		{name: "purchase/ts millis", kind: KindPurchase, data: msg(KindPurchase, "ts", ms(baseTS)), want: wantPurchase(nil)},
		{name: "purchase/ids as strings", kind: KindPurchase, data: msg(KindPurchase, "user_id", `"11"`, "product_id", `"22"`),
			want: wantPurchase(nil)},
		{name: "purchase/unknown fields", kind: KindPurchase, data: msg(KindPurchase, "lines", `[{"sku":"x","n":[1,2]}]`, "promo", unknown),
			want: wantPurchase(nil)},

		// Product
		{name: "product/base", kind: KindProduct, data: msg(KindProduct), want: wantProduct(nil)},
		{name: "product/out of stock free untitled", kind: KindProduct,
			data: msg(KindProduct, "in_stock", "false", "price", "0", "title", `""`),
			want: wantProduct(func(p *Product) { p.InStock, p.Price, p.Title = false, 0, "" })},
		{name: "product/updated_at offset", kind: KindProduct, data: msg(KindProduct, "updated_at", `"2026-05-01T12:00:00+02:00"`),
			want: wantProduct(nil)},
		{name: "product/updated_at millis", kind: KindProduct, data: msg(KindProduct, "updated_at", ms(baseTS)),
			want: wantProduct(nil)},
		{name: "product/title escapes", kind: KindProduct, data: msg(KindProduct, "title", `"Rouge \"Vif\" n\u00b01 \ud83d\udc84"`),
			want: wantProduct(func(p *Product) { p.Title = "Rouge \"Vif\" n°1 💄" })},
		{name: "product/ids as strings", kind: KindProduct, data: msg(KindProduct, "product_id", `"22"`, "brand_id", `"55"`),
			want: wantProduct(nil)},
		{name: "product/unknown fields", kind: KindProduct, data: msg(KindProduct, "images", `["a.jpg","b.jpg"]`, "dims", unknown),
			want: wantProduct(nil)},

		// Brand
		{name: "brand/base", kind: KindBrand, data: msg(KindBrand), want: wantBrand(nil)},
		{name: "brand/unicode name empty country", kind: KindBrand, data: msg(KindBrand, "name", `"L\u2019Or\u00e9al"`, "country", `""`),
			want: wantBrand(func(b *Brand) { b.Name, b.Country = "L’Oréal", "" })},
		{name: "brand/updated_at fractional", kind: KindBrand, data: msg(KindBrand, "updated_at", `"2026-05-01T10:00:00.000001Z"`),
			want: wantBrand(func(b *Brand) { b.UpdatedAt = baseTS.Add(time.Microsecond) })},
		{name: "brand/unknown fields", kind: KindBrand, data: msg(KindBrand, "x", unknown), want: wantBrand(nil)},

		// Influencer
		{name: "influencer/base", kind: KindInfluencer, data: msg(KindInfluencer), want: wantInfluencer(nil)},
		{name: "influencer/no categories zero followers", kind: KindInfluencer,
			data: msg(KindInfluencer, "categories", "[ ]", "followers", "0"),
			want: wantInfluencer(func(in *Influencer) { in.Categories, in.Followers = []string{}, 0 })},
		{name: "influencer/category escapes", kind: KindInfluencer,
			data: msg(KindInfluencer, "categories", ` [ "a\"b" , "caf\u00e9", "\ud83d\ude00", "" ] `),
			want: wantInfluencer(func(in *Influencer) { in.Categories = []string{`a"b`, "café", "😀", ""} })},
		{name: "influencer/64 categories", kind: KindInfluencer,
			data: msg(KindInfluencer, "categories", "["+strings.TrimSuffix(strings.Repeat(`"c",`, 64), ",")+"]"),
			want: wantInfluencer(func(in *Influencer) { in.Categories = strings.Split(strings.Repeat("c", 64), "") })},
		{name: "influencer/followers as string", kind: KindInfluencer, data: msg(KindInfluencer, "followers", `"1000"`),
			want: wantInfluencer(nil)},
		{name: "influencer/handle escapes", kind: KindInfluencer, data: msg(KindInfluencer, "handle", `"@\u00e9l\u00e8ne"`),
			want: wantInfluencer(func(in *Influencer) { in.Handle = "@élène" })},
		{name: "influencer/unknown fields", kind: KindInfluencer, data: msg(KindInfluencer, "socials", `{"ig":"@ann","tt":["@ann2"]}`),
			want: wantInfluencer(nil)},
		{name: "influencer/fee", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "1500.5"),
			want: wantInfluencer(func(in *Influencer) { in.Fee = 1500.5 })},
		{name: "influencer/fee zero", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "0"),
			want: wantInfluencer(nil)},
		{name: "influencer/fee null", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "null"),
			want: wantInfluencer(nil)},
		{name: "influencer/fee exponent", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "1.2e3"),
			want: wantInfluencer(func(in *Influencer) { in.Fee = 1200 })},
		{name: "influencer/fee at the bounds", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "0.01", "followers", "10000000000"),
			want: wantInfluencer(func(in *Influencer) { in.Fee, in.Followers = 0.01, 10_000_000_000 })},
		{name: "influencer/fee at the maximum", kind: KindInfluencer, data: msg(KindInfluencer, "fee", "10000000"),
			want: wantInfluencer(func(in *Influencer) { in.Fee = MaxFee })},

		// Live
		{name: "live/base on air", kind: KindLive, data: msg(KindLive), want: wantLive(nil)},
		{name: "live/ended sponsored", kind: KindLive,
			data: msg(KindLive, "sponsor_brand_id", "55", "fee", "1500.50", "ended_at", `"2026-05-01T10:00:00Z"`),
			want: wantLive(func(l *Live) { l.SponsorBrandID, l.Fee, l.EndedAt = 55, 1500.5, baseTS })},
		{name: "live/ended when it started", kind: KindLive, data: msg(KindLive, "ended_at", `"2026-05-01T11:00:00+02:00"`),
			want: wantLive(func(l *Live) { l.EndedAt = l.StartedAt })},
		{name: "live/ended_at before started_at in the message", kind: KindLive,
			data: `{"ended_at":` + ms(baseTS) + `,` + msg(KindLive)[1:],
			want: wantLive(func(l *Live) { l.EndedAt = baseTS })},
		{name: "live/optional null", kind: KindLive,
			data: msg(KindLive, "sponsor_brand_id", "null", "fee", "null", "ended_at", "null"),
			want: wantLive(nil)},
		{name: "live/optional zero", kind: KindLive, data: msg(KindLive, "sponsor_brand_id", `"0"`, "fee", "0"),
			want: wantLive(nil)},
		{name: "live/no product_ids", kind: KindLive, data: msg(KindLive, "product_ids", absent),
			want: wantLive(func(l *Live) { l.ProductIDs = nil })},
		{name: "live/product_ids null", kind: KindLive, data: msg(KindLive, "product_ids", "null"),
			want: wantLive(func(l *Live) { l.ProductIDs = nil })},
		{name: "live/product_ids empty", kind: KindLive, data: msg(KindLive, "product_ids", " [ ] "),
			want: wantLive(func(l *Live) { l.ProductIDs = []uint64{} })},
		{name: "live/ids as strings", kind: KindLive,
			data: msg(KindLive, "live_id", `"44"`, "influencer_id", `"33"`, "sponsor_brand_id", `"55"`, "product_ids", `[ "22" , 23, "18446744073709551615" ]`),
			want: wantLive(func(l *Live) { l.SponsorBrandID, l.ProductIDs = 55, []uint64{22, 23, 1<<64 - 1} })},
		{name: "live/repeated products", kind: KindLive, data: msg(KindLive, "product_ids", `[22,22,23,22]`),
			want: wantLive(func(l *Live) { l.ProductIDs = []uint64{22, 22, 23, 22} })},
		{name: "live/1000 products", kind: KindLive,
			data: msg(KindLive, "product_ids", "["+strings.TrimSuffix(strings.Repeat("7,", 1000), ",")+"]"),
			want: wantLive(func(l *Live) { l.ProductIDs = slices.Repeat([]uint64{7}, 1000) })},
		{name: "live/times as millis", kind: KindLive,
			data: msg(KindLive, "started_at", ms(baseTS), "ended_at", ms(baseTS.Add(90*time.Minute)), "updated_at", ms(baseTS.Add(90*time.Minute))),
			want: wantLive(func(l *Live) {
				l.StartedAt, l.EndedAt, l.UpdatedAt = baseTS, baseTS.Add(90*time.Minute), baseTS.Add(90*time.Minute)
			})},
		{name: "live/updated_at before started_at", kind: KindLive, data: msg(KindLive, "updated_at", `"2026-05-01T08:00:00Z"`),
			want: wantLive(func(l *Live) { l.UpdatedAt = baseTS.Add(-2 * time.Hour) })},
		{name: "live/unknown fields", kind: KindLive, data: msg(KindLive, "title", `"Spring glow"`, "stats", unknown),
			want: wantLive(nil)},
	}
	for i := range cs {
		if cs[i].name == "view/duplicate member last wins" {
			cs[i].data = strings.TrimSuffix(msg(KindView), "}") + `,"user_id":99}`
		}
	}
	// Nesting up to the limit is skipped.
	cs = append(cs, validCase{name: "view/nested unknown depth 60", kind: KindView,
		data: msg(KindView, "deep", strings.Repeat("[", 60)+strings.Repeat("]", 60)), want: wantView(nil)})
	return cs
}

func TestDecodeValid(t *testing.T) {
	for _, c := range validCases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeAs(decoderFor(c.lim), c.kind, []byte(c.data))
			if err != nil {
				t.Fatalf("decode %s: %v", c.data, err)
			}
			if ok, diff := sameEvent(got, c.want); !ok {
				t.Fatalf("decode %s:\n got %+v\nwant %+v\n%s", c.data, got, c.want, diff)
			}
		})
	}
}

// Wrong-typed values for each field type; all give wrong_type.
var wrongTypeValues = map[string][]string{
	tID:      {`true`, `false`, `{}`, `[1]`, `1.5`, `1e3`, `"abc"`, `"1.5"`, `""`, `" 1"`, `"+1"`, `"0x10"`},
	tOptID:   {`true`, `{}`, `[]`, `2.5`, `"x"`},
	tUint:    {`true`, `{"n":1}`, `1.0`, `"many"`},
	tStr:     {`123`, `true`, `{}`, `["a"]`, `-1`},
	tNEStr:   {`123`, `false`, `{"a":"b"}`, `["a"]`},
	tTime:    {`true`, `{}`, `["2026-05-01T10:00:00Z"]`},
	tQty:     {`1.5`, `2.0`, `1e2`, `"2"`, `true`, `[2]`},
	tMoney:   {`"9.99"`, `true`, `{}`, `[1]`},
	tCur:     {`978`, `true`, `["EUR"]`},
	tSurface: {`1`, `true`, `{}`},
	tDwell:   {`1.5`, `"a"`, `true`, `{}`},
	tBool:    {`"true"`, `1`, `0`, `{}`},
	tStrs:    {`"beauty"`, `{}`, `[1]`, `["a",null]`, `["a",["b"]]`, `[true]`},
	tOptFee:  {`"9.99"`, `true`, `{}`, `[1]`},
	tOptTime: {`true`, `{}`, `["2026-05-01T10:00:00Z"]`},
	tOptIDs:  {`1`, `"1"`, `{}`, `[true]`, `["x"]`, `[1.5]`, `[[1]]`, `[null]`, `[1,"1.5"]`, `[1,{}]`},
}

// Values that are not valid JSON at all; all give malformed_json whatever
// the field.
var malformedValues = []string{
	`tru`, `fals`, `nul`, `trUe`, `01`, `-01`, `00`, `+1`, `-`, `.5`, `1.`, `-.5`, `1.e5`, `1e`, `1e+`,
	`1.2.3`, `1-2`, `--1`, `'x'`, `NaN`, `Infinity`, `-Infinity`, `0x10`, `["a",]`, `[,]`, `{"a"}`,
	`{"a":}`, `{1:2}`, `["a" "b"]`, `-"1"`, `-true`, `"\q"`, `"\u12"`, `"\u12G4"`, `"\x41"`, `"\'"`,
	`"\ud83d\uZZZZ"`, "\"\xff\"", "\"a\x01\"", "\"a\\n\x1f\"", `}`, `]`, `:`,
}

func badCases() []badCase {
	var cs []badCase
	add := func(c badCase) { cs = append(cs, c) }

	for _, k := range Kinds {
		base := msg(k)
		for _, f := range schema[k] {
			if f.required() {
				add(badCase{name: k.String() + "/absent " + f.name, kind: k, data: msg(k, f.name, absent), reason: ReasonMissing, field: f.name})
				add(badCase{name: k.String() + "/null " + f.name, kind: k, data: msg(k, f.name, "null"), reason: ReasonMissing, field: f.name})
			}
			for _, v := range wrongTypeValues[f.typ] {
				add(badCase{name: k.String() + "/" + f.name + "=" + v, kind: k, data: msg(k, f.name, v), reason: ReasonWrongType, field: f.name})
			}
			for _, v := range malformedValues {
				add(badCase{name: k.String() + "/" + f.name + "=" + v + " malformed", kind: k, data: msg(k, f.name, v), reason: ReasonMalformed, field: f.name})
			}
		}
		for _, v := range malformedValues {
			add(badCase{name: k.String() + "/unknown=" + v + " malformed", kind: k, data: msg(k, "zz", v), reason: ReasonMalformed, field: ""})
		}
		// Every proper prefix of a valid message is malformed.
		for i := 0; i < len(base); i++ {
			add(badCase{name: k.String() + "/truncated " + strconv.Itoa(i), kind: k, data: base[:i], reason: ReasonMalformed, field: "?"})
		}
		for _, g := range []string{`x`, `}`, `{}`, `,`, `[]`, `null`, "\x00", `"`} {
			add(badCase{name: k.String() + "/trailing " + g, kind: k, data: base + g, reason: ReasonMalformed, field: ""})
		}
		for _, g := range []string{`x`, `[`, `,`, "\ufeff"} {
			add(badCase{name: k.String() + "/leading " + g, kind: k, data: g + base, reason: ReasonMalformed, field: ""})
		}
		for _, doc := range []string{``, ` `, `[]`, `[` + base + `]`, `"{}"`, `42`, `null`, `true`, `{`, `}`,
			`{"a" 1}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{a:1}`, `{'a':1}`, `{"a":1}//`, `/*c*/{}`,
			"{\"\xff\":1}", "{\"a\x01\":1}", `{"a\q":1}`, `{"a":1}{"a":1}`} {
			add(badCase{name: k.String() + "/not an object " + doc, kind: k, data: doc, reason: ReasonMalformed, field: "?"})
		}
		add(badCase{name: k.String() + "/nesting too deep", kind: k,
			data: msg(k, "deep", strings.Repeat("[", 100)+strings.Repeat("]", 100)), reason: ReasonMalformed, field: ""})
		add(badCase{name: k.String() + "/oversized", kind: k, data: base, lim: Limits{MaxBytes: len(base) - 1}, reason: ReasonOversized, field: ""})
		add(badCase{name: k.String() + "/oversized tiny", kind: k, data: base, lim: Limits{MaxBytes: 10}, reason: ReasonOversized, field: ""})
	}

	// Field-specific invalid values.
	type fv struct {
		kind          Kind
		field, val    string
		reason        Reason
		name, errWant string
	}
	over := `"` + strings.Repeat("x", 129) + `"`
	for _, c := range []fv{
		// strings in raw form (not via the generic malformed list).
		{KindChat, "text", "\"a\nb\"", ReasonMalformed, "raw newline", ""},
		{KindChat, "text", "\"a\tb\"", ReasonMalformed, "raw tab", ""},
		{KindChat, "text", "\"a\x00b\"", ReasonMalformed, "raw NUL", ""},
		{KindChat, "text", "\"\\u00e9\x1f\"", ReasonMalformed, "control after escape", ""},
		{KindChat, "text", "\"\xc3\"", ReasonMalformed, "truncated utf-8", ""},
		{KindChat, "text", "\"\xc0\xaf\"", ReasonMalformed, "overlong utf-8", ""},
		{KindChat, "text", "\"\xed\xa0\x80\"", ReasonMalformed, "utf-8 surrogate", ""},
		{KindChat, "text", "\"\\n\xff\"", ReasonMalformed, "invalid utf-8 after escape", ""},
		{KindChat, "text", `"abc`, ReasonMalformed, "unterminated string", ""},
		{KindChat, "text", `"abc\`, ReasonMalformed, "unterminated escape", ""},

		// out of range
		{KindPurchase, "quantity", "-1", ReasonOutOfRange, "negative quantity", ""},
		{KindPurchase, "quantity", "0", ReasonOutOfRange, "zero quantity", ""},
		{KindPurchase, "quantity", "1000001", ReasonOutOfRange, "huge quantity", ""},
		{KindPurchase, "unit_price", "-0.01", ReasonOutOfRange, "negative price", "negative"},
		{KindProduct, "price", "-1", ReasonOutOfRange, "negative price", ""},
		{KindView, "user_id", "-1", ReasonOutOfRange, "negative id", "negative"},
		{KindView, "user_id", `"-1"`, ReasonOutOfRange, "negative string id", ""},
		{KindView, "user_id", "0", ReasonOutOfRange, "zero id", "positive"},
		{KindView, "user_id", `"0"`, ReasonOutOfRange, "zero string id", ""},
		{KindView, "live_id", "-5", ReasonOutOfRange, "negative optional id", ""},
		{KindChat, "influencer_id", "0", ReasonOutOfRange, "zero id", ""},
		{KindView, "product_id", "18446744073709551616", ReasonOutOfRange, "uint64 overflow", "64 bits"},
		{KindView, "product_id", `"99999999999999999999"`, ReasonOutOfRange, "uint64 overflow string", ""},
		{KindInfluencer, "followers", "18446744073709551616", ReasonOutOfRange, "uint64 overflow", ""},
		{KindInfluencer, "followers", "-1", ReasonOutOfRange, "negative followers", ""},
		{KindView, "surface", `"tv"`, ReasonOutOfRange, "unknown surface", "feed"},
		{KindView, "surface", `"FEED"`, ReasonOutOfRange, "upper-case surface", ""},
		{KindView, "surface", `""`, ReasonOutOfRange, "empty surface", ""},
		{KindPurchase, "currency", `"eur"`, ReasonOutOfRange, "lower-case currency", "ISO 4217"},
		{KindPurchase, "currency", `"EURO"`, ReasonOutOfRange, "4-letter currency", ""},
		{KindPurchase, "currency", `"EU"`, ReasonOutOfRange, "2-letter currency", ""},
		{KindPurchase, "currency", `""`, ReasonOutOfRange, "empty currency", ""},
		{KindProduct, "currency", `"E1R"`, ReasonOutOfRange, "digit in currency", ""},
		{KindView, "dwell_ms", "86400001", ReasonOutOfRange, "dwell over a day", "day"},
		{KindView, "dwell_ms", "-1", ReasonOutOfRange, "negative dwell", ""},
		{KindView, "event_id", over, ReasonOutOfRange, "event_id too long", "128"},
		{KindPurchase, "order_id", over, ReasonOutOfRange, "order_id too long", ""},
		{KindChat, "text", `"` + strings.Repeat("x", DefaultMaxString+1) + `"`, ReasonOutOfRange, "text too long", ""},
		{KindInfluencer, "handle", `"` + strings.Repeat("h", 257) + `"`, ReasonOutOfRange, "handle too long", ""},
		{KindInfluencer, "country", `"` + strings.Repeat("c", 65) + `"`, ReasonOutOfRange, "country too long", ""},
		{KindBrand, "name", `"` + strings.Repeat("n", 1025) + `"`, ReasonOutOfRange, "name too long", ""},
		{KindProduct, "category", `"` + strings.Repeat("c", 257) + `"`, ReasonOutOfRange, "category too long", ""},
		{KindInfluencer, "categories", "[" + strings.TrimSuffix(strings.Repeat(`"c",`, 65), ",") + "]", ReasonOutOfRange, "65 categories", "64"},
		{KindInfluencer, "fee", "-0.01", ReasonOutOfRange, "negative fee", "negative"},
		{KindLive, "live_id", "0", ReasonOutOfRange, "zero live_id", "positive"},
		{KindLive, "influencer_id", `"0"`, ReasonOutOfRange, "zero influencer_id", "positive"},
		{KindLive, "sponsor_brand_id", "-3", ReasonOutOfRange, "negative sponsor", "negative"},
		{KindLive, "fee", "-1500", ReasonOutOfRange, "negative fee", "negative"},
		// Money and counts have maxima, and a fee is 0 or at least a cent:
		// one odd catalog message must not overflow the matching maths.
		{KindInfluencer, "fee", "1e308", ReasonOutOfRange, "huge influencer fee", "0.01 to 10000000"},
		{KindInfluencer, "fee", "5e-324", ReasonOutOfRange, "denormal influencer fee", "want 0 (unknown)"},
		{KindInfluencer, "fee", "0.009", ReasonOutOfRange, "sub-cent influencer fee", ""},
		{KindInfluencer, "fee", "10000000.5", ReasonOutOfRange, "influencer fee over the maximum", ""},
		{KindLive, "fee", "1e308", ReasonOutOfRange, "huge live fee", "0.01 to 10000000"},
		{KindLive, "fee", "5e-324", ReasonOutOfRange, "denormal live fee", ""},
		{KindProduct, "price", "1e308", ReasonOutOfRange, "huge price", "maximum price"},
		{KindProduct, "price", "1000000000.01", ReasonOutOfRange, "price over the maximum", ""},
		{KindPurchase, "unit_price", "1e308", ReasonOutOfRange, "huge unit price", "maximum price"},
		{KindInfluencer, "followers", "10000000001", ReasonOutOfRange, "followers over the maximum", "10000000000"},
		{KindLive, "product_ids", "[22,0]", ReasonOutOfRange, "zero product id", "positive"},
		{KindLive, "product_ids", `["0"]`, ReasonOutOfRange, "zero product id string", "positive"},
		{KindLive, "product_ids", "[22,-1]", ReasonOutOfRange, "negative product id", "negative"},
		{KindLive, "product_ids", "[18446744073709551616]", ReasonOutOfRange, "product id overflow", "64 bits"},
		{KindLive, "product_ids", "[" + strings.TrimSuffix(strings.Repeat("7,", 1001), ",") + "]", ReasonOutOfRange, "1001 products", "1000"},
		{KindLive, "ended_at", `"2026-05-01T08:59:59.999Z"`, ReasonOutOfRange, "ended before it started", "before started_at"},
		{KindLive, "ended_at", ms(baseTS.Add(-2 * time.Hour)), ReasonOutOfRange, "ended before it started, millis", "before started_at"},

		// missing: empty required strings
		{KindView, "event_id", `""`, ReasonMissing, "empty event_id", "empty"},
		{KindPurchase, "event_id", `""`, ReasonMissing, "empty event_id", ""},
		{KindPurchase, "order_id", `""`, ReasonMissing, "empty order_id", ""},
		{KindChat, "event_id", `""`, ReasonMissing, "empty event_id", ""},
		{KindProduct, "category", `""`, ReasonMissing, "empty category", ""},
		{KindBrand, "name", `""`, ReasonMissing, "empty name", ""},
		{KindInfluencer, "handle", `""`, ReasonMissing, "empty handle", ""},

		// bad timestamps
		{KindView, "ts", `"yesterday"`, ReasonBadTimestamp, "unparsable", "RFC 3339"},
		{KindView, "ts", `""`, ReasonBadTimestamp, "empty", ""},
		{KindView, "ts", `"2026-05-01"`, ReasonBadTimestamp, "date only", ""},
		{KindView, "ts", `"2026-05-01T10:00:00"`, ReasonBadTimestamp, "no zone", ""},
		{KindView, "ts", `"2026-13-01T10:00:00Z"`, ReasonBadTimestamp, "month 13", ""},
		{KindView, "ts", `"2026-02-30T10:00:00Z"`, ReasonBadTimestamp, "Feb 30", ""},
		{KindView, "ts", `"2025-02-29T10:00:00Z"`, ReasonBadTimestamp, "Feb 29 non-leap", ""},
		{KindView, "ts", `"2026-05-01T24:00:00Z"`, ReasonBadTimestamp, "hour 24", ""},
		{KindView, "ts", `"2026-05-01T10:60:00Z"`, ReasonBadTimestamp, "minute 60", ""},
		{KindView, "ts", `"2026-05-01T10:00:61Z"`, ReasonBadTimestamp, "second 61", ""},
		{KindView, "ts", `"2026-05-01T10:00:00+24:00"`, ReasonBadTimestamp, "offset 24h", ""},
		{KindView, "ts", `"2026-05-01T10:00:00.Z"`, ReasonBadTimestamp, "empty fraction", ""},
		{KindView, "ts", `"2026-05-01T10:00:00ZZ"`, ReasonBadTimestamp, "trailing junk", ""},
		{KindView, "ts", `"1970-01-01T00:00:00Z"`, ReasonBadTimestamp, "1970", "before 2000"},
		{KindView, "ts", `"1999-12-31T23:59:59.999Z"`, ReasonBadTimestamp, "just before 2000", ""},
		{KindView, "ts", `"2000-01-01T00:30:00+01:00"`, ReasonBadTimestamp, "before 2000 via offset", ""},
		{KindView, "ts", `0`, ReasonBadTimestamp, "millis zero", ""},
		{KindView, "ts", `-1`, ReasonBadTimestamp, "millis negative", ""},
		{KindView, "ts", `1777629600`, ReasonBadTimestamp, "unix seconds not millis", ""},
		{KindView, "ts", `1.7776296e12`, ReasonBadTimestamp, "float millis", "millis"},
		{KindView, "ts", `99999999999999999999`, ReasonBadTimestamp, "millis overflow", ""},
		{KindView, "ts", `"` + testNow.Add(24*time.Hour+time.Second).Format(time.RFC3339) + `"`, ReasonBadTimestamp, "24h1s in the future", "future"},
		{KindView, "ts", `"` + testNow.Add(24*time.Hour+time.Nanosecond).Format(time.RFC3339Nano) + `"`, ReasonBadTimestamp, "24h1ns in the future", ""},
		{KindView, "ts", ms(testNow.Add(25 * time.Hour)), ReasonBadTimestamp, "future millis", ""},
		{KindView, "ts", `"9999-12-31T23:59:59Z"`, ReasonBadTimestamp, "year 9999", ""},
		{KindChat, "ts", `"1970-01-01T00:00:00Z"`, ReasonBadTimestamp, "1970", ""},
		{KindPurchase, "ts", `"2030-01-01T00:00:00Z"`, ReasonBadTimestamp, "2030", ""},
		{KindProduct, "updated_at", `"1970-01-01T00:00:00Z"`, ReasonBadTimestamp, "1970", ""},
		{KindBrand, "updated_at", `"not a time"`, ReasonBadTimestamp, "unparsable", ""},
		{KindInfluencer, "updated_at", ms(testNow.Add(48 * time.Hour)), ReasonBadTimestamp, "future", ""},
		{KindLive, "started_at", `"1999-12-31T23:59:59Z"`, ReasonBadTimestamp, "started before 2000", "before 2000"},
		{KindLive, "started_at", `"2030-01-01T00:00:00Z"`, ReasonBadTimestamp, "started in 2030", "future"},
		{KindLive, "ended_at", `"2030-01-01T00:00:00Z"`, ReasonBadTimestamp, "ends in 2030", "future"},
		{KindLive, "ended_at", `"tomorrow"`, ReasonBadTimestamp, "unparsable end", "RFC 3339"},
		{KindLive, "updated_at", `"1970-01-01T00:00:00Z"`, ReasonBadTimestamp, "1970", ""},
	} {
		add(badCase{name: c.kind.String() + "/" + c.name, kind: c.kind, data: msg(c.kind, c.field, c.val), reason: c.reason, field: c.field, msg: c.errWant})
	}

	// ended_at is checked against started_at whatever their order, and only
	// once every field has been read: a missing field is reported first.
	add(badCase{name: "live/ended before started, ended_at first", kind: KindLive,
		data: `{"ended_at":"2026-05-01T08:00:00Z",` + msg(KindLive)[1:], reason: ReasonOutOfRange, field: "ended_at", msg: "before started_at"})
	add(badCase{name: "live/ended before started and no updated_at", kind: KindLive,
		data: msg(KindLive, "ended_at", `"2026-05-01T08:00:00Z"`, "updated_at", absent), reason: ReasonMissing, field: "updated_at"})
	// The whole product_ids array is checked as JSON before its elements.
	add(badCase{name: "live/product_ids bad element then bad JSON", kind: KindLive,
		data: msg(KindLive, "product_ids", `[0,"x",]`), reason: ReasonMalformed, field: "product_ids"})

	// Tighter limits.
	add(badCase{name: "chat/MaxString", kind: KindChat, data: msg(KindChat, "text", `"hello"`), lim: Limits{MaxString: 4}, reason: ReasonOutOfRange, field: "text"})
	add(badCase{name: "chat/MaxString counts unescaped bytes", kind: KindChat, data: msg(KindChat, "text", `"\u00e9\u00e9\u00e9"`), lim: Limits{MaxString: 5}, reason: ReasonOutOfRange, field: "text"})
	add(badCase{name: "view/MinTime", kind: KindView, data: msg(KindView), lim: Limits{MinTime: baseTS.Add(time.Second)}, reason: ReasonBadTimestamp, field: "ts"})
	add(badCase{name: "view/MaxFuture", kind: KindView, data: msg(KindView, "ts", `"`+testNow.Add(2*time.Hour).Format(time.RFC3339)+`"`), lim: Limits{MaxFuture: time.Hour}, reason: ReasonBadTimestamp, field: "ts"})
	return cs
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range badCases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeAs(decoderFor(c.lim), c.kind, []byte(c.data))
			if err == nil {
				t.Fatalf("decode %q: no error, got %+v; want %s", c.data, got, c.reason)
			}
			e, ok := err.(*Error)
			if !ok || e == nil {
				t.Fatalf("decode %q: error %T %v, want *Error", c.data, err, err)
			}
			if e.Reason != c.reason || (c.field != "?" && e.Field != c.field) {
				t.Fatalf("decode %q:\n got %s field %q (%v)\nwant %s field %q", c.data, e.Reason, e.Field, err, c.reason, c.field)
			}
			checkErrorText(t, e)
			if c.msg != "" && !strings.Contains(e.Error(), c.msg) {
				t.Errorf("Error() = %q, want it to contain %q", e.Error(), c.msg)
			}
		})
	}
}

// checkErrorText checks that err.Error() is readable: it names the reason
// and the field and carries a message.
func checkErrorText(t *testing.T, e *Error) {
	t.Helper()
	s := e.Error()
	if !strings.HasPrefix(s, string(e.Reason)+": ") {
		t.Errorf("Error() = %q, want it to start with the reason %q", s, e.Reason)
	}
	if e.Field != "" && !strings.Contains(s, e.Field) {
		t.Errorf("Error() = %q, want it to name the field %q", s, e.Field)
	}
	if e.Msg == "" || !strings.Contains(s, e.Msg) {
		t.Errorf("Error() = %q, want a message (Msg %q)", s, e.Msg)
	}
}

// TestDecodeErrorMessages checks a few messages say something useful.
func TestDecodeErrorMessages(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		data string
		want []string
	}{
		{KindView, msg(KindView, "user_id", "0"), []string{"out_of_range", "user_id", "positive"}},
		{KindView, msg(KindView, "surface", `"tv"`), []string{"out_of_range", "surface", "feed, live, search or shop"}},
		{KindPurchase, msg(KindPurchase, "quantity", "-3"), []string{"out_of_range", "quantity", "-3"}},
		{KindPurchase, msg(KindPurchase, "currency", `"eur"`), []string{"currency", "ISO 4217"}},
		{KindPurchase, msg(KindPurchase, "unit_price", `"1"`), []string{"wrong_type", "unit_price", "number"}},
		{KindView, msg(KindView, "ts", `"1970-01-01T00:00:00Z"`), []string{"bad_timestamp", "ts", "1970-01-01T00:00:00Z", "before", "2000-01-01"}},
		{KindView, msg(KindView, "ts", `"2030-01-01T00:00:00Z"`), []string{"bad_timestamp", "ts", "future"}},
		{KindView, msg(KindView, "product_id", absent), []string{"missing_field", "product_id"}},
		{KindChat, msg(KindChat, "text", `{}`), []string{"wrong_type", "text", "string"}},
		{KindLive, msg(KindLive, "ended_at", `"2026-05-01T08:30:00Z"`), []string{"out_of_range", "ended_at", "2026-05-01T08:30:00Z", "before started_at", "2026-05-01T09:00:00Z"}},
		{KindLive, msg(KindLive, "fee", "-5"), []string{"out_of_range", "fee", "negative"}},
		{KindLive, msg(KindLive, "live_id", absent), []string{"missing_field", "live_id"}},
		{KindLive, msg(KindLive, "product_ids", `[1,true]`), []string{"wrong_type", "product_ids", "unsigned integer"}},
		{KindLive, msg(KindLive, "product_ids", `"1,2"`), []string{"wrong_type", "product_ids", "array of ids"}},
		{KindView, `{"event_id":`, []string{"malformed_json", "byte"}},
		{KindView, msg(KindView) + "x", []string{"malformed_json", "trailing"}},
	} {
		_, err := decodeAs(testDecoder(), c.kind, []byte(c.data))
		if err == nil {
			t.Errorf("decode %s: no error", c.data)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("decode %s: error %q does not contain %q", c.data, err, w)
			}
		}
	}
	d := NewDecoder(Limits{MaxBytes: 10, Now: fixedNow})
	var v View
	err := d.View([]byte(msg(KindView)), &v)
	if err == nil || !strings.Contains(err.Error(), "oversized") || !strings.Contains(err.Error(), "limit 10") {
		t.Errorf("oversized error = %v", err)
	}
}

// TestDecodeErrorIsNilInterface guards against a typed-nil *Error becoming a
// non-nil error.
func TestDecodeErrorIsNilInterface(t *testing.T) {
	d := testDecoder()
	for _, k := range Kinds {
		if _, err := decodeAs(d, k, []byte(msg(k))); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		_, err := decodeAs(d, k, []byte("{"))
		var e *Error
		if !errors.As(err, &e) || e.Reason != ReasonMalformed {
			t.Errorf("%s: error %v, want malformed *Error", k, err)
		}
	}
}

// TestDecoderReuse checks that a Decoder resets its output and that decoded
// strings are copies that survive later decodes (the scanner reuses its
// scratch buffer for escaped strings).
func TestDecoderReuse(t *testing.T) {
	d := testDecoder()
	var a, b Chat
	if err := d.Chat([]byte(msg(KindChat, "text", `"first\nmessage"`, "product_id", "5")), &a); err != nil {
		t.Fatal(err)
	}
	if err := d.Chat([]byte(msg(KindChat, "text", `"SECOND\tMESSAGE!!"`)), &b); err != nil {
		t.Fatal(err)
	}
	if a.Text != "first\nmessage" || b.Text != "SECOND\tMESSAGE!!" {
		t.Fatalf("texts %q, %q", a.Text, b.Text)
	}
	// Decoding into a used value clears fields absent from the new message.
	if err := d.Chat([]byte(msg(KindChat)), &a); err != nil {
		t.Fatal(err)
	}
	if ok, diff := sameEvent(&a, wantChat(nil)); !ok {
		t.Fatalf("reused value not reset: %s", diff)
	}
	var in Influencer
	if err := d.Influencer([]byte(msg(KindInfluencer, "categories", `["\u00e9a","\u00e9b"]`)), &in); err != nil {
		t.Fatal(err)
	}
	cats := in.Categories
	if err := d.Influencer([]byte(msg(KindInfluencer, "categories", `["\u00e9z"]`)), &in); err != nil {
		t.Fatal(err)
	}
	if cats[0] != "éa" || cats[1] != "éb" {
		t.Fatalf("earlier categories changed: %q", cats)
	}
	// Live: optional fields of an earlier message do not leak into the
	// next, and decoded product ids are not shared.
	var l Live
	if err := d.Live([]byte(msg(KindLive, "sponsor_brand_id", "55", "fee", "10", "ended_at", ms(baseTS))), &l); err != nil {
		t.Fatal(err)
	}
	products := l.ProductIDs
	if err := d.Live([]byte(msg(KindLive, "product_ids", "[9]")), &l); err != nil {
		t.Fatal(err)
	}
	if ok, diff := sameEvent(&l, wantLive(func(l *Live) { l.ProductIDs = []uint64{9} })); !ok {
		t.Fatalf("reused live not reset: %s", diff)
	}
	if !slices.Equal(products, []uint64{22, 23}) {
		t.Fatalf("earlier product ids changed: %v", products)
	}
	// A failed decode followed by a good one works.
	var v View
	if err := d.View([]byte(`{"event_id":"\u00e9`), &v); err == nil {
		t.Fatal("want error")
	}
	if err := d.View([]byte(msg(KindView)), &v); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultLimits checks the zero Limits take the documented defaults.
func TestDefaultLimits(t *testing.T) {
	d := NewDecoder(Limits{})
	if d.lim.MaxBytes != DefaultMaxBytes || d.lim.MaxString != DefaultMaxString ||
		!d.lim.MinTime.Equal(DefaultMinTime) || d.lim.MaxFuture != DefaultMaxFuture {
		t.Fatalf("defaults: %+v", d.lim)
	}
	// With the real clock, a message from a minute ago is fine and one from
	// next week is not.
	var v View
	if err := d.View([]byte(msg(KindView, "ts", ms(time.Now().Add(-time.Minute)))), &v); err != nil {
		t.Fatal(err)
	}
	err := d.View([]byte(msg(KindView, "ts", ms(time.Now().Add(7*24*time.Hour)))), &v)
	if e, ok := err.(*Error); !ok || e.Reason != ReasonBadTimestamp {
		t.Fatalf("next week: %v", err)
	}
	// Exactly DefaultMaxBytes is accepted.
	pad := DefaultMaxBytes - len(msg(KindView, "p", `""`))
	big := msg(KindView, "p", `"`+strings.Repeat(" ", pad)+`"`)
	if len(big) != DefaultMaxBytes {
		t.Fatalf("len %d", len(big))
	}
	if err := d.View([]byte(big), &v); err != nil {
		t.Fatalf("%d bytes: %v", len(big), err)
	}
	err = d.View([]byte(big+" "), &v)
	if e, ok := err.(*Error); !ok || e.Reason != ReasonOversized {
		t.Fatalf("%d bytes: %v", len(big)+1, err)
	}
}

// TestParseRFC3339MatchesStdlib compares the fast RFC 3339 parser with
// time.Parse on generated inputs, valid and not.
func TestParseRFC3339MatchesStdlib(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 20000; i++ {
		tm := time.Unix(r.Int63n(4102444800), 0).UTC() // 1970..2100
		var s string
		frac := []string{"", ".5", ".123", ".000001", ".123456789", ".1234567891"}[r.Intn(6)]
		zone := []string{"Z", "+02:00", "-04:30", "+14:00", "-12:00", "+00:00", "-00:00", "+23:59"}[r.Intn(8)]
		s = tm.Format("2006-01-02T15:04:05") + frac + zone
		if r.Intn(4) == 0 { // corrupt one byte
			b := []byte(s)
			b[r.Intn(len(b))] = "0123456789:-+.TZ x"[r.Intn(18)]
			s = string(b)
		}
		got, ok := parseRFC3339([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) {
			// We accept a space separator and lower-case t/z (RFC 3339 §5.6 NOTE).
			if ok && strings.ContainsAny(s, " tz") {
				continue
			}
			// time.Parse accepts zone offsets +24:00 and minutes 60..99; we do not.
			hh, _ := strconv.Atoi(s[len(s)-5 : len(s)-3])
			mm, _ := strconv.Atoi(s[len(s)-2:])
			if !ok && s[len(s)-3] == ':' && (hh > 23 || mm > 59) {
				continue
			}
			t.Fatalf("%q: ok=%v, time.Parse err=%v", s, ok, err)
		}
		if ok && (!got.Equal(want) || got.Location() != time.UTC) {
			t.Fatalf("%q: got %v, time.Parse %v", s, got, want)
		}
	}
}

func TestKindNames(t *testing.T) {
	want := []string{"views", "chats", "purchases", "products", "brands", "influencers", "lives"}
	if len(Kinds) != len(want) || int(numKinds) != len(want) {
		t.Fatalf("%d kinds (numKinds %d), want %d", len(Kinds), numKinds, len(want))
	}
	for i, k := range Kinds {
		if k.Plural() != want[i] {
			t.Errorf("%d: %q", k, k.Plural())
		}
		if k.IsEvent() != (i < 3) {
			t.Errorf("%s IsEvent %v", k, k.IsEvent())
		}
	}
	if Kind(99).String() != "unknown" {
		t.Error(Kind(99).String())
	}
	for _, s := range []string{"feed", "live", "search", "shop"} {
		if surfaceNames[s].String() != s {
			t.Errorf("surface %s: %s", s, surfaceNames[s])
		}
	}
}

// TestStaleClock: the decoder caches Now, but a long-lived decoder on a quiet
// topic must not reject current messages because its cached Now is old.
func TestStaleClock(t *testing.T) {
	clock := testNow
	d := NewDecoder(Limits{Now: func() time.Time { return clock }})
	var b Brand
	if err := d.Brand([]byte(msg(KindBrand, "updated_at", ms(clock))), &b); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(72 * time.Hour) // three quiet days, a handful of messages
	for i := 0; i < 3; i++ {
		if err := d.Brand([]byte(msg(KindBrand, "updated_at", ms(clock))), &b); err != nil {
			t.Fatalf("message %d after 3 days: %v", i, err)
		}
	}
	// The future bound still holds against the fresh clock.
	err := d.Brand([]byte(msg(KindBrand, "updated_at", ms(clock.Add(25*time.Hour)))), &b)
	if e, ok := err.(*Error); !ok || e.Reason != ReasonBadTimestamp {
		t.Fatalf("25h ahead: %v", err)
	}
}

func TestDecoder_BorrowViewsPlainStringsAndCopiesEscapedOnes(t *testing.T) {
	msg := []byte(`{"event_id":"e-1","ts":"2026-05-01T10:00:00Z","user_id":1,"live_id":2,"influencer_id":3,"text":"say \"hi\""}`)
	d := testDecoder()
	d.Borrow()
	var c Chat
	if err := d.Chat(msg, &c); err != nil {
		t.Fatal(err)
	}
	if c.EventID != "e-1" || c.Text != `say "hi"` {
		t.Fatalf("decoded %q, %q", c.EventID, c.Text)
	}
	copy(msg[bytes.Index(msg, []byte("e-1")):], "X")
	if c.EventID != "X-1" {
		t.Errorf("borrowed event_id = %q after the message changed, want a view of it (X-1)", c.EventID)
	}
	if c.Text != `say "hi"` {
		t.Errorf("unescaped text = %q after the message changed, want its own copy", c.Text)
	}

	// Without Borrow every string is a copy.
	msg2 := []byte(`{"event_id":"e-2","ts":"2026-05-01T10:00:00Z","user_id":1,"live_id":2,"influencer_id":3,"text":"plain"}`)
	var c2 Chat
	if err := testDecoder().Chat(msg2, &c2); err != nil {
		t.Fatal(err)
	}
	copy(msg2[bytes.Index(msg2, []byte("e-2")):], "X")
	if c2.EventID != "e-2" {
		t.Errorf("event_id = %q after the message changed, want a copy", c2.EventID)
	}
}
