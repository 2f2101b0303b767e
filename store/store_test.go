package store_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrate_IdempotentAndRecorded(t *testing.T) {
	st, _ := testenv.Store(t) // migrated once already
	ctx := context.Background()
	again, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", again)
	}
	migs, err := store.Migrations(st.Database())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := st.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if !applied[m.Version] {
			t.Errorf("migration %s not recorded", m.Name)
		}
	}
}

func TestMigrations_NoInputInSQL(t *testing.T) {
	if _, err := store.Open(store.Config{Database: "x; DROP TABLE y"}); err == nil {
		t.Fatal("Open accepted a database name that is not an identifier")
	}
}

// An insert whose events span several months is still one part: the
// partition key is ingested_at, the same for the whole batch. This is
// what makes an insert all-or-nothing.
func TestInsert_OneBatchIsOnePart(t *testing.T) {
	st, cfg := testenv.Store(t)
	ctx := context.Background()
	var rows store.ViewRows
	base := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		v := event.View{EventID: "e" + string(rune('a'+i%26)) + time.Duration(i).String(), TS: base.AddDate(0, i%7, 0), UserID: 1, ProductID: 2, Surface: "live"}
		rows.Add(&v, 3, int64(i))
	}
	rows.SetIngestedAt(time.Now())
	if err := st.Insert(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	parts := countParts(t, cfg.Addr, cfg.Database, "views")
	if parts != 1 {
		t.Fatalf("one insert made %d parts, want 1", parts)
	}
	wm, err := st.Watermarks(ctx, store.TableViews)
	if err != nil {
		t.Fatal(err)
	}
	if wm[3] != 4999 || len(wm) != 1 {
		t.Fatalf("watermarks %v, want partition 3 at 4999", wm)
	}
	ids, err := st.RecentEventIDs(ctx, store.TableViews, 3, 4990)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 9 {
		t.Fatalf("RecentEventIDs after 4990 gave %d ids, want 9", len(ids))
	}

}

// An insert cut off while its block is on the wire lands nothing, and the
// same rows sent again land whole: the lander's recovery and the exactly-once
// rules rest on this. The connection goes through a proxy that severs it
// after a given number of bytes, as a network fault or the ingester's crash
// would. (An INSERT sent as several blocks is not atomic so: ClickHouse 18.16
// writes the blocks it had when the connection drops.)
func TestInsert_CutOffMidBlockLandsNothing(t *testing.T) {
	owner, cfg := testenv.Store(t)
	px := newProxy(t, cfg.Addr)
	st, err := store.Open(store.Config{Addr: px.addr, Database: cfg.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Watermarks(ctx, store.TableViews); err != nil { // the connection is open
		t.Fatal(err)
	}
	var rows store.ViewRows
	for i := range 100_000 {
		v := event.View{EventID: fmt.Sprintf("%016x-%d", uint64(i)*0x9e3779b97f4a7c15, i), TS: time.Now(), UserID: uint64(i), ProductID: 2, Surface: "feed"}
		rows.Add(&v, int32(i%3), int64(i))
	}
	px.severAfter(1 << 20)
	if err := st.Insert(ctx, &rows); err == nil {
		t.Fatal("an insert whose connection was severed after 1 MiB succeeded")
	}
	if px.forwarded() < 1<<20 {
		t.Fatalf("the proxy forwarded %d bytes: the connection was severed before the insert's data", px.forwarded())
	}
	// Give the server time to act on the closed connection, then look.
	time.Sleep(time.Second)
	if n, _, err := owner.Origins(ctx, store.TableViews); err != nil || n != 0 {
		t.Fatalf("%d rows of the cut-off insert landed (%v), want 0", n, err)
	}
	if parts := countParts(t, cfg.Addr, cfg.Database, "views"); parts != 0 {
		t.Fatalf("the cut-off insert left %d parts, want 0", parts)
	}
	if err := st.Insert(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if n, unique, err := owner.Origins(ctx, store.TableViews); err != nil || n != 100_000 || unique != 100_000 {
		t.Fatalf("after the retry %d rows from %d places (%v), want 100000 of each", n, unique, err)
	}
}

// proxy forwards TCP connections to a server. Once told to sever after n
// bytes, it closes the connections open through it when n more bytes have
// gone from the client to the server; later connections are forwarded
// again.
type proxy struct {
	addr   string
	mu     sync.Mutex
	conns  []net.Conn
	budget int64 // bytes left before severing; -1: not armed
	sent   int64 // bytes forwarded to the server since armed
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{addr: ln.Addr().String(), budget: -1}
	t.Cleanup(func() { ln.Close(); px.sever() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			px.mu.Lock()
			px.conns = append(px.conns, c, s)
			px.mu.Unlock()
			go px.toServer(c, s)
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return px
}

func (px *proxy) toServer(c, s net.Conn) {
	defer s.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			px.mu.Lock()
			if px.budget >= 0 && int64(n) > px.budget {
				n = int(px.budget)
			}
			if px.budget >= 0 {
				px.budget -= int64(n)
				px.sent += int64(n)
			}
			cut := px.budget == 0
			px.mu.Unlock()
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			if cut {
				px.sever()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (px *proxy) severAfter(n int64) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.budget, px.sent = n, 0
}

func (px *proxy) forwarded() int64 {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.sent
}

func (px *proxy) sever() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range px.conns {
		c.Close()
	}
	px.conns = nil
	px.budget = -1
}

func countParts(t *testing.T, addr, db, table string) int {
	t.Helper()
	st, err := store.Open(store.Config{Addr: addr, Database: "system"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.ActiveParts(context.Background(), db, table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCatalogViews_LatestVersionWithoutFinal(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	var rows store.ProductRows
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows.Add(&event.Product{ProductID: 5, BrandID: 1, Category: "kitchen", Title: "Pan", Price: 30, Currency: "EUR", InStock: true, UpdatedAt: t1.Add(time.Hour)}, 0, 0)
	rows.Add(&event.Product{ProductID: 5, BrandID: 1, Category: "kitchen", Title: "Old pan", Price: 35, Currency: "EUR", InStock: true, UpdatedAt: t1}, 0, 1)
	rows.Add(&event.Product{ProductID: 6, BrandID: 2, Category: "fashion", Title: "Scarf", Price: 12, Currency: "EUR", InStock: false, UpdatedAt: t1}, 0, 2)
	if err := st.Insert(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	got, err := st.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("products view has %d rows, want 2: %+v", len(got), got)
	}
	if got[0].ProductID != 5 || got[0].Title != "Pan" || got[0].Price != 30 {
		t.Errorf("product 5 = %+v, want the version with the latest updated_at (Pan, 30)", got[0])
	}
	if got[1].InStock {
		t.Errorf("product 6 in stock, want out of stock")
	}
}

func TestTableFor_EveryKindHasItsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range event.Kinds {
		want := k.Plural()
		if !k.IsEvent() {
			want = k.String() + "_versions"
		}
		tab := store.TableFor(k)
		if tab.Name() != want || tab.IsEvent() != k.IsEvent() {
			t.Errorf("%s lands in %s (event table %v), want %s", k, tab.Name(), tab.IsEvent(), want)
		}
		seen[tab.Name()] = true
	}
	if seen[store.TableDeadLetters.Name()] || store.TableDeadLetters.Name() != "dead_letters" {
		t.Errorf("dead letters table %q", store.TableDeadLetters.Name())
	}
}

// Every statement of every migration can run again: a migration that
// died after some of its statements (an ALTER among them) and before it
// was recorded is applied again from its start.
func TestMigrate_LostRecord_AppliesEverythingAgain(t *testing.T) {
	st, cfg := testenv.Store(t)
	ctx := context.Background()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cfg.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP TABLE "+cfg.Database+".schema_migrations"); err != nil {
		t.Fatal(err)
	}
	again, err := st.Migrate(ctx)
	if err != nil {
		t.Fatalf("second run of every migration: %v", err)
	}
	migs, err := store.Migrations(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(migs) {
		t.Errorf("applied %v again, want all %d migrations", again, len(migs))
	}
	var fees uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = 'influencer_versions' AND name = 'fee'", cfg.Database).Scan(&fees); err != nil || fees != 1 {
		t.Errorf("influencer_versions has %d fee columns (%v), want 1", fees, err)
	}
}

func TestLivesView_LatestVersionWithoutFinal(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Minute)
	var rows store.LiveRows
	// Live 7: on air, then ended; then a stale version arrives late.
	rows.Add(&event.Live{LiveID: 7, InfluencerID: 4, SponsorBrandID: 3, Fee: 1500, ProductIDs: []uint64{11, 12}, StartedAt: start, UpdatedAt: start}, 1, 10)
	rows.Add(&event.Live{LiveID: 7, InfluencerID: 4, SponsorBrandID: 3, Fee: 1500, ProductIDs: []uint64{11, 12, 13}, StartedAt: start, EndedAt: end, UpdatedAt: end}, 1, 11)
	rows.Add(&event.Live{LiveID: 7, InfluencerID: 4, StartedAt: start, UpdatedAt: start.Add(-time.Hour)}, 1, 12)
	// Live 8: organic, on air, no products.
	rows.Add(&event.Live{LiveID: 8, InfluencerID: 5, StartedAt: end, UpdatedAt: end}, 0, 3)
	if err := st.Insert(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	got, err := st.Lives(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Live{
		{LiveID: 7, InfluencerID: 4, SponsorBrandID: 3, Fee: 1500, ProductIDs: []uint64{11, 12, 13}, StartedAt: start, EndedAt: end, UpdatedAt: end},
		{LiveID: 8, InfluencerID: 5, ProductIDs: []uint64{}, StartedAt: end, UpdatedAt: end},
	}
	if len(got) != len(want) {
		t.Fatalf("lives view has %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.LiveID != w.LiveID || g.InfluencerID != w.InfluencerID || g.SponsorBrandID != w.SponsorBrandID || g.Fee != w.Fee ||
			!slices.Equal(g.ProductIDs, w.ProductIDs) || !g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("live %d = %+v, want %+v", w.LiveID, g, w)
		}
	}
	if n, u, err := st.Count(ctx, store.TableLiveVersions); err != nil || n != 4 || u != 4 {
		t.Errorf("live_versions count %d/%d (%v), want every version kept: 4", n, u, err)
	}
}

func TestInfluencersView_LatestFee(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows store.InfluencerRows
	rows.Add(&event.Influencer{InfluencerID: 4, Handle: "@ann", Followers: 1000, Country: "IT", Categories: []string{"beauty"}, Fee: 900, UpdatedAt: t1}, 0, 0)
	rows.Add(&event.Influencer{InfluencerID: 4, Handle: "@ann", Followers: 5000, Country: "IT", Categories: []string{"beauty"}, Fee: 2500.5, UpdatedAt: t1.Add(time.Hour)}, 0, 1)
	rows.Add(&event.Influencer{InfluencerID: 5, Handle: "@bob", UpdatedAt: t1}, 0, 2) // no fee: unknown
	if err := st.Insert(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	got, err := st.Influencers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].InfluencerID != 4 || got[0].Fee != 2500.5 || got[0].Followers != 5000 || got[1].Fee != 0 || got[1].Categories == nil {
		t.Fatalf("influencers view = %+v, want @ann at fee 2500.5 and @bob at 0", got)
	}
	if !got[0].UpdatedAt.Equal(t1.Add(time.Hour)) {
		t.Errorf("updated_at %v", got[0].UpdatedAt)
	}
}
