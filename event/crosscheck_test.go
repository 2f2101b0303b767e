package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

var seedFlag = flag.Int64("event.seed", 1, "seed for the randomized event tests (0: time-based)")

func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (-event.seed to repeat)", seed)
	return rand.New(rand.NewSource(seed))
}

// Runes the generator draws from: plain ASCII, the characters encoding/json
// escapes, multi-byte and astral runes.
var runePools = [][]rune{
	[]rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.@#"),
	[]rune("\"\\/<>&'\n\t\r\b\f\x00\x01\x1f\x7f"),
	[]rune("éñüßçøÅ\u00a0€日本語한국어Ωж\u2028\u2029\ufeff\ufffd"),
	[]rune("😀💄🛍𝄞🇫🇷\U0010ffff\U00010000"),
}

func randString(r *rand.Rand, maxRunes, maxBytes int, nonEmpty bool) string {
	n := r.Intn(maxRunes + 1)
	if nonEmpty && n == 0 {
		n = 1
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		var c rune
		if p := r.Intn(10); p < 6 {
			c = runePools[0][r.Intn(len(runePools[0]))]
		} else {
			pool := runePools[1+r.Intn(3)]
			c = pool[r.Intn(len(pool))]
		}
		if b.Len()+utf8.RuneLen(c) > maxBytes {
			break
		}
		b.WriteRune(c)
	}
	if nonEmpty && b.Len() == 0 {
		b.WriteByte('x')
	}
	return b.String()
}

func randID(r *rand.Rand) uint64 {
	switch r.Intn(4) {
	case 0:
		return 1 + uint64(r.Intn(1000))
	case 1:
		return 1 + uint64(r.Int63n(1<<53))
	case 2:
		return math.MaxUint64 - uint64(r.Intn(10))
	}
	return r.Uint64() | 1
}

func randOptID(r *rand.Rand) uint64 {
	if r.Intn(3) == 0 {
		return 0
	}
	return randID(r)
}

// randTime returns a time within the accepted window, in a random zone, at
// a random precision.
func randTime(r *rand.Rand) time.Time {
	lo, hi := DefaultMinTime.UnixNano(), testNow.Add(DefaultMaxFuture).UnixNano()
	ns := lo + r.Int63n(hi-lo+1)
	switch r.Intn(4) {
	case 0:
		ns -= ns % int64(time.Second)
	case 1:
		ns -= ns % int64(time.Millisecond)
	}
	t := time.Unix(0, ns)
	switch r.Intn(3) {
	case 0:
		return t.UTC()
	case 1:
		off := (r.Intn(28*60+1) - 14*60) * 60 // -14:00..+14:00, whole minutes
		return t.In(time.FixedZone("", off))
	}
	return t.In(time.FixedZone("X", 2*3600))
}

func randPrice(r *rand.Rand) float64 {
	switch r.Intn(6) {
	case 0:
		return 0
	case 1:
		return math.Round(r.Float64()*100000) / 100
	case 2:
		return min(r.ExpFloat64()*1e7, MaxPrice)
	case 3:
		return []float64{5e-324, 1e-300, MaxPrice, 0.1, 0.01, 123456789.125}[r.Intn(6)]
	}
	return r.Float64() * 1000
}

// randFee returns a fee as the contract takes it: 0, or MinFee to MaxFee.
func randFee(r *rand.Rand) float64 {
	switch r.Intn(4) {
	case 0:
		return 0
	case 1:
		return []float64{MinFee, MaxFee, 0.1, 1234567.125}[r.Intn(4)]
	}
	return math.Round(MinFee*100+r.Float64()*100000) / 100
}

func randCurrency(r *rand.Rand) string {
	return string([]byte{byte('A' + r.Intn(26)), byte('A' + r.Intn(26)), byte('A' + r.Intn(26))})
}

func randView(r *rand.Rand) *View {
	return &View{
		EventID:      randString(r, 40, maxEventID, true),
		TS:           randTime(r),
		UserID:       randID(r),
		ProductID:    randID(r),
		InfluencerID: randOptID(r),
		LiveID:       randOptID(r),
		Surface:      []string{"feed", "live", "search", "shop"}[r.Intn(4)],
		DwellMS:      uint32(r.Intn(24*3600*1000 + 1)),
	}
}

func randPurchase(r *rand.Rand) *Purchase {
	return &Purchase{
		EventID:      randString(r, 40, maxEventID, true),
		TS:           randTime(r),
		OrderID:      randString(r, 40, maxEventID, true),
		UserID:       randID(r),
		ProductID:    randID(r),
		InfluencerID: randOptID(r),
		LiveID:       randOptID(r),
		Quantity:     uint32(1 + r.Intn(1_000_000)),
		UnitPrice:    randPrice(r),
		Currency:     randCurrency(r),
	}
}

func randInfluencer(r *rand.Rand) *Influencer {
	cats := make([]string, r.Intn(9))
	for i := range cats {
		cats[i] = randString(r, 20, 200, false)
	}
	return &Influencer{
		InfluencerID: randID(r),
		Handle:       randString(r, 30, 256, true),
		Followers:    []uint64{0, uint64(r.Intn(1e6)), r.Uint64() % (MaxFollowers + 1)}[r.Intn(3)],
		Country:      randString(r, 10, 64, false),
		Categories:   cats,
		Fee:          randFee(r),
		UpdatedAt:    randTime(r),
	}
}

func randLive(r *rand.Rand) *Live {
	var products []uint64
	switch r.Intn(4) {
	case 0: // absent: nil
	case 1:
		products = []uint64{}
	default:
		products = make([]uint64, 1+r.Intn(maxLiveProducts))
		for i := range products {
			products[i] = randID(r)
		}
	}
	l := &Live{
		LiveID:       randID(r),
		InfluencerID: randID(r),
		ProductIDs:   products,
		StartedAt:    randTime(r),
		UpdatedAt:    randTime(r),
	}
	if r.Intn(2) == 0 {
		l.SponsorBrandID, l.Fee = randID(r), randFee(r)
	}
	if r.Intn(2) == 0 {
		// Between started_at and the latest time accepted.
		lo, hi := l.StartedAt.UnixNano(), testNow.Add(DefaultMaxFuture).UnixNano()
		l.EndedAt = time.Unix(0, lo+r.Int63n(hi-lo+1)).In(l.StartedAt.Location())
	}
	return l
}

// asciiJSON rewrites every non-ASCII rune of a JSON text as a \u escape
// (astral runes as surrogate pairs). Non-ASCII bytes can only occur inside
// strings, so the result is the same JSON value.
func asciiJSON(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		b = b[size:]
		if c < utf8.RuneSelf {
			out.WriteRune(c)
			continue
		}
		if c > 0xffff {
			r1, r2 := utf16.EncodeRune(c)
			fmtU(&out, r1)
			fmtU(&out, r2)
		} else {
			fmtU(&out, c)
		}
	}
	return out.Bytes()
}

// fmtU writes r as a \u escape, in upper-case hex for odd runes.
func fmtU(out *bytes.Buffer, r rune) {
	if r&1 == 1 {
		fmt.Fprintf(out, `\u%04X`, r)
	} else {
		fmt.Fprintf(out, `\u%04x`, r)
	}
}

// inUTC returns a copy of the struct pointed to by v with its times in UTC.
func inUTC(v any) any {
	c := reflect.New(reflect.TypeOf(v).Elem())
	c.Elem().Set(reflect.ValueOf(v).Elem())
	for i := 0; i < c.Elem().NumField(); i++ {
		if f := c.Elem().Field(i); f.Type() == timeType {
			f.Set(reflect.ValueOf(f.Interface().(time.Time).UTC()))
		}
	}
	return c.Interface()
}

// TestCrossCheckEncodingJSON encodes random values with encoding/json (in
// several spellings) and checks our decoder gives them back exactly.
func TestCrossCheckEncodingJSON(t *testing.T) {
	gens := []struct {
		kind Kind
		gen  func(*rand.Rand) any
	}{
		{KindView, func(r *rand.Rand) any { return randView(r) }},
		{KindPurchase, func(r *rand.Rand) any { return randPurchase(r) }},
		{KindInfluencer, func(r *rand.Rand) any { return randInfluencer(r) }},
		{KindLive, func(r *rand.Rand) any { return randLive(r) }},
	}
	for _, g := range gens {
		t.Run(g.kind.String(), func(t *testing.T) {
			r := newRand(t)
			d := testDecoder()
			for i := 0; i < 3000; i++ {
				orig := g.gen(r)
				plain, err := json.Marshal(orig)
				if err != nil {
					t.Fatalf("marshal %+v: %v", orig, err)
				}
				indented, _ := json.MarshalIndent(orig, " ", "\t")
				for _, enc := range []struct {
					name string
					data []byte
				}{{"plain", plain}, {"ascii", asciiJSON(plain)}, {"indented", indented}} {
					got, err := decodeAs(d, g.kind, enc.data)
					if err != nil {
						t.Fatalf("%s: decode %s: %v", enc.name, enc.data, err)
					}
					if ok, diff := sameEvent(got, inUTC(orig)); !ok {
						t.Fatalf("%s: decode %s:\n got %+v\nwant %+v\n%s", enc.name, enc.data, got, orig, diff)
					}
				}
				// Sanity of the generator: encoding/json reads it back too.
				back := reflect.New(reflect.TypeOf(orig).Elem()).Interface()
				if err := json.Unmarshal(plain, back); err != nil {
					t.Fatal(err)
				}
				if ok, diff := sameEvent(inUTC(back), inUTC(orig)); !ok {
					t.Fatalf("encoding/json round trip of %s: %s", plain, diff)
				}
			}
		})
	}
}

// TestCrossCheckStdlibStrings decodes random JSON strings, spelled with every
// kind of escape, and compares them with encoding/json.
func TestCrossCheckStdlibStrings(t *testing.T) {
	r := newRand(t)
	d := testDecoder()
	pieces := []string{`a`, `é`, `😀`, `\n`, `\"`, `\\`, `\/`, `\b`, `\f`, `\r`, `\t`, `\u0000`, `\u001f`,
		`\u00e9`, `\u00E9`, `\u20ac`, `\ud83d\ude00`, `\uD83D\uDE00`, `\ud83d`, `\ude00`, `\ud800\ud800`,
		`\udbff\udfff`, `\uffff`, `\ufffd`, `\u2028`, ` `, `x`, `\u0041`, `\ud83d\u0041`, `\udc00\u0042`}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.Intn(8); n > 0; n-- {
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		lit := `"x` + b.String() + `"` // x: event_id must not be empty
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var v View
		if err := d.View([]byte(msg(KindView, "event_id", lit)), &v); err != nil {
			if len(want) > maxEventID {
				continue
			}
			t.Fatalf("%s: %v", lit, err)
		}
		if v.EventID != want {
			t.Fatalf("%s: got %+q, encoding/json %+q", lit, v.EventID, want)
		}
	}
}
