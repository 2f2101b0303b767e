package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/internal/retry"
	"github.com/vetrina/vetrina/store"
)

// gatherFor bounds how long a lander waits for the other partitions of
// its topic to answer a call before it inserts what it has.
const gatherFor = 50 * time.Millisecond

// lander lands the batches of one topic's partitions of one generation
// together: one INSERT (one part) for all of them instead of one per
// partition. Small inserts cost ClickHouse far more per row (a part each,
// then merges), and the memory bound splits the batch budget between the
// partitions, so per-partition inserts shrink as partitions are added.
//
// When a partition's batch is due (full, lingered, over budget), it hands
// the batch to the lander and waits. The lander then calls the topic's
// other partitions: each hands over what it holds, or answers that it
// holds nothing, and the lander inserts the batches handed over (up to
// BatchRows rows; the rest go in the next insert) in one statement,
// commits their offsets in one request and tells each partition whether
// its batch landed. Exactly once is unchanged: every
// row keeps its partition and offset and the insert is all or nothing,
// so each partition's watermark in ClickHouse stays exact; a partition's
// dead letters are inserted by the partition before it hands over its
// rows; and the lander belongs to one generation, whose end stops it.
type lander struct {
	in    *Ingester
	gen   *kafka.Generation
	topic string
	table store.Table
	reqs  chan *landing
	// members is the number of the topic's partitions taking part in
	// calls (registered once resumed).
	members atomic.Int32
	// partitions counts the partitions of the topic still running: the
	// lander stops after the last.
	partitions sync.WaitGroup

	mu   sync.Mutex
	call chan struct{} // closed when the lander calls for batches
}

// landing is a partition's answer to a call, or its batch when due.
type landing struct {
	pc        *partitionConsumer
	rows      store.Rows // nil: nothing to land in answer to call
	call      chan struct{}
	top, next int64 // the batch's highest row offset; the offset to commit
	done      chan bool
}

func newLander(in *Ingester, gen *kafka.Generation, topic string, table store.Table, partitions int) *lander {
	// A partition has at most a batch and an answer to a call queued.
	l := &lander{in: in, gen: gen, topic: topic, table: table, reqs: make(chan *landing, 2*partitions), call: make(chan struct{})}
	l.partitions.Add(partitions)
	return l
}

// calling returns the channel closed by the lander's next (or current)
// call for batches.
func (l *lander) calling() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.call
}

// land hands rows (whose highest offset is top) to the lander and waits
// until they landed, and next was committed, or failed to: it reports
// whether they landed. ctx ending abandons the wait.
func (l *lander) land(ctx context.Context, pc *partitionConsumer, rows store.Rows, top, next int64, call chan struct{}) bool {
	r := &landing{pc: pc, rows: rows, call: call, top: top, next: next, done: make(chan bool, 1)}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return false
	}
	select {
	case ok := <-r.done:
		return ok
	case <-ctx.Done():
		return false
	}
}

// pass answers call with nothing to land.
func (l *lander) pass(ctx context.Context, pc *partitionConsumer, call chan struct{}) {
	select {
	case l.reqs <- &landing{pc: pc, call: call}:
	case <-ctx.Done():
	}
}

// run lands batches until the topic's partitions have all stopped or ctx
// ends.
func (l *lander) run(ctx context.Context) {
	finished := make(chan struct{})
	go func() { l.partitions.Wait(); close(finished) }()
	var round []*landing
	var carry *landing // a batch that did not fit the last round: the next one's first
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, carried := carry, carry != nil
		carry = nil
		if first == nil {
			select {
			case first = <-l.reqs:
			case <-finished:
				return
			case <-ctx.Done():
				return
			}
		}
		if first.rows == nil {
			continue // a late answer to a call already over
		}
		round = append(round[:0], first)
		rows := first.rows.Len()
		// add puts r in the round unless the round is full (one insert
		// holds BatchRows rows at most): then r is the next round's first.
		add := func(r *landing) bool {
			if rows+r.rows.Len() > l.in.cfg.BatchRows {
				carry = r
				return false
			}
			round = append(round, r)
			rows += r.rows.Len()
			return true
		}
		if carried {
			// The rest of the last call's answers: only what is queued,
			// without a new call (the partitions have just handed over).
		drain:
			for {
				select {
				case r := <-l.reqs:
					if r.rows != nil && !add(r) {
						break drain
					}
				default:
					break drain
				}
			}
		} else {
			// Call the others and gather their answers, for gatherFor at
			// most.
			l.mu.Lock()
			call := l.call
			close(call)
			l.mu.Unlock()
			answered := map[*partitionConsumer]bool{first.pc: true}
			timer.Reset(gatherFor)
		gather:
			for len(answered) < int(l.members.Load()) {
				select {
				case r := <-l.reqs:
					switch {
					case r.rows != nil:
						if !add(r) {
							break gather
						}
						answered[r.pc] = true
					case r.call == call:
						answered[r.pc] = true
					}
				case <-timer.C:
					break gather
				case <-ctx.Done():
					break gather
				}
			}
			timer.Stop()
			l.mu.Lock()
			l.call = make(chan struct{})
			l.mu.Unlock()
		}
		ok := l.insert(ctx, round)
		for _, r := range round {
			r.done <- ok
		}
		clear(round)
	}
}

// insert lands the round's batches in one INSERT, retrying until ctx
// ends, then commits their offsets; it reports whether they landed.
func (l *lander) insert(ctx context.Context, round []*landing) bool {
	in := l.in
	batches := make(store.Batches, len(round))
	for i, r := range round {
		batches[i] = r.rows
	}
	batches.SetIngestedAt(time.Now())
	ok := insertRows(ctx, in, batches, func(ctx context.Context) (bool, error) {
		wms, err := in.st.Watermarks(ctx, l.table)
		if err != nil {
			return false, err
		}
		// One INSERT is all or nothing: if one partition's rows are
		// there, all are.
		for _, r := range round {
			if wmOr(wms, r.pc.partition) >= r.top {
				return true, nil
			}
		}
		return false, nil
	})
	if !ok {
		return false
	}
	// The commit is a hint for other consumers and lag tools; the
	// watermarks in ClickHouse are the truth, so a failed commit loses
	// nothing.
	offsets := make(map[int]int64, len(round))
	for _, r := range round {
		offsets[int(r.pc.partition)] = r.next
	}
	if err := l.gen.CommitOffsets(map[string]map[int]int64{l.topic: offsets}); err != nil {
		in.m.brokerErrors.Inc()
		in.log.Debug("ingest: commit offsets", "topic", l.topic, "partitions", len(offsets), "err", err)
	}
	return true
}

// insertRows inserts rows, retrying until ctx ends. After a failed insert
// it asks landed whether the insert landed anyway (a timeout can hide a
// success) before trying again, unless the store stores a retried batch
// once (then it tries again as it is). It reports whether rows landed.
func insertRows(ctx context.Context, in *Ingester, rows store.Rows, landed func(context.Context) (bool, error)) bool {
	table := rows.Table().Name()
	first := true
	// A store that stores a retried batch once (replicated ClickHouse)
	// gets the batch again as it was, unchecked: see
	// store.Store.DeduplicatesRetries.
	dedup := false
	if d, ok := in.st.(interface{ DeduplicatesRetries() bool }); ok {
		dedup = d.DeduplicatesRetries()
	}
	err := retry.Do(ctx, minBackoff, maxBackoff, func() error {
		if !first && !dedup {
			// Did the failed attempt land after all?
			ok, err := landed(ctx)
			if err != nil {
				in.setCHErr(err)
				return err
			}
			if ok {
				return nil
			}
		}
		first = false
		start := time.Now()
		err := in.st.Insert(ctx, rows)
		in.setCHErr(err)
		if err != nil {
			in.log.Warn("ingest: insert failed; retrying", "table", table, "rows", rows.Len(), "err", err)
			return err
		}
		in.m.insertSecs.WithLabelValues(table).Observe(time.Since(start).Seconds())
		in.m.batchRows.WithLabelValues(table).Observe(float64(rows.Len()))
		in.m.inserted.WithLabelValues(table).Add(float64(rows.Len()))
		if in.cfg.AfterInsert != nil {
			in.cfg.AfterInsert()
		}
		return nil
	})
	return err == nil
}
