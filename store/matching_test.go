package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

// TestMatchingAggregates lands a small, hand-counted world and checks each
// aggregate the matching profiles are built from, including the cut-off.
func TestMatchingAggregates(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cut := t0.Add(24 * time.Hour)
	var views store.ViewRows
	var chats store.ChatRows
	var buys store.PurchaseRows
	var products store.ProductRows
	n := 0
	off := func() int64 { n++; return int64(n) }
	view := func(ts time.Time, user, product, live uint64) {
		v := &event.View{EventID: fmt.Sprintf("v%d", n), TS: ts, UserID: user, ProductID: product, Surface: "feed"}
		if live != 0 {
			v.LiveID, v.InfluencerID, v.Surface = live, 100+live, "live"
		}
		views.Add(v, 0, off())
	}
	products.Add(&event.Product{ProductID: 10, BrandID: 1, Category: "kitchen", Title: "pan", Price: 20, Currency: "EUR", InStock: true, UpdatedAt: t0}, 0, off())
	products.Add(&event.Product{ProductID: 11, BrandID: 1, Category: "beauty", Title: "cream", Price: 10, Currency: "EUR", InStock: true, UpdatedAt: t0}, 0, off())
	// Users 1 and 2 browse (active): user 1 three kitchen views and one
	// beauty view, user 2 one beauty view. User 3 only watches lives.
	for range 3 {
		view(t0, 1, 10, 0)
	}
	view(t0, 1, 11, 0)
	view(t0, 2, 11, 0)
	// Live 1 (influencer 101): users 1, 2, 3 watch product 10; user 1 twice.
	for _, u := range []uint64{1, 1, 2, 3} {
		view(t0.Add(time.Hour), u, 10, 1)
	}
	// After the cut-off: must not count.
	view(cut.Add(time.Minute), 3, 10, 1)
	view(cut.Add(time.Minute), 3, 10, 0)
	buys.Add(&event.Purchase{EventID: "p1", TS: t0.Add(time.Hour), OrderID: "o1", UserID: 1, ProductID: 10, LiveID: 1, InfluencerID: 101, Quantity: 2, UnitPrice: 20, Currency: "EUR"}, 0, off())
	buys.Add(&event.Purchase{EventID: "p2", TS: t0, OrderID: "o2", UserID: 2, ProductID: 11, Quantity: 1, UnitPrice: 10, Currency: "EUR"}, 0, off())
	buys.Add(&event.Purchase{EventID: "p3", TS: cut.Add(time.Hour), OrderID: "o3", UserID: 2, ProductID: 10, LiveID: 1, InfluencerID: 101, Quantity: 1, UnitPrice: 20, Currency: "EUR"}, 0, off())
	// Live 1's chat: a burst of six identical texts within seconds from
	// user 3, and one question from user 1.
	for k := range 6 {
		chats.Add(&event.Chat{EventID: fmt.Sprintf("c%d", k), TS: t0.Add(time.Hour + time.Duration(k)*time.Second), UserID: 3, LiveID: 1, InfluencerID: 101, Text: "WOW"}, 0, off())
	}
	chats.Add(&event.Chat{EventID: "c9", TS: t0.Add(2 * time.Hour), UserID: 1, LiveID: 1, InfluencerID: 101, ProductID: 10, Text: "size?"}, 0, off())
	for _, r := range []store.Rows{&views, &chats, &buys, &products} {
		r.SetIngestedAt(time.Now())
		if err := st.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	aud, err := st.LiveAudiences(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(aud) != 1 {
		t.Fatalf("live audiences: %+v", aud)
	}
	if a := aud[0]; a.LiveID != 1 || a.InfluencerID != 101 || a.Views != 4 || a.Viewers != 3 || a.ActiveViews != 3 || a.ActiveViewers != 2 || !a.Start.Equal(t0.Add(time.Hour)) {
		t.Errorf("live 1 audience: %+v", a)
	}

	lp, err := st.LiveProducts(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp) != 1 || lp[0] != (store.LiveProductStats{LiveID: 1, ProductID: 10, ActiveViews: 3, Orders: 1, Units: 2, GMV: 40}) {
		t.Errorf("live products: %+v", lp)
	}

	lc, err := st.LiveChatStats(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(lc) != 1 || lc[0] != (store.LiveChats{LiveID: 1, Chats: 7, Chatters: 2, BurstChats: 6, ActiveChatters: 1, Questions: 1}) {
		t.Errorf("live chats: %+v", lc)
	}

	au, err := st.Audiences(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	share := map[string]float64{}
	for _, a := range au {
		if a.InfluencerID != 101 {
			t.Errorf("audience of an influencer without lives: %+v", a)
		}
		share[a.Category] = a.Share
	}
	// User 1: 3/4 kitchen, 1/4 beauty; user 2: all beauty; user 3 inactive.
	if math.Abs(share["kitchen"]-0.75) > 1e-9 || math.Abs(share["beauty"]-1.25) > 1e-9 || len(share) != 2 {
		t.Errorf("audience shares: %v", share)
	}

	ss, err := st.ShopSales(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]store.ProductSales{}
	for _, s := range ss {
		got[s.ProductID] = s
	}
	if got[10] != (store.ProductSales{ProductID: 10, Views: 3}) || got[11] != (store.ProductSales{ProductID: 11, Views: 2, Orders: 1, Units: 1, GMV: 10}) {
		t.Errorf("shop sales: %+v", got)
	}
}
