package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func TestLoader_LandsEverythingOnceInBatches(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	l := ingest.NewLoader(ctx, st, 300) // 1,000 views: three full batches and a rest
	now := time.Now().UTC()
	for i := range 1000 {
		if err := l.Add(event.KindView, view(i, now).Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	n, u, err := st.Count(ctx, store.TableViews)
	if err != nil || n != 1000 || u != 1000 {
		t.Fatalf("views %d, unique %d, %v; want 1000", n, u, err)
	}
	wm, err := st.Watermarks(ctx, store.TableViews)
	if err != nil || wm[0] != 1000 {
		t.Errorf("watermark %v, %v: want offsets 1..1000 in partition 0", wm, err)
	}
}

func TestLoader_BadMessageAndFailedInsertAreErrors(t *testing.T) {
	st, _ := testenv.Store(t)
	l := ingest.NewLoader(context.Background(), st, 10)
	if err := l.Add(event.KindView, []byte(`{"event_id":"x"}`)); err == nil || !strings.Contains(err.Error(), "view") {
		t.Errorf("a malformed view: %v", err)
	}
	if err := l.Close(); err == nil {
		t.Error("Close after a bad message reported no error")
	}

	boom := errors.New("clickhouse on fire")
	l = ingest.NewLoader(context.Background(), failing{boom}, 1)
	_ = l.Add(event.KindView, view(1, time.Now()).Value)
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for err == nil && time.Now().Before(deadline) {
		err = l.Add(event.KindView, view(2, time.Now()).Value)
		time.Sleep(10 * time.Millisecond)
	}
	if cerr := l.Close(); !errors.Is(cerr, boom) || !errors.Is(err, boom) {
		t.Errorf("failed insert: Add %v, Close %v; want %v", err, cerr, boom)
	}
}

type failing struct{ err error }

func (f failing) Insert(context.Context, store.Rows) error { return f.err }
