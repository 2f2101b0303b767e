package ingest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/retry"
	"github.com/vetrina/vetrina/store"
)

// partitionConsumer lands one partition for the lifetime of a generation.
type partitionConsumer struct {
	in        *Ingester
	gen       *kafka.Generation
	topic     string
	kind      event.Kind
	partition int32
	committed int64 // from the group coordinator, < 0 if none

	table    store.Table
	wm, dlWM int64 // highest offset landed in the table and in dead_letters
	next     int64 // next offset to read
	rows     store.Rows
	dl       store.DeadLetterRows
	dec      *RowDecoder
	win      *window
	batchMax int64 // highest offset read into the current batch
	newest   time.Time
	first    time.Time // when the batch got its first message
	consumed interface{ Add(float64) }
	// highWater (set by the fetcher) and landed (the next offset not yet in
	// ClickHouse) give the lag, also while inserts are failing.
	highWater, landed atomic.Int64
	partLabel         string
	// buffered is the bytes of the messages in the batch (Ingester.buffered
	// holds the sum over partitions). The shared counters (that sum and the
	// consumed messages) are updated once per fetch, not per message: the
	// cores would otherwise pass their cache line back and forth at every
	// message; unshared and uncounted are what they still lack.
	buffered  int64
	unshared  int64
	uncounted int
	// lander inserts the batches of the topic's partitions together;
	// answered is its last call this partition answered.
	lander   *lander
	answered chan struct{}
	// released says how run gave the partition up, for the generation's
	// summary line.
	released release
}

// release is how a partition was given up.
type release int

const (
	releaseNone      release = iota // stopped before resuming
	releaseLanded                   // at a stop, its batch landed
	releaseAbandoned                // its batch did not land: read again by the next owner
	releaseRebalance                // at a rebalance, at once
)

// run consumes the partition until either ctx (the process) or gctx (the
// generation) ends.
func (pc *partitionConsumer) run(ctx, gctx context.Context) {
	in := pc.in
	defer pc.lander.partitions.Done()
	in.m.assigned.Inc()
	defer in.m.assigned.Dec()
	in.partitions.Add(1)
	defer in.partitions.Add(-1)
	// What was read and not landed is given back to the budget however
	// the partition ends.
	defer func() { pc.share(); in.buffered.Add(-pc.buffered) }()
	pc.partLabel = strconv.Itoa(int(pc.partition))
	log := in.log.With("topic", pc.topic, "partition", pc.partition)

	// Either end stops the partition.
	runCtx, cancel := context.WithCancel(gctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	// Landing outlives a process stop by up to FlushTimeout, so that an
	// insert in flight completes and what was read lands; a rebalance
	// stops it at once.
	landCtx, landCancel := context.WithCancel(gctx)
	defer landCancel()
	stopLand := context.AfterFunc(ctx, func() { time.AfterFunc(in.cfg.FlushTimeout, landCancel) })
	defer stopLand()

	if err := pc.resume(runCtx); err != nil {
		log.Debug("ingest: partition stopped before resuming", "err", err)
		return
	}
	log.Debug("ingest: partition assigned", "from_offset", pc.next, "table_watermark", pc.wm, "dead_letter_watermark", pc.dlWM)
	pc.lander.members.Add(1)
	defer pc.lander.members.Add(-1)

	chunks := make(chan fetched, 2)
	// Processed fetches go back to the fetcher for reuse: decoding copies
	// what it keeps, so nothing points into a fetch's memory afterwards.
	free := make(chan fetched, 2)
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		pc.fetch(runCtx, chunks, free)
	}()
	defer func() { cancel(); <-fetchDone; in.blocked.Delete(pc.partLabelFull()) }()

	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		call := pc.lander.calling()
		if call == pc.answered {
			call = nil // answered: wait for the next call
		}
		select {
		case c := <-chunks:
			for i := range c.msgs {
				pc.process(&c.msgs[i])
				if pc.pending() >= in.cfg.BatchRows || pc.overBudget() {
					if !pc.flush(landCtx) {
						return
					}
					linger.Stop()
				}
			}
			pc.share()
			pc.updateLag()
			select {
			case free <- c:
			default:
			}
			if pc.batchMax >= 0 && pc.first.IsZero() {
				pc.first = time.Now()
				linger.Reset(in.cfg.Linger)
			}
		case <-linger.C:
			if !pc.flush(landCtx) {
				return
			}
		case <-call:
			// The lander lands another partition's batch: this one's goes
			// with it, in the same insert.
			pc.answered = call
			rows := pc.rows.Len() > 0
			if pc.batchMax >= 0 {
				if !pc.flush(landCtx) {
					return
				}
				linger.Stop()
			}
			if !rows {
				pc.lander.pass(landCtx, pc, call)
			}
		case <-runCtx.Done():
			if ctx.Err() == nil {
				// The generation ended (a rebalance): give the partition
				// up at once, before the group's timeouts could hand it to
				// another member while we still write. What was read and
				// not landed is read again by the next owner.
				log.Debug("ingest: partition released for a rebalance", "abandoned_rows", pc.pending(), "next_offset", pc.wm+1)
				pc.released = releaseRebalance
				return
			}
			// The process is stopping: land what was read, within
			// FlushTimeout of the stop, unless a rebalance starts meanwhile.
			if pc.flush(landCtx) {
				log.Debug("ingest: partition released", "next_offset", pc.next)
				pc.released = releaseLanded
			} else {
				log.Warn("ingest: partition released with its batch abandoned; it will be read again", "from_offset", pc.wm+1)
				pc.released = releaseAbandoned
			}
			return
		}
	}
}

// resume reads the watermarks from ClickHouse, retrying until they are
// known or ctx ends.
func (pc *partitionConsumer) resume(ctx context.Context) error {
	in := pc.in
	pc.table = store.TableFor(pc.kind)
	pc.dec = NewRowDecoder(pc.kind, in.cfg.Limits)
	pc.rows = pc.dec.Rows()
	pc.batchMax = -1
	pc.consumed = in.m.consumed.WithLabelValues(pc.topic)
	err := retry.Do(ctx, minBackoff, maxBackoff, func() error {
		wms, err := in.st.Watermarks(ctx, pc.table)
		if err == nil {
			var dls map[int32]int64
			if dls, err = in.st.DeadLetterWatermarks(ctx, pc.topic); err == nil {
				pc.wm, pc.dlWM = wmOr(wms, pc.partition), wmOr(dls, pc.partition)
				if pc.kind.IsEvent() && in.cfg.DedupWindow > 0 {
					pc.win = newWindow(in.cfg.DedupWindow, in.seed)
					var ids []string
					if ids, err = in.st.RecentEventIDs(ctx, pc.table, pc.partition, pc.wm-int64(in.cfg.DedupWindow)); err == nil {
						for _, id := range ids {
							pc.win.seen(id)
						}
					}
				}
			}
		}
		in.setCHErr(err)
		return err
	})
	if err != nil {
		return err
	}
	// Resume after what ClickHouse holds; a committed offset beyond it
	// means the batches in between landed whole (possibly all dead
	// letters, which the table watermark does not show).
	pc.next = max(pc.wm+1, pc.committed)
	pc.landed.Store(pc.next)
	pc.highWater.Store(-1)
	return nil
}

func wmOr(m map[int32]int64, p int32) int64 {
	if v, ok := m[p]; ok {
		return v
	}
	return -1
}

func (pc *partitionConsumer) pending() int { return pc.rows.Len() + pc.dl.Len() }

// overBudget reports whether the partitions hold more than
// MaxBufferedBytes and this one at least half its share of it: then it
// inserts its batch now.
func (pc *partitionConsumer) overBudget() bool {
	in := pc.in
	if in.buffered.Load()+pc.unshared <= int64(in.cfg.MaxBufferedBytes) || pc.pending() == 0 {
		return false
	}
	share := int64(in.cfg.MaxBufferedBytes) / max(1, in.partitions.Load())
	return pc.buffered >= share/2
}

// maxArena is the largest a fetch's arena grows: twice the fetch size
// (compressed batches expand), but no more than an eighth of the
// partition's share of MaxBufferedBytes (a partition holds up to about
// five arenas: the one filling, two queued, two free), and at least 64 KiB.
func (pc *partitionConsumer) maxArena() int {
	in := pc.in
	share := in.cfg.MaxBufferedBytes / int(max(1, in.partitions.Load()))
	return max(64<<10, min(2*in.cfg.FetchBytes, share/8))
}

// share adds what the partition read since it last did to the shared
// counters.
func (pc *partitionConsumer) share() {
	if pc.uncounted == 0 {
		return
	}
	pc.in.buffered.Add(pc.unshared)
	pc.consumed.Add(float64(pc.uncounted))
	pc.unshared, pc.uncounted = 0, 0
}

// process decodes one message into the batch or the dead letters.
func (pc *partitionConsumer) process(msg *record) {
	if msg.offset < pc.next {
		return // already read: never twice into one batch
	}
	n := int64(len(msg.value))
	pc.buffered += n
	pc.unshared += n
	pc.uncounted++
	pc.batchMax = msg.offset
	pc.next = msg.offset + 1
	id, ts, err := pc.dec.Decode(msg.value)
	if err != nil {
		if msg.offset <= pc.dlWM {
			return // landed before a crash or rebalance
		}
		reason, detail := string(event.ReasonMalformed), err.Error()
		var de *event.Error
		if errors.As(err, &de) {
			reason = string(de.Reason)
		}
		pc.dl.Add(pc.topic, pc.partition, msg.offset, msg.value, reason, detail)
		pc.in.m.deadLetters.WithLabelValues(pc.topic, reason).Inc()
		return
	}
	if msg.offset <= pc.wm {
		return
	}
	if id != "" && pc.win.seen(id) {
		pc.in.m.duplicates.WithLabelValues(pc.topic).Inc()
		return
	}
	if ts.After(pc.newest) {
		pc.newest = ts
	}
	pc.dec.Append(pc.partition, msg.offset)
}

// flush lands the batch: dead letters first, then rows (through the
// lander, with the other partitions' batches), then commits the offset to
// Kafka. It retries ClickHouse until ctx ends (see insertRows). It reports
// whether the batch landed.
func (pc *partitionConsumer) flush(ctx context.Context) bool {
	in := pc.in
	pc.share()
	pc.first = time.Time{}
	if pc.batchMax < 0 {
		return true
	}
	if pc.dl.Len() > 0 {
		pc.dl.IngestedAt = time.Now()
		top := pc.dl.MaxOffset()
		if !insertRows(ctx, in, &pc.dl, func(ctx context.Context) (bool, error) {
			m, err := in.st.DeadLetterWatermarks(ctx, pc.topic)
			return wmOr(m, pc.partition) >= top, err
		}) {
			return false
		}
		pc.dlWM = top
		pc.dl.Reset()
	}
	next := pc.batchMax + 1
	committed := false
	if pc.rows.Len() > 0 {
		top := pc.rows.MaxOffset()
		call := pc.lander.calling()
		pc.answered = call
		if !pc.lander.land(ctx, pc, pc.rows, top, next, call) {
			return false
		}
		committed = true // by the lander, with the others'
		pc.wm = top
		pc.rows.Reset()
		if !pc.newest.IsZero() {
			in.m.freshness.WithLabelValues(pc.topic).Observe(time.Since(pc.newest).Seconds())
			in.m.lastEvent.WithLabelValues(pc.topic).Set(float64(pc.newest.Unix()))
		}
	}
	pc.newest = time.Time{}
	in.buffered.Add(-pc.buffered)
	pc.buffered = 0
	pc.batchMax = -1
	pc.landed.Store(next)
	pc.updateLag()
	if committed {
		return true
	}
	// The commit is a hint for other consumers and lag tools; the
	// watermarks in ClickHouse are the truth, so a failed commit loses
	// nothing.
	if err := pc.gen.CommitOffsets(map[string]map[int]int64{pc.topic: {int(pc.partition): next}}); err != nil {
		in.m.brokerErrors.Inc()
		in.log.Debug("ingest: commit offset", "topic", pc.topic, "partition", pc.partition, "err", err)
	}
	return true
}

// updateLag sets the lag gauge: messages in the partition not yet landed.
func (pc *partitionConsumer) updateLag() {
	if hw := pc.highWater.Load(); hw >= 0 {
		pc.in.m.lag.WithLabelValues(pc.topic, pc.partLabel).Set(float64(max(hw-pc.landed.Load(), 0)))
	}
}

func (pc *partitionConsumer) partLabelFull() string {
	return pc.topic + "/" + strconv.Itoa(int(pc.partition))
}
