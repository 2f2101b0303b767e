package kafkacluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// TestKafkaGo_ApacheKafkaCompatibility runs, on a real Apache Kafka broker,
// every kind of request that Vetrina sends through kafka-go (the client of
// package ingest, `vetrina simulate` and ranking's follower): topic
// creation, produce, partition lookup, offsets, fetch, a fetch by time,
// consumer group join, offset commit and fetch, and rebalances as members
// join and leave. Each operation records the requests (API key and version)
// that kafka-go sent; a failure names them, and every request must be one
// the broker says it supports (ApiVersions), so a request that KIP-896
// removed in Kafka 4.0 fails the test with its key and version.
//
// It runs on DefaultVersion; VETRINA_KAFKA_VERSIONS="3.9.1 4.0.2 ..." runs
// it on each version listed (fetch them first with scripts/fetch-kafka.sh).
// docs/engines.md keeps the resulting table.
func TestKafkaGo_ApacheKafkaCompatibility(t *testing.T) {
	versions := strings.Fields(strings.ReplaceAll(os.Getenv("VETRINA_KAFKA_VERSIONS"), ",", " "))
	if len(versions) == 0 {
		versions = []string{DefaultVersion}
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) { compat(t, v) })
	}
}

// request is one request header: API key and version.
type request struct{ key, version int16 }

func (r request) String() string {
	return fmt.Sprintf("%s v%d (key %d)", protocol.ApiKey(r.key), r.version, r.key)
}

// recorder notes the request headers that kafka-go writes on every
// connection it dials through it, by the test's current phase.
type recorder struct {
	mu    sync.Mutex
	phase string
	sent  map[string]map[request]bool
}

func (r *recorder) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

func (r *recorder) add(q request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent[r.phase] == nil {
		r.sent[r.phase] = map[request]bool{}
	}
	r.sent[r.phase][q] = true
}

func (r *recorder) requests(phase string) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	qs := slices.Collect(maps.Keys(r.sent[phase]))
	slices.SortFunc(qs, func(a, b request) int { return int(a.key)*100 + int(a.version) - int(b.key)*100 - int(b.version) })
	return qs
}

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, rec: r}, nil
}

// sniffConn parses the stream of requests written to it: each is a 32-bit
// size followed by the header, whose first fields are the 16-bit API key
// and version.
type sniffConn struct {
	net.Conn
	rec  *recorder
	mu   sync.Mutex
	hdr  []byte
	skip int64
}

func (c *sniffConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	for rest := b; len(rest) > 0; {
		if c.skip > 0 {
			n := min(c.skip, int64(len(rest)))
			c.skip -= n
			rest = rest[n:]
			continue
		}
		n := min(8-len(c.hdr), len(rest))
		c.hdr = append(c.hdr, rest[:n]...)
		rest = rest[n:]
		if len(c.hdr) == 8 {
			size := int64(binary.BigEndian.Uint32(c.hdr))
			c.rec.add(request{key: int16(binary.BigEndian.Uint16(c.hdr[4:])), version: int16(binary.BigEndian.Uint16(c.hdr[6:]))})
			c.skip = size - 4
			c.hdr = c.hdr[:0]
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func compat(t *testing.T, version string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{Version: version, Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A broker stopping waits for the controllers, which stop at the same
		// time: on a busy machine that took over 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	addr := c.Addr(1)

	// What the broker supports, asked without the recorder.
	conn, err := kafka.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	apis, err := conn.ApiVersions()
	conn.Close()
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	supported := map[int16]kafka.ApiVersion{}
	for _, a := range apis {
		supported[a.ApiKey] = a
	}

	rec := &recorder{sent: map[string]map[request]bool{}}
	dialer := &kafka.Dialer{Timeout: 10 * time.Second, DialFunc: rec.dial}
	transport := &kafka.Transport{Dial: rec.dial}
	defer transport.CloseIdleConnections()
	const topic, partitions, messages = "compat", 4, 400
	const group = "compat-group"

	type result struct {
		phase string
		err   error
	}
	var results []result
	phase := func(name string, fn func(ctx context.Context) error) {
		rec.setPhase(name)
		pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		err := fn(pctx)
		var unsupported []string
		for _, q := range rec.requests(name) {
			a, ok := supported[q.key]
			if !ok || q.version < int16(a.MinVersion) || q.version > int16(a.MaxVersion) {
				unsupported = append(unsupported, fmt.Sprintf("%s: the broker supports v%d-v%d", q, a.MinVersion, a.MaxVersion))
			}
		}
		if len(unsupported) > 0 {
			err = errors.Join(err, fmt.Errorf("requests the broker does not support: %s", strings.Join(unsupported, "; ")))
		}
		if err != nil {
			t.Errorf("Kafka %s, %s: %v\n  kafka-go sent: %v", version, name, err, rec.requests(name))
		}
		results = append(results, result{name, err})
	}

	phase("create topic (Client.CreateTopics)", func(ctx context.Context) error {
		res, err := (&kafka.Client{Addr: kafka.TCP(addr), Transport: transport}).CreateTopics(ctx, &kafka.CreateTopicsRequest{
			Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
		})
		if err != nil {
			return err
		}
		if err := res.Errors[topic]; err != nil {
			return err
		}
		return c.WaitInSync(ctx, topic)
	})

	start := time.Now()
	phase("produce (Writer, lz4, acks=all)", func(ctx context.Context) error {
		w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
			Compression: kafka.Lz4, BatchTimeout: 5 * time.Millisecond, Transport: transport}
		defer w.Close()
		msgs := make([]kafka.Message, messages)
		for i := range msgs {
			msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "m%d", i)}
		}
		return w.WriteMessages(ctx, msgs...)
	})

	phase("partitions (Dialer.LookupPartitions)", func(ctx context.Context) error {
		ps, err := dialer.LookupPartitions(ctx, "tcp", addr, topic)
		if err != nil {
			return err
		}
		if len(ps) != partitions {
			return fmt.Errorf("%d partitions, want %d", len(ps), partitions)
		}
		return nil
	})

	phase("offsets and fetch (DialLeader, ReadOffsets, ReadBatchWith)", func(ctx context.Context) error {
		seen := map[string]bool{}
		for p := range partitions {
			conn, err := dialer.DialLeader(ctx, "tcp", addr, topic, p)
			if err != nil {
				return fmt.Errorf("dial leader of %s/%d: %w", topic, p, err)
			}
			err = func() error {
				defer conn.Close()
				first, last, err := conn.ReadOffsets()
				if err != nil {
					return fmt.Errorf("read offsets: %w", err)
				}
				if first != 0 {
					return fmt.Errorf("partition %d starts at %d, want 0", p, first)
				}
				if _, err := conn.Seek(first, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
					return err
				}
				for off := first; off < last; {
					_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
					b := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond})
					for {
						m, err := b.ReadMessage()
						if err != nil {
							break
						}
						if m.Offset >= off {
							seen[string(m.Value)] = true
							off = m.Offset + 1
						}
					}
					if err := b.Close(); err != nil {
						return fmt.Errorf("fetch %s/%d at %d: %w", topic, p, off, err)
					}
				}
				return nil
			}()
			if err != nil {
				return err
			}
		}
		if len(seen) != messages {
			return fmt.Errorf("fetched %d distinct messages, want %d", len(seen), messages)
		}
		return nil
	})

	phase("fetch by time (Reader.SetOffsetAt, ReadMessage)", func(ctx context.Context) error {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, Dialer: dialer, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		if err := r.SetOffsetAt(ctx, start.Add(-time.Minute)); err != nil {
			return fmt.Errorf("set offset by time: %w", err)
		}
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return err
		}
		if m.Offset != 0 {
			return fmt.Errorf("first message after %v has offset %d, want 0", start.Add(-time.Minute), m.Offset)
		}
		return nil
	})

	newGroup := func() (*kafka.ConsumerGroup, error) {
		return kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
			ID: group, Brokers: []string{addr}, Dialer: dialer, Topics: []string{topic},
			GroupBalancers: []kafka.GroupBalancer{kafka.RangeGroupBalancer{}}, StartOffset: kafka.FirstOffset,
			HeartbeatInterval: 300 * time.Millisecond, SessionTimeout: 3 * time.Second, RebalanceTimeout: 10 * time.Second,
			JoinGroupBackoff: 200 * time.Millisecond, Timeout: 10 * time.Second,
		})
	}
	// next waits for g's next generation and returns its partitions of the
	// topic; the generation holds them until it ends, which closes ended.
	type generation struct {
		*kafka.Generation
		ids   []int
		ended chan struct{}
	}
	// Next reports each failed attempt and the group keeps trying (the
	// first FindCoordinator creates the offsets topic and is answered
	// "coordinator not available"), as the ingester's loop does.
	next := func(ctx context.Context, g *kafka.ConsumerGroup) (generation, error) {
		var gen *kafka.Generation
		var errs []error
		for gen == nil {
			var err error
			if gen, err = g.Next(ctx); err != nil {
				if ctx.Err() != nil {
					return generation{}, errors.Join(append(errs, err)...)
				}
				if len(errs) < 5 {
					errs = append(errs, err)
				}
			}
		}
		out := generation{Generation: gen, ended: make(chan struct{})}
		for _, a := range gen.Assignments[topic] {
			out.ids = append(out.ids, a.ID)
		}
		slices.Sort(out.ids)
		gen.Start(func(gctx context.Context) {
			<-gctx.Done()
			close(out.ended)
		})
		return out, nil
	}
	all := []int{0, 1, 2, 3}

	var a *kafka.ConsumerGroup
	var aGen generation
	phase("group join (FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, Heartbeat)", func(ctx context.Context) error {
		if a, err = newGroup(); err != nil {
			return err
		}
		if aGen, err = next(ctx, a); err != nil {
			return err
		}
		if !slices.Equal(aGen.ids, all) {
			return fmt.Errorf("the only member was assigned %v, want %v", aGen.ids, all)
		}
		for _, p := range aGen.Assignments[topic] {
			if p.Offset != kafka.FirstOffset {
				return fmt.Errorf("partition %d starts at %d before any commit, want FirstOffset", p.ID, p.Offset)
			}
		}
		// Heartbeats keep the generation alive past the session timeout.
		select {
		case <-aGen.ended:
			return errors.New("the generation ended without a new member")
		case <-time.After(4 * time.Second):
		}
		return nil
	})

	phase("commit (OffsetCommit) and resume (OffsetFetch)", func(ctx context.Context) error {
		if aGen.Generation == nil {
			return errors.New("no generation")
		}
		// Commit, leave (LeaveGroup) and join again: the new generation
		// starts at the committed offsets.
		want := map[int]int64{0: 7, 1: 11, 2: 13, 3: 17}
		if err := aGen.CommitOffsets(map[string]map[int]int64{topic: want}); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		a.Close()
		if a, err = newGroup(); err != nil {
			return err
		}
		if aGen, err = next(ctx, a); err != nil {
			return err
		}
		got := map[int]int64{}
		for _, p := range aGen.Assignments[topic] {
			got[p.ID] = p.Offset
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("resumed at %v, committed %v", got, want)
		}
		return nil
	})

	phase("rebalance: a member joins, then leaves (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)", func(ctx context.Context) error {
		if a == nil {
			return errors.New("no group member")
		}
		b, err := newGroup()
		if err != nil {
			return err
		}
		defer b.Close()
		type joined struct {
			ids []int
			err error
		}
		bj := make(chan joined, 1)
		go func() {
			g, err := next(ctx, b)
			bj <- joined{g.ids, err}
		}()
		// a's generation ends (its heartbeat learns of the rebalance) and a
		// joins the next one.
		select {
		case <-aGen.ended:
		case <-ctx.Done():
			return fmt.Errorf("the first member's generation did not end when a second joined: %w", ctx.Err())
		}
		if aGen, err = next(ctx, a); err != nil {
			return fmt.Errorf("first member: %w", err)
		}
		aIDs := aGen.ids
		bres := <-bj
		if bres.err != nil {
			return fmt.Errorf("second member: %w", bres.err)
		}
		if len(aIDs) == 0 || len(bres.ids) == 0 || !slices.Equal(slices.Sorted(slices.Values(append(slices.Clone(aIDs), bres.ids...))), all) {
			return fmt.Errorf("assignments %v and %v do not split %v", aIDs, bres.ids, all)
		}
		// b leaves (LeaveGroup): a gets every partition back.
		b.Close()
		select {
		case <-aGen.ended:
		case <-ctx.Done():
			return fmt.Errorf("the first member's generation did not end when the second left: %w", ctx.Err())
		}
		if aGen, err = next(ctx, a); err != nil {
			return fmt.Errorf("after the second member left: %w", err)
		}
		if !slices.Equal(aGen.ids, all) {
			return fmt.Errorf("after the second member left the first has %v, want %v", aGen.ids, all)
		}
		return nil
	})
	if a != nil {
		rec.setPhase("leave")
		a.Close()
	}

	var b strings.Builder
	fmt.Fprintf(&b, "kafka-go against Apache Kafka %s:\n", version)
	for _, r := range results {
		verdict := "works"
		if r.err != nil {
			verdict = "FAILS: " + strings.ReplaceAll(r.err.Error(), "\n", " ")
		}
		var qs []string
		for _, q := range rec.requests(r.phase) {
			a := supported[q.key]
			qs = append(qs, fmt.Sprintf("%s v%d (broker: v%d-%d)", protocol.ApiKey(q.key), q.version, a.MinVersion, a.MaxVersion))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", version, r.phase, verdict, strings.Join(qs, ", "))
	}
	t.Log(b.String())
}
