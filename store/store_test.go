package store_test

import (
	"context"
	"testing"
	"time"

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
