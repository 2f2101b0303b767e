package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Inserter is what a Loader writes to.
type Inserter interface {
	Insert(ctx context.Context, rows store.Rows) error
}

// Loader lands messages in ClickHouse without Kafka, decoded and validated
// as the ingester decodes them, in batches inserted by two goroutines: for
// benchmarks, back-tests and tests that need data fast. Offsets are
// consecutive in partition 0. A message that does not decode is an error,
// not a dead letter: loaders are fed generated data.
type Loader struct {
	ctx       context.Context
	cancel    context.CancelFunc
	batchRows int
	decs      map[event.Kind]*RowDecoder
	offset    int64
	batches   chan store.Rows
	wg        sync.WaitGroup
	errOnce   sync.Once
	err       error
}

// NewLoader starts a loader inserting batches of batchRows rows into st.
func NewLoader(ctx context.Context, st Inserter, batchRows int) *Loader {
	ctx, cancel := context.WithCancel(ctx)
	l := &Loader{ctx: ctx, cancel: cancel, batchRows: batchRows, decs: map[event.Kind]*RowDecoder{}, batches: make(chan store.Rows, 2)}
	for range 2 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for r := range l.batches {
				r.SetIngestedAt(time.Now())
				if err := st.Insert(ctx, r); err != nil {
					l.fail(err)
				}
			}
		}()
	}
	return l
}

func (l *Loader) fail(err error) {
	l.errOnce.Do(func() { l.err = err; l.cancel() })
}

// Add decodes one message of kind into its batch, handing the batch to the
// inserters when it is full. It returns the first error of the load.
func (l *Loader) Add(kind event.Kind, value []byte) error {
	if err := l.ctx.Err(); err != nil {
		return l.failure(err)
	}
	d := l.decs[kind]
	if d == nil {
		d = NewRowDecoder(kind, event.Limits{})
		l.decs[kind] = d
	}
	if _, _, err := d.Decode(value); err != nil {
		err = fmt.Errorf("load %s: %w", kind, err)
		l.fail(err)
		return err
	}
	l.offset++
	d.Append(0, l.offset)
	if d.Rows().Len() >= l.batchRows {
		l.flush(kind)
	}
	return nil
}

func (l *Loader) flush(kind event.Kind) {
	d := l.decs[kind]
	if d == nil || d.Rows().Len() == 0 {
		return
	}
	select {
	case l.batches <- d.Rows():
	case <-l.ctx.Done():
	}
	l.decs[kind] = nil
}

func (l *Loader) failure(ctxErr error) error {
	if l.err != nil {
		return l.err
	}
	return ctxErr
}

// Close inserts what is left and waits for the inserts; it returns the
// first error of the load.
func (l *Loader) Close() error {
	for _, k := range event.Kinds {
		l.flush(k)
	}
	close(l.batches)
	l.wg.Wait()
	defer l.cancel()
	if l.err != nil {
		return l.err
	}
	return l.ctx.Err()
}
