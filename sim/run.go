package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vetrina/vetrina/event"
)

// Writer is where Run produces messages; *kafka.Writer satisfies it (leave
// its Topic unset: every message carries its own topic).
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Topics maps each message kind to its Kafka topic.
type Topics map[event.Kind]string

// DefaultTopics returns "vetrina.<plural kind>" for every kind, e.g.
// "vetrina.views".
func DefaultTopics() Topics {
	t := make(Topics, len(event.Kinds))
	for _, k := range event.Kinds {
		t[k] = "vetrina." + k.Plural()
	}
	return t
}

// RunConfig controls Run.
type RunConfig struct {
	// Count is the number of events (views, chats and purchases) to
	// produce, catalog and live messages excluded (0 = until ctx is done).
	Count int
	// Rate is the number of events per second of wall time (0 = as fast as
	// possible); live messages ride along unpaced.
	Rate float64
	// BatchSize is the number of messages per WriteMessages call (0 = 500).
	// With a Rate, stream batches are also capped at a tenth of a second's
	// worth of events so pacing stays smooth (the catalog is not paced).
	BatchSize int
	// Progress, if set, hears the events written after each batch, of
	// Count.
	Progress func(produced, count int)
}

const defaultBatchSize = 500

// Run writes w's catalog messages and then g's stream (events, and live
// messages as lives start and end) to out, in batches, paced at rc.Rate
// events per second. It returns the number of events produced (catalog and
// live messages are not counted) once rc.Count events are written.
// Cancelling ctx is a clean stop: Run returns the events written
// so far and a nil error (a batch interrupted by the cancellation is not
// counted, though g has moved past it). Any other write failure is
// returned, wrapped, with the count of events written before it. Kafka timestamps
// are left to the writer (wall-clock time), so that broker retention does
// not act on simulated times; the simulated time is in each value's ts.
// A nil logger discards logs.
func Run(ctx context.Context, w *World, g *Generator, out Writer, topics Topics, rc RunConfig, logger *slog.Logger) (produced int, err error) {
	if w == nil || g == nil || out == nil {
		return 0, errors.New("sim: run: nil world, generator or writer")
	}
	if g.w != w {
		return 0, errors.New("sim: run: generator does not belong to the world")
	}
	for _, k := range event.Kinds {
		if topics[k] == "" {
			return 0, fmt.Errorf("sim: run: no topic for %s messages", k)
		}
	}
	if rc.Count < 0 || rc.BatchSize < 0 || !finite(rc.Rate) || rc.Rate < 0 {
		return 0, fmt.Errorf("sim: run: invalid run config %+v", rc)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	catalogBatch := rc.BatchSize
	if catalogBatch == 0 {
		catalogBatch = defaultBatchSize
	}
	batch := catalogBatch
	if rc.Rate > 0 {
		batch = max(1, min(batch, int(rc.Rate/10)))
	}

	catalog := w.CatalogMessages(g.Now())
	logger.Info("sim: producing catalog", "messages", len(catalog))
	for i := 0; i < len(catalog); i += catalogBatch {
		part := catalog[i:min(i+catalogBatch, len(catalog))]
		if err := write(ctx, out, topics, part); err != nil {
			if ctx.Err() != nil {
				logger.Info("sim: stopped while producing the catalog", "cause", context.Cause(ctx))
				return 0, nil
			}
			return 0, fmt.Errorf("sim: produce catalog messages %d-%d: %w", i, i+len(part), err)
		}
	}

	logger.Info("sim: producing events", "count", rc.Count, "rate", rc.Rate, "batch", batch)
	began := time.Now()
	msgs := make([]Message, 0, batch)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	lastLog := began
	for rc.Count == 0 || produced < rc.Count {
		if err := ctx.Err(); err != nil {
			break
		}
		n := batch
		if rc.Count > 0 {
			n = min(n, rc.Count-produced)
		}
		if rc.Rate > 0 {
			// Token bucket with a burst of one batch: the batch may go once
			// the events before it are due.
			due := began.Add(time.Duration(float64(produced) / rc.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					timer.Stop()
					logger.Info("sim: stopped", "produced", produced, "cause", context.Cause(ctx))
					return produced, nil
				case <-timer.C:
				}
			}
		}
		msgs = msgs[:0]
		events := 0
		for events < n && len(msgs) < batch {
			m := g.Next()
			msgs = append(msgs, m)
			if m.Kind.IsEvent() {
				events++
			}
		}
		if err := write(ctx, out, topics, msgs); err != nil {
			if ctx.Err() != nil {
				break
			}
			return produced, fmt.Errorf("sim: produce events %d-%d: %w", produced, produced+events, err)
		}
		produced += events
		if rc.Progress != nil {
			rc.Progress(produced, rc.Count)
		}
		if now := time.Now(); now.Sub(lastLog) >= 10*time.Second {
			lastLog = now
			logger.Info("sim: progress", "produced", produced, "sim_time", g.Now(),
				"events_per_sec", float64(produced)/now.Sub(began).Seconds())
		}
	}
	elapsed := time.Since(began)
	logger.Info("sim: done", "produced", produced, "elapsed", elapsed, "sim_time", g.Now(),
		"events_per_sec", float64(produced)/max(elapsed.Seconds(), 1e-9), "cause", context.Cause(ctx))
	return produced, nil
}

// write converts msgs to Kafka messages (in a fresh slice, since an async
// writer may hold on to it) and writes them.
func write(ctx context.Context, out Writer, topics Topics, msgs []Message) error {
	km := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafka.Message{Topic: topics[m.Kind], Key: m.Key, Value: m.Value}
	}
	return out.WriteMessages(ctx, km...)
}
