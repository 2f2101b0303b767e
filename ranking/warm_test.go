package ranking

import (
	"reflect"
	"testing"
	"time"
)

func TestTouchPages_ReadsOneByteOfEveryPage(t *testing.T) {
	for _, offset := range []int{0, 1, 100} {
		b := make([]byte, 3*pageBytes+offset)
		s := b[offset:] // need not start on a page
		want := byte(0)
		for i := 0; i < len(s); i += pageBytes {
			s[i] = 1
			want++
		}
		s[len(s)-1] = 5
		want += 5
		if got := touchPages(s); got != want {
			t.Errorf("offset %d: touchPages summed %d, want %d", offset, got, want)
		}
	}
	if got := touchPages([]float64(nil)); got != 0 {
		t.Errorf("touchPages(nil) = %d", got)
	}
}

func TestWarm_ServesTheSameFeed(t *testing.T) {
	s := newShop(t, 400, 40, 1)
	m := trainShop(t, s)
	r := newTestRanker(m, time.Unix(m.Reference, 0)) // SetModel warms
	before, err := r.Feed(t.Context(), FeedRequest{UserID: 8})
	if err != nil {
		t.Fatal(err)
	}
	m.Warm() // read-only: a second warm changes nothing
	after, err := r.Feed(t.Context(), FeedRequest{UserID: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("feed changed after Warm:\n%+v\n%+v", before, after)
	}
}
