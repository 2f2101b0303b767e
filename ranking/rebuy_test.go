package ranking

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"
)

// TestRepurchase_LearnsCategoryIntervals: milk is bought again every 7
// days by everyone, a pan never; the intervals, rates and the restock
// score follow.
func TestRepurchase_LearnsCategoryIntervals(t *testing.T) {
	b := NewBuilder()
	b.AddItem(Item{ID: 1, Category: "dairy", InStock: true})
	b.AddItem(Item{ID: 2, Category: "kitchen", InStock: true})
	const day = 86400
	t0 := int64(1_700_000_000)
	for u := uint64(1); u <= 50; u++ {
		for k := range 4 {
			b.Add(Interaction{User: u, Item: 1, Kind: Purchase, Unix: t0 + int64(k)*7*day + int64(u)})
		}
		b.Add(Interaction{User: u, Item: 2, Kind: Purchase, Unix: t0 + int64(u)})
	}
	d := b.Build()
	r := BuildRepurchase(d)
	dairy, kitchen := int32(0), int32(1) // categories sorted
	if iv := float64(r.Interval[dairy]); math.Abs(iv-7*day) > 1 {
		t.Errorf("dairy interval %v days, want 7", iv/day)
	}
	if r.Rate[dairy] < 0.7 || r.Rate[kitchen] > 0.3 {
		t.Errorf("repurchase rates dairy %v, kitchen %v: want most dairy bought again, few pans", r.Rate[dairy], r.Rate[kitchen])
	}
	milk := Signal{Purchases: 4, First: uint32(t0), Last: uint32(t0 + 21*day)}
	due := func(days float64) float64 { return r.Due(dairy, milk, int64(milk.Last)+int64(days*day)) }
	if !(due(1) < due(4) && due(4) < due(7) && due(7) > due(20)) {
		t.Errorf("restock score over 1, 4, 7, 20 days: %v %v %v %v; want a peak at the 7-day interval", due(1), due(4), due(7), due(20))
	}
	pan := Signal{Purchases: 1, First: uint32(t0), Last: uint32(t0)}
	if p := r.Due(kitchen, pan, t0+7*day); p >= due(7) {
		t.Errorf("a pan is as due (%v) as milk (%v)", p, due(7))
	}
	if r.Due(dairy, Signal{Views: 3, Last: uint32(t0)}, t0+7*day) != 0 {
		t.Error("a product never bought is due")
	}
}

// TestFeed_RestockIsLabelledNeverDuplicated: a user who buys milk every
// week gets it back at the top of the first page once a week has passed,
// as "time to restock", once; not an hour after buying it, never a pan
// bought once, nothing with restocks turned off. Whatever comes back is
// a product the user bought, labelled, at the top; the rest of the
// history stays out.
func TestFeed_RestockIsLabelledNeverDuplicated(t *testing.T) {
	s := newShop(t, 300, 30, 12)
	b := NewBuilder()
	for _, it := range s.d.Items {
		b.AddItem(it)
	}
	for u := range s.d.Users {
		items, sigs := s.d.UserRow(int32(u))
		for k, i := range items {
			b.AddSignal(s.d.Users[u], s.d.Items[i].ID, sigs[k])
		}
	}
	const day = 86400
	milk, pan := s.d.Items[3].ID, s.d.Items[40].ID // kitchen and fashion products of the shop
	last := s.d.MaxUnix
	for u := uint64(1); u <= 300; u++ { // the category's repurchases: every 7 days
		for k := range 3 {
			b.Add(Interaction{User: u, Item: milk, Kind: Purchase, Unix: last - int64(k)*7*day - int64(u)})
		}
	}
	b.Add(Interaction{User: 7, Item: pan, Kind: Purchase, Unix: last - 7*day})
	d := b.Build()
	for _, tc := range []struct {
		name     string
		after    int64 // seconds after the data's end
		due      float64
		wantMilk bool
	}{
		{"due", 7 * day, 0, true},
		{"just bought", 3600, 0, false},
		{"turned off", 7 * day, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Train(context.Background(), d, TrainConfig{ALS: ALSConfig{Factors: 8, Iterations: 4, Seed: 1}, Seed: 1, RestockDue: tc.due})
			if err != nil {
				t.Fatal(err)
			}
			r := newTestRanker(m, time.Unix(d.MaxUnix+tc.after, 0))
			f, err := r.Feed(context.Background(), FeedRequest{UserID: 7, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			bought := map[uint64]bool{}
			u, _ := d.UserIndex(7)
			items, sigs := d.UserRow(u)
			for k, i := range items {
				if sigs[k].Purchases > 0 {
					bought[d.Items[i].ID] = true
				}
			}
			seen := map[uint64]int{}
			restocks := 0
			for k, it := range f.Items {
				seen[it.ProductID]++
				if seen[it.ProductID] > 1 {
					t.Errorf("product %d twice in the feed", it.ProductID)
				}
				if it.Reason == ReasonRestock {
					if restocks++; k != restocks-1 || !bought[it.ProductID] {
						t.Errorf("restock of product %d (bought: %v) at position %d, want bought products at the top", it.ProductID, bought[it.ProductID], k)
					}
				} else if items, _ := d.UserRow(u); slices.Contains(items, int32(mustIndex(t, d, it.ProductID))) {
					t.Errorf("product %d of the history is in the feed as %q", it.ProductID, it.Reason)
				}
			}
			if restocks > maxRestock {
				t.Errorf("%d restocks, want at most %d", restocks, maxRestock)
			}
			if got := seen[milk] == 1; got != tc.wantMilk {
				t.Errorf("milk in the feed %d times, want it: %v", seen[milk], tc.wantMilk)
			}
			if seen[pan] > 0 {
				t.Error("a pan bought once came back")
			}
		})
	}
}

func mustIndex(t *testing.T, d *Dataset, id uint64) int32 {
	t.Helper()
	i, ok := d.ItemIndex(id)
	if !ok {
		t.Fatalf("product %d not in the data", id)
	}
	return i
}
