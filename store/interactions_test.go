package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func TestInteractions_AggregatesPerUserProduct(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var views store.ViewRows
	var chats store.ChatRows
	var buys store.PurchaseRows
	n := 0
	id := func() string { n++; return fmt.Sprintf("e%d", n) }
	// user 1 × product 10: 3 views (dwell 1s each), 1 chat, 1 purchase
	for i := range 3 {
		views.Add(&event.View{EventID: id(), TS: t0.Add(time.Duration(i) * time.Minute), UserID: 1, ProductID: 10, Surface: "feed", DwellMS: 1000}, 0, int64(n))
	}
	chats.Add(&event.Chat{EventID: id(), TS: t0.Add(5 * time.Minute), UserID: 1, ProductID: 10, LiveID: 7, InfluencerID: 3, Text: "size?"}, 0, int64(n))
	chats.Add(&event.Chat{EventID: id(), TS: t0.Add(6 * time.Minute), UserID: 1, LiveID: 7, InfluencerID: 3, Text: "hi"}, 0, int64(n)) // no product
	buys.Add(&event.Purchase{EventID: id(), TS: t0.Add(9 * time.Minute), OrderID: "o1", UserID: 1, ProductID: 10, Quantity: 1, UnitPrice: 5, Currency: "EUR"}, 0, int64(n))
	// user 2 × product 11: one view before since (ignored), one after
	views.Add(&event.View{EventID: id(), TS: t0.Add(-48 * time.Hour), UserID: 2, ProductID: 11, Surface: "shop"}, 0, int64(n))
	views.Add(&event.View{EventID: id(), TS: t0, UserID: 2, ProductID: 11, Surface: "shop"}, 0, int64(n))
	for _, r := range []store.Rows{&views, &chats, &buys} {
		r.SetIngestedAt(time.Now())
		if err := st.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[[2]uint64]store.Interaction{}
	err := st.Interactions(ctx, t0.Add(-time.Hour), func(in store.Interaction) error {
		got[[2]uint64{in.UserID, in.ProductID}] = in
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d pairs, want 2: %+v", len(got), got)
	}
	a := got[[2]uint64{1, 10}]
	if a.Views != 3 || a.Chats != 1 || a.Purchases != 1 || a.DwellMS != 3000 || !a.First.Equal(t0) || !a.Last.Equal(t0.Add(9*time.Minute)) {
		t.Errorf("user 1 product 10: %+v", a)
	}
	b := got[[2]uint64{2, 11}]
	if b.Views != 1 || !b.First.Equal(t0) {
		t.Errorf("user 2 product 11 (one view before since must not count): %+v", b)
	}
	stop := fmt.Errorf("stop")
	if err := st.Interactions(ctx, time.Time{}, func(store.Interaction) error { return stop }); err != stop {
		t.Errorf("callback error not returned: %v", err)
	}
}
