package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vetrina/vetrina/event"
)

var testStart = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

func TestDeterminism(t *testing.T) {
	const n = 20000
	first := func(t *testing.T, worldSeed, genSeed int64, start time.Time) ([]Message, []Message) {
		t.Helper()
		w := smallWorld(t, worldSeed)
		g := NewGenerator(w, genSeed, start)
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = g.Next()
		}
		return w.CatalogMessages(start), msgs
	}
	equal := func(a, b []Message) bool {
		return slices.EqualFunc(a, b, func(x, y Message) bool {
			return x.Kind == y.Kind && bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && x.Time.Equal(y.Time)
		})
	}
	refCat, refEv := first(t, 1, 1, testStart)
	tests := []struct {
		name               string
		worldSeed, genSeed int64
		start              time.Time
		sameCatalog        bool
		sameEvents         bool
	}{
		{"same seeds", 1, 1, testStart, true, true},
		{"same instant in another zone", 1, 1, testStart.In(time.FixedZone("CET", 3600)), true, true},
		{"other generator seed", 1, 2, testStart, true, false},
		{"other world seed", 2, 1, testStart, false, false},
		{"other start", 1, 1, testStart.Add(time.Hour), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, ev := first(t, tt.worldSeed, tt.genSeed, tt.start)
			if got := equal(cat, refCat); got != tt.sameCatalog {
				t.Errorf("catalog identical = %v, want %v", got, tt.sameCatalog)
			}
			if got := equal(ev, refEv); got != tt.sameEvents {
				t.Errorf("events identical = %v, want %v", got, tt.sameEvents)
			}
		})
	}
}

func TestWorldIndependentFamilies(t *testing.T) {
	a := smallWorld(t, 9)
	cfg := a.Config
	cfg.Users *= 2
	b, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(a.Products, b.Products, func(x, y Product) bool { return x == y }) {
		t.Error("changing the number of users changed the products")
	}
}

// decoded is one generated message (an event or a live), decoded with
// encoding/json.
type decoded struct {
	kind     event.Kind
	view     event.View
	chat     event.Chat
	purchase event.Purchase
	live     event.Live
}

// ts is the event time, or a live message's updated_at.
func (d *decoded) ts() time.Time {
	switch d.kind {
	case event.KindView:
		return d.view.TS
	case event.KindChat:
		return d.chat.TS
	case event.KindLive:
		return d.live.UpdatedAt
	}
	return d.purchase.TS
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// decodeEvent decodes m strictly and checks the contract of its kind.
func decodeEvent(w *World, m Message) (decoded, error) {
	d := decoded{kind: m.Kind}
	if !utf8.Valid(m.Value) || !json.Valid(m.Value) {
		return d, fmt.Errorf("invalid JSON")
	}
	if m.Kind == event.KindLive {
		err := checkLive(w, m, &d.live)
		return d, err
	}
	checkProduct := func(id uint64, required bool) error {
		if id == 0 && !required {
			return nil
		}
		if _, ok := w.Product(id); !ok {
			return fmt.Errorf("unknown product %d", id)
		}
		return nil
	}
	var user uint64
	switch m.Kind {
	case event.KindView:
		v := &d.view
		if err := decodeStrict(m.Value, v); err != nil {
			return d, err
		}
		user = v.UserID
		if err := checkProduct(v.ProductID, true); err != nil {
			return d, err
		}
		switch v.Surface {
		case "live":
			if v.LiveID == 0 || v.InfluencerID == 0 {
				return d, fmt.Errorf("live view without live or influencer")
			}
		case "feed", "search", "shop":
			if v.LiveID != 0 || v.InfluencerID != 0 {
				return d, fmt.Errorf("%s view with a live", v.Surface)
			}
		default:
			return d, fmt.Errorf("surface %q", v.Surface)
		}
		if v.EventID == "" || v.TS.IsZero() || v.DwellMS == 0 {
			return d, fmt.Errorf("missing required field")
		}
	case event.KindChat:
		c := &d.chat
		if err := decodeStrict(m.Value, c); err != nil {
			return d, err
		}
		user = c.UserID
		if c.EventID == "" || c.TS.IsZero() || c.LiveID == 0 || c.InfluencerID == 0 || c.Text == "" {
			return d, fmt.Errorf("missing required field")
		}
		if err := checkProduct(c.ProductID, false); err != nil {
			return d, err
		}
	case event.KindPurchase:
		p := &d.purchase
		if err := decodeStrict(m.Value, p); err != nil {
			return d, err
		}
		user = p.UserID
		if p.EventID == "" || p.TS.IsZero() || p.OrderID == "" || p.Currency != "EUR" {
			return d, fmt.Errorf("missing required field")
		}
		if err := checkProduct(p.ProductID, true); err != nil {
			return d, err
		}
		if p.Quantity < 1 || p.Quantity > 3 {
			return d, fmt.Errorf("quantity %d", p.Quantity)
		}
		if p.UnitPrice != w.Products[p.ProductID-1].Price {
			return d, fmt.Errorf("unit price %v, product price %v", p.UnitPrice, w.Products[p.ProductID-1].Price)
		}
		if (p.LiveID == 0) != (p.InfluencerID == 0) {
			return d, fmt.Errorf("live and influencer must come together")
		}
		if u := &w.Users[p.UserID-1]; u.Bot {
			return d, fmt.Errorf("a bot bought")
		}
	default:
		return d, fmt.Errorf("unexpected kind %v", m.Kind)
	}
	if _, ok := w.User(user); !ok {
		return d, fmt.Errorf("unknown user %d", user)
	}
	if string(m.Key) != strconv.FormatUint(user, 10) {
		return d, fmt.Errorf("key %q for user %d", m.Key, user)
	}
	if ts := d.ts(); !ts.Equal(m.Time) || ts.Location() != time.UTC {
		return d, fmt.Errorf("ts %v, message time %v", ts, m.Time)
	}
	return d, nil
}

// checkLive decodes the live message m strictly into l and checks it
// against the wire contract (package event's decoder) and the world.
func checkLive(w *World, m Message, l *event.Live) error {
	if err := decodeStrict(m.Value, l); err != nil {
		return err
	}
	var v event.Live
	if err := event.NewDecoder(event.Limits{Now: func() time.Time { return m.Time }}).Live(m.Value, &v); err != nil {
		return fmt.Errorf("rejected by the event decoder: %w", err)
	}
	in, ok := w.Influencer(l.InfluencerID)
	if !ok {
		return fmt.Errorf("unknown influencer %d", l.InfluencerID)
	}
	if l.SponsorBrandID != 0 {
		if _, ok := w.Brand(l.SponsorBrandID); !ok {
			return fmt.Errorf("unknown sponsor %d", l.SponsorBrandID)
		}
		if l.Fee != in.Fee {
			return fmt.Errorf("fee %v, influencer's fee %v", l.Fee, in.Fee)
		}
	} else if l.Fee != 0 {
		return fmt.Errorf("organic live with a fee")
	}
	if len(l.ProductIDs) == 0 {
		return fmt.Errorf("no products")
	}
	for _, id := range l.ProductIDs {
		if _, ok := w.Product(id); !ok {
			return fmt.Errorf("unknown product %d", id)
		}
	}
	switch {
	case l.EndedAt.IsZero() && !l.UpdatedAt.Equal(l.StartedAt):
		return fmt.Errorf("start message updated at %v, started at %v", l.UpdatedAt, l.StartedAt)
	case !l.EndedAt.IsZero() && !l.UpdatedAt.Equal(l.EndedAt):
		return fmt.Errorf("end message updated at %v, ended at %v", l.UpdatedAt, l.EndedAt)
	}
	if string(m.Key) != strconv.FormatUint(l.LiveID, 10) {
		return fmt.Errorf("key %q for live %d", m.Key, l.LiveID)
	}
	if !l.UpdatedAt.Equal(m.Time) || l.UpdatedAt.Location() != time.UTC {
		return fmt.Errorf("updated_at %v, message time %v", l.UpdatedAt, m.Time)
	}
	return nil
}

func TestEventsDecode(t *testing.T) {
	w := smallWorld(t, 11)
	g := NewGenerator(w, -5, testStart)
	ids := map[string]bool{}
	orders := map[string]bool{}
	kinds := map[event.Kind]int{}
	surfaces := map[string]int{}
	var prev time.Time
	var lastID string
	events, starts, ends := 0, 0, 0
	for i := 0; events < 50000; i++ {
		m := g.Next()
		d, err := decodeEvent(w, m)
		if err != nil {
			t.Fatalf("message %d %s: %v", i, m.Value, err)
		}
		if ts := d.ts(); ts.Before(prev) {
			t.Fatalf("message %d goes back in time: %v < %v", i, ts, prev)
		} else {
			prev = ts
		}
		if d.kind == event.KindLive {
			if d.live.EndedAt.IsZero() {
				starts++
			} else {
				ends++
			}
			continue
		}
		var id string
		switch d.kind {
		case event.KindView:
			id = d.view.EventID
			surfaces[d.view.Surface]++
		case event.KindChat:
			id = d.chat.EventID
		case event.KindPurchase:
			id = d.purchase.EventID
			if orders[d.purchase.OrderID] {
				t.Fatalf("duplicate order id %s", d.purchase.OrderID)
			}
			orders[d.purchase.OrderID] = true
		}
		if ids[id] {
			t.Fatalf("duplicate event id %s", id)
		}
		ids[id] = true
		lastID = id
		kinds[d.kind]++
		if events == 0 && !bytes.HasPrefix(m.Value, []byte(`{"event_id":"e--5-1","ts":"2025-03-01T09:30:`)) {
			t.Errorf("first event %s", m.Value)
		}
		events++
	}
	if !g.Now().Truncate(time.Millisecond).Equal(prev) {
		t.Errorf("Now = %v, last ts %v", g.Now(), prev)
	}
	// Event IDs count the events: live messages took none.
	if want := "e--5-" + strconv.FormatUint(50000, 36); lastID != want {
		t.Errorf("last event id %s after 50000 events, want %s", lastID, want)
	}
	// Every live that started by the last message was announced once; ends
	// likewise. (Lives may be scheduled slightly ahead of Now.)
	var started, ended int
	for _, l := range g.Lives() {
		if !l.Start.After(g.Now()) {
			started++
		}
		if !l.End().After(g.Now()) {
			ended++
		}
	}
	if starts == 0 || starts != started || ends != ended {
		t.Errorf("%d live start and %d end messages; %d lives started and %d ended by %v", starts, ends, started, ended, g.Now())
	}
	for _, k := range []event.Kind{event.KindView, event.KindChat, event.KindPurchase} {
		if kinds[k] == 0 {
			t.Errorf("no %s events", k)
		}
	}
	for _, s := range []string{"feed", "live", "search", "shop"} {
		if surfaces[s] == 0 {
			t.Errorf("no views on surface %s", s)
		}
	}
}

func TestCatalogMessages(t *testing.T) {
	w := smallWorld(t, 4)
	now := time.Date(2025, 3, 1, 9, 30, 0, 123_000_000, time.FixedZone("X", 7200))
	msgs := w.CatalogMessages(now)
	if len(msgs) != len(w.Brands)+len(w.Products)+len(w.Influencers) {
		t.Fatalf("%d catalog messages", len(msgs))
	}
	seen := map[event.Kind]int{}
	for i, m := range msgs {
		if !json.Valid(m.Value) || !m.Time.Equal(now) {
			t.Fatalf("message %d: %s", i, m.Value)
		}
		var (
			id, wantID uint64
			updated    time.Time
		)
		switch m.Kind {
		case event.KindBrand:
			var b event.Brand
			if err := decodeStrict(m.Value, &b); err != nil {
				t.Fatalf("brand %s: %v", m.Value, err)
			}
			want := w.Brands[seen[m.Kind]]
			if b.Name != want.Name || b.Country != want.Country {
				t.Fatalf("brand %+v, want %+v", b, want)
			}
			id, wantID, updated = b.BrandID, want.ID, b.UpdatedAt
		case event.KindProduct:
			if seen[event.KindBrand] != len(w.Brands) {
				t.Fatal("a product precedes a brand")
			}
			var p event.Product
			if err := decodeStrict(m.Value, &p); err != nil {
				t.Fatalf("product %s: %v", m.Value, err)
			}
			want := w.Products[seen[m.Kind]]
			if p.BrandID != want.BrandID || p.Title != want.Title || p.Category != want.Category ||
				p.Price != want.Price || p.Currency != "EUR" || !p.InStock {
				t.Fatalf("product %+v, want %+v", p, want)
			}
			id, wantID, updated = p.ProductID, want.ID, p.UpdatedAt
		case event.KindInfluencer:
			var in event.Influencer
			if err := decodeStrict(m.Value, &in); err != nil {
				t.Fatalf("influencer %s: %v", m.Value, err)
			}
			want := w.Influencers[seen[m.Kind]]
			if in.Handle != want.Handle || in.Followers != want.Followers || !slices.Equal(in.Categories, want.Categories) ||
				in.Fee != want.Fee || want.Fee <= 0 {
				t.Fatalf("influencer %+v, want %+v", in, want)
			}
			id, wantID, updated = in.InfluencerID, want.ID, in.UpdatedAt
		default:
			t.Fatalf("catalog kind %v", m.Kind)
		}
		if id != wantID || string(m.Key) != strconv.FormatUint(id, 10) || !updated.Equal(now) {
			t.Fatalf("message %d: id %d (want %d), key %q, updated_at %v", i, id, wantID, m.Key, updated)
		}
		seen[m.Kind]++
	}
}

// sample is a decoded run of a generator: n events and the live messages
// among them.
type sample struct {
	w      *World
	g      *Generator
	events []decoded
}

func generate(t *testing.T, cfg Config, genSeed int64, n int) *sample {
	t.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &sample{w: w, g: NewGenerator(w, genSeed, testStart), events: make([]decoded, 0, n)}
	for i, events := 0, 0; events < n; i++ {
		m := s.g.Next()
		d, err := decodeEvent(w, m)
		if err != nil {
			t.Fatalf("message %d %s: %v", i, m.Value, err)
		}
		s.events = append(s.events, d)
		if m.Kind.IsEvent() {
			events++
		}
	}
	return s
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func TestFunnelDefaultWorld(t *testing.T) {
	s := generate(t, DefaultConfig(), 3, 200000)
	var views, liveViews, chats, purchases int
	for i := range s.events {
		switch d := &s.events[i]; d.kind {
		case event.KindView:
			views++
			if d.view.LiveID != 0 {
				liveViews++
			}
		case event.KindChat:
			chats++
		case event.KindPurchase:
			purchases++
		}
	}
	per100 := func(n int) float64 { return 100 * float64(n) / float64(views) }
	simHours := s.g.Now().Sub(s.g.Start()).Hours()
	t.Logf("views %d (%.0f%% live), chats %.2f and purchases %.2f per 100 views, %.1f simulated hours, %d lives",
		views, per100(liveViews), per100(chats), per100(purchases), simHours, len(s.g.Lives()))
	tests := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"chats per 100 views", per100(chats), 2, 10},
		{"purchases per 100 views", per100(purchases), 0.7, 3},
		{"live share of views (%)", per100(liveViews), 10, 60},
		{"simulated hours", simHours, 1, 10},
	}
	for _, tt := range tests {
		if tt.got < tt.lo || tt.got > tt.hi {
			t.Errorf("%s = %.3f, want in [%v, %v]", tt.name, tt.got, tt.lo, tt.hi)
		}
	}

	t.Run("purchases follow true tastes", func(t *testing.T) {
		var inTop, n int
		for i := range s.events {
			d := &s.events[i]
			if d.kind != event.KindPurchase {
				continue
			}
			u := &s.w.Users[d.purchase.UserID-1]
			p := &s.w.Products[d.purchase.ProductID-1]
			n++
			if s.w.CategoryIndex(p.Category) == argmax(u.Tastes) {
				inTop++
			}
		}
		uniform := 1 / float64(len(s.w.Config.Categories))
		share := float64(inTop) / float64(n)
		if share < 3*uniform {
			t.Errorf("share of purchases in the buyer's top category = %.3f over %d, want >= %.3f (3x uniform)", share, n, 3*uniform)
		}
	})

	t.Run("views follow true tastes", func(t *testing.T) {
		// The mean taste of browsing users for the viewed category is well
		// above that of a random category.
		var sum float64
		var n int
		for i := range s.events {
			d := &s.events[i]
			if d.kind != event.KindView || d.view.LiveID != 0 {
				continue
			}
			p := &s.w.Products[d.view.ProductID-1]
			sum += s.w.Users[d.view.UserID-1].Tastes[s.w.CategoryIndex(p.Category)]
			n++
		}
		if mean, uniform := sum/float64(n), 1/float64(len(s.w.Config.Categories)); mean < 3*uniform {
			t.Errorf("mean taste for the viewed category = %.3f, want >= %.3f", mean, 3*uniform)
		}
	})
}

// livesConfig is a small world with many lives, for per-live statistics.
func livesConfig() Config {
	cfg := DefaultConfig()
	cfg.Seed = 42
	cfg.Users, cfg.Brands, cfg.ProductsPerBrand, cfg.Influencers = 3000, 60, 20, 200
	cfg.LivesPerHour = 60
	cfg.LiveViewsPerHour = 300
	return cfg
}

func TestLives(t *testing.T) {
	s := generate(t, livesConfig(), 8, 300000)
	lives := s.g.Lives()
	w := s.w
	type liveStats struct {
		views, realViews, purchases, botChats int
		gmv                                   float64
	}
	stats := make([]liveStats, len(lives))
	botTexts := map[string]int{}
	for i := range s.events {
		d := &s.events[i]
		var live, infl, product uint64
		switch d.kind {
		case event.KindView:
			live, infl, product = d.view.LiveID, d.view.InfluencerID, d.view.ProductID
			if live != 0 {
				stats[live-1].views++
				if !w.Users[d.view.UserID-1].Bot {
					stats[live-1].realViews++
				}
			}
		case event.KindChat:
			live, infl, product = d.chat.LiveID, d.chat.InfluencerID, d.chat.ProductID
			if w.Users[d.chat.UserID-1].Bot {
				stats[live-1].botChats++
				botTexts[d.chat.Text]++
			}
		case event.KindPurchase:
			live, infl, product = d.purchase.LiveID, d.purchase.InfluencerID, d.purchase.ProductID
			if live != 0 {
				stats[live-1].purchases++
				stats[live-1].gmv += float64(d.purchase.Quantity) * d.purchase.UnitPrice
			}
		}
		if live == 0 {
			continue
		}
		if live > uint64(len(lives)) {
			t.Fatalf("event for unknown live %d", live)
		}
		l := &lives[live-1]
		if infl != l.InfluencerID {
			t.Fatalf("event of live %d names influencer %d, want %d", live, infl, l.InfluencerID)
		}
		if product != 0 && !slices.Contains(l.ProductIDs, product) {
			t.Fatalf("event of live %d shows product %d, not in %v", live, product, l.ProductIDs)
		}
		if ts := d.ts(); ts.Before(l.Start.Truncate(time.Millisecond)) || (d.kind == event.KindView && !ts.Before(l.End())) {
			t.Fatalf("%s at %v outside live %d (%v + %v)", d.kind, ts, live, l.Start, l.Duration)
		}
	}

	// Lives whose purchases are all in the sample.
	cutoff := s.g.Now().Add(-MaxPurchaseDelay)
	var done []int
	for i := range lives {
		if lives[i].End().Before(cutoff) {
			done = append(done, i)
		}
	}
	t.Logf("%d lives, %d complete, %d events over %v", len(lives), len(done), len(s.events), s.g.Now().Sub(s.g.Start()))
	if len(done) < 100 {
		t.Fatalf("only %d complete lives", len(done))
	}

	t.Run("live messages bracket each live", func(t *testing.T) {
		started := make([]bool, len(lives))
		ended := make([]bool, len(lives))
		for i := range s.events {
			d := &s.events[i]
			var id uint64
			switch d.kind {
			case event.KindLive:
				l := &d.live
				want := &lives[l.LiveID-1]
				if l.InfluencerID != want.InfluencerID || l.SponsorBrandID != want.SponsorBrandID || l.Fee != want.Fee ||
					!slices.Equal(l.ProductIDs, want.ProductIDs) || !l.StartedAt.Equal(want.Start.Truncate(time.Millisecond)) {
					t.Fatalf("live message %+v for live %+v", *l, *want)
				}
				j := l.LiveID - 1
				switch {
				case l.EndedAt.IsZero() && started[j]:
					t.Fatalf("live %d announced twice", l.LiveID)
				case l.EndedAt.IsZero():
					started[j] = true
				case !started[j] || ended[j]:
					t.Fatalf("live %d ended before it started, or twice", l.LiveID)
				case !l.EndedAt.Equal(want.End().Truncate(time.Millisecond)):
					t.Fatalf("live %d ended_at %v, want %v", l.LiveID, l.EndedAt, want.End())
				default:
					ended[j] = true
				}
				continue
			case event.KindView:
				id = d.view.LiveID
			case event.KindChat:
				id = d.chat.LiveID
			case event.KindPurchase:
				id = d.purchase.LiveID
			}
			if id == 0 {
				continue
			}
			if !started[id-1] {
				t.Fatalf("%s of live %d before its start message", d.kind, id)
			}
			if d.kind == event.KindView && ended[id-1] {
				t.Fatalf("view of live %d after its end message", id)
			}
		}
		now := s.g.Now()
		for i, l := range lives {
			if !l.Start.After(now) != started[i] || !l.End().After(now) != ended[i] {
				t.Errorf("live %d (%v to %v): start message %v, end message %v, by %v", l.ID, l.Start, l.End(), started[i], ended[i], now)
			}
		}
	})

	t.Run("sponsored lives show the sponsor's products", func(t *testing.T) {
		sponsored := 0
		for _, i := range done {
			l := &lives[i]
			if l.SponsorBrandID == 0 {
				if l.Fee != 0 {
					t.Errorf("organic live %d has a fee", l.ID)
				}
				continue
			}
			sponsored++
			if l.Fee != w.Influencers[l.InfluencerID-1].Fee {
				t.Errorf("live %d fee %v, influencer fee %v", l.ID, l.Fee, w.Influencers[l.InfluencerID-1].Fee)
			}
			for _, p := range l.ProductIDs {
				if b := w.Products[p-1].BrandID; b != l.SponsorBrandID {
					t.Fatalf("sponsored live %d (brand %d) shows product %d of brand %d", l.ID, l.SponsorBrandID, p, b)
				}
			}
		}
		share := float64(sponsored) / float64(len(done))
		if math.Abs(share-w.Config.SponsoredShare) > 0.12 {
			t.Errorf("sponsored share = %.3f, want about %v", share, w.Config.SponsoredShare)
		}
	})

	t.Run("TrueExpectedGMV predicts realised GMV", func(t *testing.T) {
		var exp, got, expViews, gotViews, expBuys, gotBuys []float64
		for _, i := range done {
			exp = append(exp, lives[i].TrueExpectedGMV)
			got = append(got, stats[i].gmv)
			expViews = append(expViews, lives[i].ExpectedViewers)
			gotViews = append(gotViews, float64(stats[i].views))
			expBuys = append(expBuys, lives[i].ExpectedPurchases)
			gotBuys = append(gotBuys, float64(stats[i].purchases))
		}
		if rho := spearman(exp, got); rho < 0.5 {
			t.Errorf("Spearman(TrueExpectedGMV, realised GMV) = %.3f over %d lives, want > 0.5", rho, len(done))
		} else {
			t.Logf("Spearman(TrueExpectedGMV, realised GMV) = %.3f over %d lives", rho, len(done))
		}
		// The expectations are exact, so the totals agree closely.
		for _, c := range []struct {
			name     string
			exp, got []float64
			tol      float64
		}{
			{"views", expViews, gotViews, 0.02},
			{"purchases", expBuys, gotBuys, 0.08},
			{"GMV", exp, got, 0.12},
		} {
			e, g := meanOf(c.exp), meanOf(c.got)
			t.Logf("realised/expected %s = %.3f", c.name, g/e)
			if math.Abs(g/e-1) > c.tol {
				t.Errorf("realised/expected %s = %.3f (%.1f / %.1f per live), want within %v of 1", c.name, g/e, g, e, c.tol)
			}
		}
	})

	t.Run("higher skill converts better", func(t *testing.T) {
		type bucket struct{ views, purchases int }
		var skills []float64
		for _, i := range done {
			skills = append(skills, w.Influencers[lives[i].InfluencerID-1].Skill)
		}
		sorted := slices.Clone(skills)
		slices.Sort(sorted)
		lo, hi := sorted[len(sorted)/3], sorted[2*len(sorted)/3]
		var low, high bucket
		for j, i := range done {
			switch {
			case skills[j] <= lo:
				low.views += stats[i].realViews
				low.purchases += stats[i].purchases
			case skills[j] >= hi:
				high.views += stats[i].realViews
				high.purchases += stats[i].purchases
			}
		}
		cl := float64(low.purchases) / float64(low.views)
		ch := float64(high.purchases) / float64(high.views)
		t.Logf("conversion: bottom skill tercile %.4f, top tercile %.4f", cl, ch)
		if ch < 1.5*cl {
			t.Errorf("top-skill conversion %.4f is not well above bottom-skill conversion %.4f", ch, cl)
		}
	})

	t.Run("fake audiences chat in identical bursts", func(t *testing.T) {
		var fakeLives, burstLives int
		for _, i := range done {
			in := &w.Influencers[lives[i].InfluencerID-1]
			if in.FakeShare == 0 {
				if stats[i].views != stats[i].realViews || stats[i].botChats != 0 {
					t.Errorf("live %d without fake audience has bot activity", lives[i].ID)
				}
				continue
			}
			if in.FakeShare >= 0.3 && stats[i].views > 200 {
				fakeLives++
				if stats[i].botChats >= 5 {
					burstLives++
				}
			}
		}
		for text := range botTexts {
			if !slices.Contains(chatBursts, text) {
				t.Errorf("bot chat text %q is not a burst text", text)
			}
		}
		if fakeLives > 0 && burstLives*2 < fakeLives {
			t.Errorf("only %d of %d lives with a large fake audience had bot bursts", burstLives, fakeLives)
		}
	})
}

func TestAppendTimestamp(t *testing.T) {
	tests := []time.Time{
		time.Unix(0, 0),
		time.Date(2025, 3, 1, 9, 30, 0, 123_456_789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2000, 12, 31, 12, 0, 0, 1_000_000, time.FixedZone("X", -5*3600)),
		time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC),
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	for _, tm := range tests {
		want := tm.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		if tm.Before(time.Unix(0, 0)) {
			// Truncate rounds towards zero time; UnixMilli floors.
			want = time.UnixMilli(tm.UnixMilli()).UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if got := string(appendTimestamp(nil, tm)); got != want {
			t.Errorf("appendTimestamp(%v) = %s, want %s", tm, got, want)
		}
	}
	// Every day over several years.
	for tm := time.Date(1995, 1, 1, 13, 14, 15, 0, time.UTC); tm.Year() < 2035; tm = tm.AddDate(0, 0, 1) {
		if got, want := string(appendTimestamp(nil, tm)), tm.Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Fatalf("appendTimestamp(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestAppendPrice(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.00"}, {0.99, "0.99"}, {19.99, "19.99"}, {20, "20.00"}, {1234.5, "1234.50"}, {0.005, "0.01"},
	}
	for _, tt := range tests {
		if got := string(appendPrice(nil, tt.in)); got != tt.want {
			t.Errorf("appendPrice(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAliasTable(t *testing.T) {
	weights := []float64{1, 0, 3, 6}
	var at aliasTable
	at.build(weights, make([]float64, len(weights)))
	r := newRand(1, 1)
	counts := make([]int, len(weights))
	const n = 200000
	for range n {
		counts[at.sample(r)]++
	}
	for i, wt := range weights {
		got, want := float64(counts[i])/n, wt/10
		if math.Abs(got-want) > 0.01 {
			t.Errorf("index %d drawn with frequency %.4f, want %.4f", i, got, want)
		}
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	w, err := NewWorld(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	g := NewGenerator(w, 1, testStart)
	var bytes int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m := g.Next()
		bytes += len(m.Value)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/msg")
}

func BenchmarkNewWorld(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewWorld(DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTrueExpectationsFromPublicTruth recomputes the expectations of some
// lives from the exported true parameters and the documented model.
func TestTrueExpectationsFromPublicTruth(t *testing.T) {
	w := smallWorld(t, 21)
	g := NewGenerator(w, 2, testStart)
	for len(g.Lives()) < 12 {
		g.Next()
	}
	for _, l := range g.Lives() {
		in := &w.Influencers[l.InfluencerID-1]
		weights := make([]float64, len(w.Users))
		var total float64
		for i, u := range w.Users {
			if u.Bot {
				continue
			}
			var aff float64
			for c := range u.Tastes {
				aff += u.Tastes[c] * in.AudienceTastes[c]
			}
			weights[i] = u.Activity * aff * aff
			if u.Country != in.Country {
				weights[i] *= 0.3
			}
			total += weights[i]
		}
		views := w.Config.LiveViewsPerHour * math.Pow(float64(in.Followers)/20000, 0.7) * l.Duration.Hours()
		var buys, gmv float64
		for _, pid := range l.ProductIDs {
			var p float64
			for i, u := range w.Users {
				p += weights[i] / total * w.LivePurchaseProb(u.ID, pid, in.ID)
			}
			slot := views * (1 - in.FakeShare) / float64(len(l.ProductIDs))
			buys += slot * p
			gmv += slot * p * 1.25 * w.Products[pid-1].Price
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"ExpectedViewers", l.ExpectedViewers, views},
			{"ExpectedPurchases", l.ExpectedPurchases, buys},
			{"TrueExpectedGMV", l.TrueExpectedGMV, gmv},
		} {
			if math.Abs(c.got-c.want) > 1e-9*math.Max(1, c.want) {
				t.Errorf("live %d %s = %v, recomputed %v", l.ID, c.name, c.got, c.want)
			}
		}
	}
}

// TestMeanBuyProbPaths checks that the fast (mean taste) and exact (user by
// user) paths agree below the cap, and that the cap binds above it.
func TestMeanBuyProbPaths(t *testing.T) {
	w := smallWorld(t, 22)
	g := NewGenerator(w, 1, testStart)
	cats := []int{0, 3}
	total := g.audienceWeights(5, cats)
	for _, c := range cats {
		for _, a := range []float64{0.01, 0.3, 0.5} {
			fast, exact := g.meanBuyProb(a, c, total, false), g.meanBuyProb(a, c, total, true)
			if math.Abs(fast-exact) > 1e-12 {
				t.Errorf("category %d, a=%v: fast %v, exact %v", c, a, fast, exact)
			}
		}
		if big := g.meanBuyProb(1e6, c, total, false); big > maxBuyProb || big < 0.9*maxBuyProb {
			t.Errorf("category %d: capped mean purchase probability = %v", c, big)
		}
	}
}
