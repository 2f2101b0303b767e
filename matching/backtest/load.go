package backtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// batchRows is the number of rows per insert.
const batchRows = 200_000

// load writes the world's catalog and n events of g (plus the lives'
// catalog messages) into st, decoded as the ingester decodes them, and
// returns the number of events written.
func load(ctx context.Context, st *store.Store, w *sim.World, g *sim.Generator, n int, log *slog.Logger) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan store.Rows, 2)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		loadErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { loadErr = err; cancel() })
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range batches {
				r.SetIngestedAt(time.Now())
				if err := st.Insert(ctx, r); err != nil {
					fail(err)
				}
			}
		}()
	}
	decs := map[event.Kind]*ingest.RowDecoder{}
	offset := int64(0)
	flush := func(k event.Kind) {
		d := decs[k]
		if d == nil || d.Rows().Len() == 0 {
			return
		}
		select {
		case batches <- d.Rows():
		case <-ctx.Done():
		}
		decs[k] = nil
	}
	push := func(m sim.Message) error {
		d := decs[m.Kind]
		if d == nil {
			d = ingest.NewRowDecoder(m.Kind, event.Limits{})
			decs[m.Kind] = d
		}
		if _, _, err := d.Decode(m.Value); err != nil {
			return fmt.Errorf("decode generated %s: %w", m.Kind, err)
		}
		offset++
		d.Append(0, offset)
		if d.Rows().Len() >= batchRows {
			flush(m.Kind)
		}
		return nil
	}
	var err error
	for _, m := range w.CatalogMessages(g.Now()) {
		if err = push(m); err != nil {
			break
		}
	}
	produced := 0
	for err == nil && produced < n && ctx.Err() == nil {
		m := g.Next()
		if m.Kind.IsEvent() {
			produced++ // the lives' messages land too, but n counts events
		}
		err = push(m)
		if produced%1_000_000 == 0 && m.Kind.IsEvent() {
			log.Info("backtest: loading", "events", produced, "sim_time", m.Time.Format(time.RFC3339))
		}
	}
	if err == nil {
		for _, k := range event.Kinds {
			flush(k)
		}
	}
	close(batches)
	wg.Wait()
	if err != nil {
		return produced, err
	}
	if loadErr != nil {
		return produced, loadErr
	}
	return produced, ctx.Err()
}
