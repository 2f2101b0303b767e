// Package ingest moves messages from the Kafka topics into ClickHouse, each
// exactly once as readers of the tables see it.
//
// One consumer group owns the topics; for every partition it is assigned the
// ingester reads with its own fetcher, decodes and validates each message
// (package event), and lands batches through the store. Exactly once rests on
// three facts:
//   - every row keeps its Kafka partition and offset, and each insert is one
//     ClickHouse part (atomic), so max(kafka_offset) per partition tells what
//     has landed: on assignment the ingester resumes after it, whatever Kafka's
//     committed offset says (a committed offset only ever skips ahead over
//     batches that landed whole);
//   - dead letters of a batch are inserted before its events, and a rejected
//     message is only written if its offset is above the dead-letter
//     watermark, so a crash between the two inserts loses and doubles nothing;
//   - a partition is only read by the member of the current generation:
//     kafka-go's Generation waits for the partition goroutines to return
//     (they finish or abandon their batch) before the member rejoins.
//
// A producer that sends the same event_id twice within the last
// Config.DedupWindow events of a partition is stored once.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Store is what the ingester needs from ClickHouse.
type Store interface {
	Insert(ctx context.Context, rows store.Rows) error
	Watermarks(ctx context.Context, table store.Table) (map[int32]int64, error)
	DeadLetterWatermarks(ctx context.Context, topic string) (map[int32]int64, error)
	RecentEventIDs(ctx context.Context, table store.Table, partition int32, after int64) ([]string, error)
}

// Topics maps each kind of message to its topic.
type Topics map[event.Kind]string

// DefaultTopics returns vetrina.views, vetrina.chats, ... for every kind.
func DefaultTopics() Topics {
	t := Topics{}
	for _, k := range event.Kinds {
		t[k] = "vetrina." + k.Plural()
	}
	return t
}

// Config configures an Ingester.
type Config struct {
	Brokers      []string
	GroupID      string        // default "vetrina-ingest"
	Topics       Topics        // default DefaultTopics()
	BatchRows    int           // flush a partition's batch at this many rows; default 100000
	Linger       time.Duration // flush a non-empty batch this long after its first row; default 250ms
	DedupWindow  int           // event ids remembered per partition; default 65536; negative disables
	FetchBytes   int           // max bytes per fetch; default 1 MiB
	FlushTimeout time.Duration // time allowed to land the in-flight batch at shutdown; default 20s
	// SessionTimeout is how long the group waits for a silent member
	// (e.g. a crashed ingester) before giving its partitions to others;
	// default 10s.
	SessionTimeout time.Duration
	// AfterInsert, if set, is called after every successful insert and
	// before the offset commit: a failpoint for crash tests.
	AfterInsert func()
	Limits      event.Limits
	Logger      *slog.Logger
}

func (c *Config) defaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("ingest: no brokers configured")
	}
	if c.GroupID == "" {
		c.GroupID = "vetrina-ingest"
	}
	if c.Topics == nil {
		c.Topics = DefaultTopics()
	}
	for _, k := range event.Kinds {
		if c.Topics[k] == "" {
			return fmt.Errorf("ingest: no topic configured for %s", k.Plural())
		}
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 100_000
	}
	if c.Linger <= 0 {
		c.Linger = 250 * time.Millisecond
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = 1 << 16
	}
	if c.FetchBytes <= 0 {
		c.FetchBytes = 1 << 20
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 20 * time.Second
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Ingester consumes the topics into the store.
type Ingester struct {
	cfg     Config
	st      Store
	m       *Metrics
	log     *slog.Logger
	kinds   map[string]event.Kind
	seed    maphash.Seed
	dialer  *kafka.Dialer
	joined  atomic.Bool
	brokerE atomic.Pointer[string]
	chE     atomic.Pointer[string]
	// blocked holds partitions that refuse to go on, by "topic/partition",
	// with the reason: an operator must look at them.
	blocked sync.Map
}

// New validates cfg and returns an Ingester; Run starts it.
func New(cfg Config, st Store, m *Metrics) (*Ingester, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	kinds := map[string]event.Kind{}
	for k, t := range cfg.Topics {
		if _, dup := kinds[t]; dup {
			return nil, fmt.Errorf("ingest: topic %s configured for two kinds", t)
		}
		kinds[t] = k
	}
	return &Ingester{
		cfg: cfg, st: st, m: m, log: cfg.Logger, kinds: kinds, seed: maphash.MakeSeed(),
		dialer: &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true},
	}, nil
}

// Ready returns nil when the ingester is in a consumer generation and its
// last broker and ClickHouse operations succeeded; otherwise why not.
func (in *Ingester) Ready() error {
	var blocked error
	in.blocked.Range(func(_, reason any) bool {
		blocked = errors.New(reason.(string))
		return false
	})
	if blocked != nil {
		return blocked
	}
	if e := in.brokerE.Load(); e != nil {
		return errors.New("kafka: " + *e)
	}
	if e := in.chE.Load(); e != nil {
		return errors.New("clickhouse: " + *e)
	}
	if !in.joined.Load() {
		return errors.New("kafka: not yet in a consumer group generation")
	}
	return nil
}

func (in *Ingester) setBrokerErr(err error) {
	if err == nil {
		in.brokerE.Store(nil)
		return
	}
	s := err.Error()
	in.brokerE.Store(&s)
	in.m.brokerErrors.Inc()
}

func (in *Ingester) setCHErr(err error) {
	if err == nil {
		if in.chE.Load() != nil {
			in.chE.Store(nil)
		}
		return
	}
	s := err.Error()
	in.chE.Store(&s)
	in.m.chErrors.WithLabelValues(store.ErrorCode(err)).Inc()
}

// Run consumes until ctx is done, then lands or abandons the in-flight
// batches (nothing is lost either way), leaves the group and returns nil.
func (in *Ingester) Run(ctx context.Context) error {
	topics := make([]string, 0, len(in.cfg.Topics))
	for _, k := range event.Kinds {
		topics = append(topics, in.cfg.Topics[k])
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     in.cfg.GroupID,
		Brokers:                in.cfg.Brokers,
		Dialer:                 in.dialer,
		Topics:                 topics,
		GroupBalancers:         []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		StartOffset:            kafka.FirstOffset,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		HeartbeatInterval:      min(time.Second, in.cfg.SessionTimeout/5),
		SessionTimeout:         in.cfg.SessionTimeout,
		// Members give partitions up at once on a rebalance, so the group
		// need not wait long for them.
		RebalanceTimeout: 2 * in.cfg.SessionTimeout,
		JoinGroupBackoff: time.Second,
		Timeout:          10 * time.Second,
		ErrorLogger:      kafka.LoggerFunc(func(f string, a ...any) { in.log.Debug("kafka-go", "msg", fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return fmt.Errorf("ingest: consumer group %s: %w", in.cfg.GroupID, err)
	}
	defer group.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			in.joined.Store(false)
			in.setBrokerErr(err)
			in.log.Warn("ingest: join consumer group", "group", in.cfg.GroupID, "err", err)
			continue
		}
		in.setBrokerErr(nil)
		in.joined.Store(true)
		n := 0
		for _, parts := range gen.Assignments {
			n += len(parts)
		}
		// The generation ends as soon as one of its functions returns: at
		// a stop, each partition waits for the others' last batches to
		// land before it returns, so that the first idle one does not cut
		// the others' landing short.
		var landing sync.WaitGroup
		landing.Add(n)
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				pc := &partitionConsumer{in: in, gen: gen, topic: topic, kind: in.kinds[topic], partition: int32(p.ID), committed: p.Offset}
				wg.Add(1)
				gen.Start(func(gctx context.Context) {
					defer wg.Done()
					defer func() {
						landing.Done()
						if ctx.Err() != nil {
							landing.Wait()
						}
					}()
					pc.run(ctx, gctx)
				})
			}
		}
		in.log.Info("ingest: joined generation", "group", in.cfg.GroupID, "generation", gen.ID, "partitions", n)
	}
}

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
}

// run consumes the partition until either ctx (the process) or gctx (the
// generation) ends.
func (pc *partitionConsumer) run(ctx, gctx context.Context) {
	in := pc.in
	in.m.assigned.Inc()
	defer in.m.assigned.Dec()
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
	log.Info("ingest: partition assigned", "from_offset", pc.next, "table_watermark", pc.wm, "dead_letter_watermark", pc.dlWM)

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
		select {
		case c := <-chunks:
			for i := range c.msgs {
				pc.process(&c.msgs[i])
				if pc.pending() >= in.cfg.BatchRows {
					if !pc.flush(landCtx) {
						return
					}
					linger.Stop()
				}
			}
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
		case <-runCtx.Done():
			if ctx.Err() == nil {
				// The generation ended (a rebalance): give the partition
				// up at once, before the group's timeouts could hand it to
				// another member while we still write. What was read and
				// not landed is read again by the next owner.
				log.Info("ingest: partition released for a rebalance", "abandoned_rows", pc.pending(), "next_offset", pc.wm+1)
				return
			}
			// The process is stopping: land what was read, within
			// FlushTimeout of the stop, unless a rebalance starts meanwhile.
			if pc.flush(landCtx) {
				log.Info("ingest: partition released", "next_offset", pc.next)
			} else {
				log.Warn("ingest: partition released with its batch abandoned; it will be read again", "from_offset", pc.wm+1)
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
	err := retry(ctx, func() error {
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

// retry calls f until it succeeds or ctx ends, backing off from 100ms to 10s.
func retry(ctx context.Context, f func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func (pc *partitionConsumer) pending() int { return pc.rows.Len() + pc.dl.Len() }

// process decodes one message into the batch or the dead letters.
func (pc *partitionConsumer) process(msg *record) {
	if msg.offset < pc.next {
		return // already read: never twice into one batch
	}
	pc.consumed.Add(1)
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

// flush lands the batch: dead letters first, then rows, then commits the
// offset to Kafka. It retries ClickHouse until ctx ends; after a failed
// insert it asks ClickHouse whether the insert landed anyway (a timeout can
// hide a success) before trying again. It reports whether the batch landed.
func (pc *partitionConsumer) flush(ctx context.Context) bool {
	in := pc.in
	pc.first = time.Time{}
	if pc.batchMax < 0 {
		return true
	}
	now := time.Now()
	if pc.dl.Len() > 0 {
		pc.dl.IngestedAt = now
		top := pc.dl.MaxOffset()
		if !pc.insert(ctx, &pc.dl, top, func(ctx context.Context) (int64, error) {
			m, err := in.st.DeadLetterWatermarks(ctx, pc.topic)
			return wmOr(m, pc.partition), err
		}) {
			return false
		}
		pc.dlWM = top
		pc.dl.Reset()
	}
	if n := pc.rows.Len(); n > 0 {
		top := pc.rows.MaxOffset()
		pc.rows.SetIngestedAt(now)
		if !pc.insert(ctx, pc.rows, top, func(ctx context.Context) (int64, error) {
			m, err := in.st.Watermarks(ctx, pc.table)
			return wmOr(m, pc.partition), err
		}) {
			return false
		}
		pc.wm = top
		pc.rows.Reset()
		if !pc.newest.IsZero() {
			in.m.freshness.WithLabelValues(pc.topic).Observe(time.Since(pc.newest).Seconds())
			in.m.lastEvent.WithLabelValues(pc.topic).Set(float64(pc.newest.Unix()))
		}
	}
	pc.newest = time.Time{}
	next := pc.batchMax + 1
	pc.batchMax = -1
	pc.landed.Store(next)
	pc.updateLag()
	// The commit is a hint for other consumers and lag tools; the
	// watermarks in ClickHouse are the truth, so a failed commit loses
	// nothing.
	if err := pc.gen.CommitOffsets(map[string]map[int]int64{pc.topic: {int(pc.partition): next}}); err != nil {
		in.m.brokerErrors.Inc()
		in.log.Debug("ingest: commit offset", "topic", pc.topic, "partition", pc.partition, "err", err)
	}
	return true
}

func (pc *partitionConsumer) insert(ctx context.Context, rows store.Rows, top int64, watermark func(context.Context) (int64, error)) bool {
	in := pc.in
	table := rows.Table().Name()
	first := true
	err := retry(ctx, func() error {
		if !first {
			// Did the failed attempt land after all?
			wm, err := watermark(ctx)
			if err != nil {
				in.setCHErr(err)
				return err
			}
			if wm >= top {
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

// fetched is one fetch response: messages in offset order and the
// partition's high watermark (-1 if unknown).
type fetched struct {
	msgs      []record
	arena     []byte // the values of msgs point into it
	highWater int64
}

// record is the part of a Kafka message the ingester keeps.
type record struct {
	offset int64
	value  []byte
}

// fetch reads the partition from pc.next on, one fetch request at a time,
// and hands each response to out. The channel is small, so a stalled
// insert stops fetching: memory stays bounded by a few fetches.
func (pc *partitionConsumer) fetch(ctx context.Context, out chan<- fetched, free <-chan fetched) {
	in := pc.in
	offset := pc.next
	var conn *kafka.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	wait := 100 * time.Millisecond
	arenaSize := 64 << 10
	failures := 0
	backoff := func(err error) {
		in.setBrokerErr(err)
		if failures++; failures >= 5 {
			in.blocked.Store(pc.partLabelFull(), err.Error())
		}
		in.log.Warn("ingest: fetch failed; retrying", "topic", pc.topic, "partition", pc.partition, "err", err)
		if conn != nil {
			conn.Close()
			conn = nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(wait*2, 10*time.Second)
	}
	for ctx.Err() == nil {
		if conn == nil {
			c, err := pc.dialLeader(ctx)
			if err != nil {
				backoff(err)
				continue
			}
			// Where does the partition start and end now? Messages below
			// its start expired before they landed: say so and go on. An
			// end below what ClickHouse holds means the topic was
			// recreated or the broker lost its log: reading on would
			// skip every new message up to that point, so refuse, not
			// ready, until an operator decides.
			first, last, err := c.ReadOffsets()
			if err != nil {
				c.Close()
				backoff(fmt.Errorf("read offsets of %s/%d: %w", pc.topic, pc.partition, err))
				continue
			}
			if offset > last {
				c.Close()
				err := fmt.Errorf("partition %s/%d ends at offset %d but ClickHouse already holds offsets up to %d: was the topic recreated? refusing to skip messages", pc.topic, pc.partition, last, offset-1)
				in.blocked.Store(pc.partLabelFull(), err.Error())
				backoff(err)
				continue
			}
			if offset < first {
				in.log.Error("ingest: messages expired from Kafka before landing", "topic", pc.topic, "partition", pc.partition, "from", offset, "to", first-1)
				offset = first
			}
			if _, err := c.Seek(offset, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
				c.Close()
				backoff(fmt.Errorf("seek %s/%d to %d: %w", pc.topic, pc.partition, offset, err))
				continue
			}
			conn = c
		}
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: in.cfg.FetchBytes, MaxWait: 500 * time.Millisecond})
		// Values are read into one arena per fetch rather than one
		// allocation per message, and arenas are recycled. An arena that
		// fills up ends the fetch there (the next one resumes at the first
		// unread message) and grows, up to twice the fetch size (compressed
		// batches expand), so memory per partition stays bounded.
		var c fetched
		select {
		case c = <-free:
		default:
		}
		msgs := c.msgs[:0]
		arena := c.arena[:0]
		if cap(arena) < arenaSize {
			arena = make([]byte, 0, arenaSize)
		}
		for {
			n, err := batch.Read(arena[len(arena):cap(arena)])
			if err != nil {
				if errors.Is(err, io.ErrShortBuffer) {
					// Grow for next time: busy partitions get big arenas,
					// idle ones keep small ones.
					arenaSize = min(max(2*arenaSize, n), max(2*in.cfg.FetchBytes, n))
				}
				break
			}
			// A fetch from the middle of a record batch returns the whole
			// batch, and kafka-go hands back its records before the
			// requested offset too: skip them, they were read before.
			if at := batch.Offset() - 1; at >= offset {
				v := arena[len(arena) : len(arena)+n : len(arena)+n]
				arena = arena[:len(arena)+n]
				msgs = append(msgs, record{offset: at, value: v})
			}
		}
		hw := batch.HighWaterMark()
		if hw >= 0 {
			pc.highWater.Store(hw)
			pc.updateLag()
		}
		err := batch.Close()
		if len(msgs) > 0 {
			offset = msgs[len(msgs)-1].offset + 1
		}
		if len(msgs) > 0 || hw >= 0 {
			select {
			case out <- fetched{msgs: msgs, arena: arena, highWater: hw}:
			case <-ctx.Done():
				return
			}
		}
		switch {
		case err == nil || errors.Is(err, kafka.RequestTimedOut) || errors.Is(err, io.ErrShortBuffer):
			failures = 0
			in.blocked.Delete(pc.partLabelFull())
			// Some brokers answer a long poll that found nothing with
			// RequestTimedOut: that is an empty fetch, not a failure.
			wait = 100 * time.Millisecond
			if in.brokerE.Load() != nil {
				in.setBrokerErr(nil)
			}
		case errors.Is(err, kafka.OffsetOutOfRange):
			first, last, oerr := conn.ReadOffsets()
			if oerr != nil {
				backoff(oerr)
				continue
			}
			if offset < first {
				// Retention deleted messages before they landed: nothing
				// can bring them back; say so loudly and go on.
				in.log.Error("ingest: messages expired from Kafka before landing", "topic", pc.topic, "partition", pc.partition, "from", offset, "to", first-1)
				offset = first
				conn.Close()
				conn = nil
			} else if offset > last {
				// ClickHouse holds offsets the partition never reached: the
				// topic was recreated or the broker lost its log. Reading on
				// would skip every new message up to what ClickHouse holds, so
				// stop here, not ready, until an operator decides (see the
				// README) rather than lose data quietly.
				err := fmt.Errorf("partition %s/%d ends at offset %d but ClickHouse already holds offsets up to %d: was the topic recreated? refusing to skip messages", pc.topic, pc.partition, last, offset-1)
				in.blocked.Store(pc.partLabelFull(), err.Error())
				backoff(err)
			} else {
				backoff(fmt.Errorf("fetch %s/%d at %d: %w", pc.topic, pc.partition, offset, err))
			}
		case ctx.Err() != nil:
			return
		default:
			backoff(fmt.Errorf("fetch %s/%d at %d: %w", pc.topic, pc.partition, offset, err))
		}
	}
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

func (pc *partitionConsumer) dialLeader(ctx context.Context) (*kafka.Conn, error) {
	var errs []error
	for _, b := range pc.in.cfg.Brokers {
		c, err := pc.in.dialer.DialLeader(ctx, "tcp", b, pc.topic, int(pc.partition))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial leader of %s/%d: %w", pc.topic, pc.partition, errors.Join(errs...))
}
