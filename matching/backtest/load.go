package backtest

import (
	"context"
	"log/slog"
	"time"

	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// batchRows is the number of rows per insert.
const batchRows = 200_000

// load writes the world's catalog and n events of g (plus the lives'
// catalog messages) into st, decoded as the ingester decodes them, and
// returns the number of events written.
func load(ctx context.Context, st *store.Store, w *sim.World, g *sim.Generator, n int, log *slog.Logger, progress func(step string, done, total int)) (int, error) {
	const step = "simulate and write the events"
	l := ingest.NewLoader(ctx, st, batchRows)
	var err error
	for _, m := range w.CatalogMessages(g.Now()) {
		if err = l.Add(m.Kind, m.Value); err != nil {
			break
		}
	}
	produced := 0
	progress(step, 0, n)
	for err == nil && produced < n {
		m := g.Next()
		if m.Kind.IsEvent() {
			produced++ // the lives' messages land too, but n counts events
		}
		err = l.Add(m.Kind, m.Value)
		if produced%100_000 == 0 && m.Kind.IsEvent() {
			progress(step, produced, n)
			if produced%1_000_000 == 0 {
				log.Debug("backtest: loading", "events", produced, "sim_time", m.Time.Format(time.RFC3339))
			}
		}
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return produced, err
}
