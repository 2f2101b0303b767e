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
	"log/slog"
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
	// MaxBufferedBytes bounds the messages read and not yet inserted,
	// across all partitions (counted by their size on the wire): once
	// they pass it, a partition holding at least half its share inserts
	// its batch at once instead of waiting for BatchRows or Linger. With
	// FetchBytes it bounds the ingester's memory whatever the backlog;
	// default 64 MiB.
	MaxBufferedBytes int
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
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 64 << 20
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
	// buffered is the bytes of messages read and not yet landed, across
	// the partitions; partitions the number of partitions running.
	buffered, partitions atomic.Int64
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
		// Counters the dashboards read exist from the start, at 0, for
		// their known labels (a ClickHouse exception code is known only
		// when it happens).
		m.duplicates.WithLabelValues(t)
		m.consumed.WithLabelValues(t)
	}
	for _, code := range []string{"network", "timeout"} {
		m.chErrors.WithLabelValues(code)
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
		var released [releaseRebalance + 1]atomic.Int32
		for topic, parts := range gen.Assignments {
			if len(parts) == 0 {
				continue
			}
			l := newLander(in, gen, topic, store.TableFor(in.kinds[topic]), len(parts))
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				// Like the partitions' landing, the lander's outlives a
				// process stop by up to FlushTimeout; a rebalance stops it
				// at once.
				landCtx, cancel := context.WithCancel(gctx)
				defer cancel()
				stop := context.AfterFunc(ctx, func() { time.AfterFunc(in.cfg.FlushTimeout, cancel) })
				defer stop()
				l.run(landCtx)
				// At a stop, returning would end the generation: wait, as
				// the partitions do, for the other topics' last batches.
				if ctx.Err() != nil {
					landing.Wait()
				}
			})
			for _, p := range parts {
				pc := &partitionConsumer{in: in, gen: gen, topic: topic, kind: in.kinds[topic], partition: int32(p.ID), committed: p.Offset, lander: l}
				wg.Add(1)
				gen.Start(func(gctx context.Context) {
					defer wg.Done()
					defer func() {
						released[pc.released].Add(1)
						landing.Done()
						if ctx.Err() != nil {
							landing.Wait()
						}
					}()
					pc.run(ctx, gctx)
				})
			}
		}
		in.log.Info("ingest: joined generation (each partition's resume point at debug level: VETRINA_DEBUG=1)", "group", in.cfg.GroupID, "generation", gen.ID, "partitions", n)
		if n > 0 {
			// One line when the generation ends, each partition's at debug level.
			wg.Add(1)
			go func() {
				defer wg.Done()
				landing.Wait()
				why := "rebalance"
				if ctx.Err() != nil {
					why = "stop"
				}
				in.log.Info("ingest: left generation (each partition's release at debug level)", "group", in.cfg.GroupID, "generation", gen.ID, "why", why,
					"partitions", n, "landed", released[releaseLanded].Load(), "abandoned", released[releaseAbandoned].Load(),
					"released_at_once", released[releaseRebalance].Load())
			}()
		}
	}
}
