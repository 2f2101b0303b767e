package ranking

import (
	"math"
	"slices"
	"testing"
	"unsafe"
)

func TestBuilder_MergesPairsAndTransposes(t *testing.T) {
	b := NewBuilder()
	b.AddItem(Item{ID: 10, Category: "shoes", Brand: 1, Price: 50, InStock: true})
	b.AddItem(Item{ID: 20, Category: "bags", Brand: 2, Price: 80, InStock: false})
	b.Add(Interaction{User: 7, Item: 20, Kind: View, Unix: 100, DwellMS: 61000})
	b.Add(Interaction{User: 7, Item: 10, Kind: View, Unix: 50})
	b.Add(Interaction{User: 7, Item: 20, Kind: Purchase, Unix: 200})
	b.Add(Interaction{User: 9, Item: 30, Kind: Chat, Unix: 150}) // not in catalog
	b.Add(Interaction{User: 9, Item: 10, Kind: View, Unix: 160})
	d := b.Build()

	if d.NumUsers() != 2 || d.NumItems() != 3 || d.NumPairs() != 4 {
		t.Fatalf("users %d items %d pairs %d, want 2 3 4", d.NumUsers(), d.NumItems(), d.NumPairs())
	}
	if d.MinUnix != 50 || d.MaxUnix != 200 {
		t.Errorf("time range %d..%d, want 50..200", d.MinUnix, d.MaxUnix)
	}
	if !slices.Equal(d.Categories, []string{"bags", "shoes"}) {
		t.Errorf("categories %v", d.Categories)
	}
	u7, _ := d.UserIndex(7)
	i20, _ := d.ItemIndex(20)
	i30, _ := d.ItemIndex(30)
	if d.ItemCategory[i30] != -1 || d.Items[i30].InStock != true {
		t.Errorf("unknown item: category %d in stock %v", d.ItemCategory[i30], d.Items[i30].InStock)
	}
	items, sigs := d.UserRow(u7)
	if !slices.IsSorted(items) || len(items) != 2 {
		t.Fatalf("user 7 row %v", items)
	}
	for k, it := range items {
		if it == i20 {
			s := sigs[k]
			if s.Views != 1 || s.Purchases != 1 || s.DwellSec != 61 || s.First != 100 || s.Last != 200 {
				t.Errorf("merged signal %+v", s)
			}
		}
	}
	// Transpose: every pair appears once under its item, users sorted.
	seen := 0
	for i := int32(0); i < int32(d.NumItems()); i++ {
		users, pairs := d.ItemColumn(i)
		if !slices.IsSorted(users) {
			t.Errorf("item %d users not sorted: %v", i, users)
		}
		for k, u := range users {
			if d.UserItems[pairs[k]] != i || pairs[k] < d.UserPtr[u] || pairs[k] >= d.UserPtr[u+1] {
				t.Errorf("item %d pair %d does not point back to user %d", i, pairs[k], u)
			}
			seen++
		}
	}
	if seen != d.NumPairs() {
		t.Errorf("transpose holds %d pairs, want %d", seen, d.NumPairs())
	}
}

func TestWeights_Order(t *testing.T) {
	w := DefaultWeights()
	v, c, p := w.Strength(Signal{Views: 1}), w.Strength(Signal{Chats: 1}), w.Strength(Signal{Purchases: 1})
	if !(v < c && c < p) {
		t.Errorf("strengths view %v chat %v purchase %v, want increasing", v, c, p)
	}
	if w.Strength(Signal{Views: 1, DwellSec: 600}) <= v {
		t.Error("dwell adds nothing")
	}
}

func TestSignal_CountsSaturate(t *testing.T) {
	s := Signal{Views: math.MaxUint16 - 1, DwellSec: math.MaxUint16 - 10}
	s.add(View, 100, 3_600_000) // an hour of dwell
	s.add(View, 50, 0)
	if s.Views != math.MaxUint16 || s.DwellSec != math.MaxUint16 || s.First != 50 || s.Last != 100 {
		t.Errorf("after adds: %+v, want views and dwell at 65535, first 50, last 100", s)
	}
	s.merge(Signal{Chats: 7, Purchases: math.MaxUint16, Views: 9, First: 20, Last: 300})
	if s.Views != math.MaxUint16 || s.Chats != 7 || s.Purchases != math.MaxUint16 || s.First != 20 || s.Last != 300 {
		t.Errorf("after merge: %+v", s)
	}
	if unsafe.Sizeof(Signal{}) != 16 {
		t.Errorf("Signal is %d bytes, want 16: a served model holds one per pair", unsafe.Sizeof(Signal{}))
	}
}
