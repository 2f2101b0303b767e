package ingest

import (
	"fmt"
	"testing"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// TestRowDecoder_BatchOutlivesTheMessageBuffer: the decoder borrows the
// message's strings, so the batch must hold copies: fetch buffers are
// reused for the next messages long before the batch is inserted.
func TestRowDecoder_BatchOutlivesTheMessageBuffer(t *testing.T) {
	d := NewRowDecoder(event.KindView, event.Limits{})
	buf := make([]byte, 0, 512)
	for i := range 3 {
		buf = fmt.Appendf(buf[:0], `{"event_id":"view-%d","ts":"2026-05-01T10:00:00Z","user_id":%d,"product_id":7,"surface":"feed"}`, i, i+1)
		id, _, err := d.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("view-%d", i); id != want {
			t.Fatalf("Decode id %q, want %q", id, want)
		}
		d.Append(0, int64(i))
	}
	for i := range 40 { // the buffer overwritten, as a reused fetch buffer is
		buf[i] = 'Z'
	}
	rows := d.Rows().(*store.ViewRows)
	for i := range 3 {
		if got, want := rows.EventID(i), fmt.Sprintf("view-%d", i); got != want {
			t.Errorf("row %d: event_id %q after the buffer was reused, want %q", i, got, want)
		}
	}
}
