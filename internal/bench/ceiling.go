package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

func worldConfig(seed int64) sim.Config {
	c := sim.DefaultConfig()
	c.Seed = seed
	return c
}

func openDB(ctx context.Context, addr, db, compression string) (*store.Store, error) {
	st, err := store.Open(store.Config{Addr: addr, Database: db, Compression: compression})
	if err != nil {
		return nil, err
	}
	if err := st.DropDatabase(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// prebuild regenerates the same events (same seed and start) and decodes
// them into batches of the configured size.
func prebuild(w *sim.World, cfg Config, simStart time.Time) ([]store.Rows, int, error) {
	batchRows := cfg.BatchRows
	if batchRows <= 0 {
		batchRows = 100_000
	}
	g := sim.NewGenerator(w, cfg.Seed, simStart)
	decs := map[event.Kind]*ingest.RowDecoder{}
	var out []store.Rows
	rows := 0
	for i := 0; i < cfg.Events; i++ {
		m := g.Next()
		d := decs[m.Kind]
		if d == nil {
			d = ingest.NewRowDecoder(m.Kind, event.Limits{})
			decs[m.Kind] = d
		}
		if _, _, err := d.Decode(m.Value); err != nil {
			return nil, 0, fmt.Errorf("decode generated %s: %w", m.Kind, err)
		}
		d.Append(0, int64(i))
		rows++
		if d.Rows().Len() >= batchRows {
			out = append(out, d.Rows())
			decs[m.Kind] = nil
		}
	}
	for _, d := range decs {
		if d != nil && d.Rows().Len() > 0 {
			out = append(out, d.Rows())
		}
	}
	return out, rows, nil
}

func insertAll(ctx context.Context, st *store.Store, batches []store.Rows, workers int) error {
	ch := make(chan store.Rows)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range ch {
				r.SetIngestedAt(time.Now())
				if err := st.Insert(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for _, r := range batches {
		select {
		case ch <- r:
		case err = <-errs:
			break loop
		}
	}
	close(ch)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// settle waits until ClickHouse has no merges running, so that one phase's
// background work does not slow the next phase down.
func settle(ctx context.Context, st *store.Store) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		n, err := st.RunningMerges(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
