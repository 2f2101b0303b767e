package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/kafkacluster"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vetrina-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "vetrina")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build vetrina: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	testenv.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a vetrina child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  strings.Builder
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath, args...), done: make(chan struct{})}
	p.cmd.Env = os.Environ()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Errorf("process did not stop within 60s of SIGTERM")
		p.kill()
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := chserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// stream produces n messages: distinct events across the three event
// topics and live versions (a catalog topic: no event_id, every message is
// a row), plus producer retries (the same message again) and malformed
// messages, spread over time so that ingesters die mid-stream. It returns
// the distinct event ids per topic, the live messages sent (retries
// included) and the number of bad messages.
//
// The producer is franz-go's kgo, a client independent of the ingester's
// kafka-go, with idempotent writes (its default; acks=all): a broker that
// dies mid-request cannot make it write a message twice, so the only
// duplicates are the retries the test sends on purpose. The stream is paced
// to last about span, so that it runs through every crash round; progress
// counts how many of the n messages were acknowledged, and the last tenth
// of the stream waits for hold to be closed, so that faults injected before
// then land mid-stream.
type produced struct {
	distinct map[string]int
	lives    int
	bad      int
}

type message struct {
	topic      string
	key, value []byte
}

func stream(ctx context.Context, t *testing.T, brokers []string, prefix string, n int, seed uint64, retries bool, span time.Duration, progress *atomic.Int64, hold <-chan struct{}) produced {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ProducerLinger(2*time.Millisecond),
		// Through broker crashes and leader elections: retry, never give up
		// on a record within the test's time.
		kgo.RecordDeliveryTimeout(3*time.Minute),
	)
	if err != nil {
		t.Errorf("producer: %v", err)
		return produced{}
	}
	defer cl.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	res := produced{distinct: map[string]int{}}
	now := time.Now().UTC()
	var batch []message
	var sent []message
	began := time.Now()
	flush := func(i int) { // i: how many of the n messages are in this or earlier batches
		recs := make([]*kgo.Record, len(batch))
		for j, m := range batch {
			recs[j] = &kgo.Record{Topic: m.topic, Key: m.key, Value: m.value}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Errorf("produce: %v", err)
		}
		progress.Store(int64(i)) // of the n messages, not counting retries and malformed ones
		batch = batch[:0]
		// Spread the stream over all the crash rounds.
		time.Sleep(time.Until(began.Add(span * time.Duration(i) / time.Duration(n))))
	}
	for i := range n {
		if i == n*9/10 {
			flush(i)
			select {
			case <-hold:
			case <-ctx.Done():
				return res
			}
		}
		user := 1 + rng.IntN(500)
		ts := now.Add(-time.Duration(n-i) * time.Millisecond).Format(time.RFC3339Nano)
		var m message
		switch r := rng.IntN(100); {
		case r < 78:
			m = message{topic: prefix + "views", value: fmt.Appendf(nil, `{"event_id":"v%d","ts":%q,"user_id":%d,"product_id":%d,"surface":"live","live_id":3,"influencer_id":4}`, i, ts, user, 1+rng.IntN(90))}
			res.distinct["views"]++
		case r < 93:
			m = message{topic: prefix + "chats", value: fmt.Appendf(nil, `{"event_id":"c%d","ts":%q,"user_id":%d,"live_id":3,"influencer_id":4,"text":"does it come in blue? \u00e9"}`, i, ts, user)}
			res.distinct["chats"]++
		case r < 98:
			m = message{topic: prefix + "purchases", value: fmt.Appendf(nil, `{"event_id":"p%d","ts":%q,"order_id":"o%d","user_id":%d,"product_id":%d,"quantity":1,"unit_price":12.5,"currency":"EUR"}`, i, ts, i, user, 1+rng.IntN(90))}
			res.distinct["purchases"]++
		default:
			// A version of one of 50 lives, keyed by live_id as producers do.
			live := 1 + rng.IntN(50)
			m = message{topic: prefix + "lives", key: fmt.Appendf(nil, "%d", live), value: fmt.Appendf(nil,
				`{"live_id":%d,"influencer_id":4,"sponsor_brand_id":2,"fee":950.5,"product_ids":[%d,%d],"started_at":%q,"ended_at":%q,"updated_at":%q}`,
				live, 1+rng.IntN(90), 1+rng.IntN(90), now.Add(-time.Hour).Format(time.RFC3339), ts, ts)}
			res.lives++
		}
		if m.key == nil {
			m.key = fmt.Appendf(nil, "%d", user)
		}
		batch = append(batch, m)
		sent = append(sent, m)
		if retries && rng.IntN(100) < 3 && len(sent) > 10 {
			// A producer retry of a recent message. A live version sent
			// twice is two versions: catalog topics have no event_id.
			again := sent[len(sent)-1-rng.IntN(10)]
			batch = append(batch, again)
			if again.topic == prefix+"lives" {
				res.lives++
			}
		}
		if rng.IntN(1000) < 5 {
			batch = append(batch, message{topic: prefix + "views", key: m.key, value: []byte(`{"event_id":"bad","ts":"yesterday"}`)})
			res.bad++
		}
		if rng.IntN(1000) < 2 {
			batch = append(batch, message{topic: prefix + "lives", key: []byte("1"), value: fmt.Appendf(nil, `{"live_id":1,"influencer_id":4,"fee":-1,"started_at":%q,"updated_at":%q}`, ts, ts)})
			res.bad++
		}
		if len(batch) >= 500 {
			flush(i + 1)
		}
	}
	flush(n)
	t.Logf("stream of %d messages took %v", n, time.Since(began).Round(time.Millisecond))
	return res
}

// TestCrash_KilledIngestersAndClickHouseRestart_ExactlyOnce is the
// exactly-once proof: the broker runs in its own process, ingester
// processes are SIGKILLed at random moments mid-stream (sometimes two run at
// once, forcing rebalances), ClickHouse is killed and restarted, and at the
// end count() and uniqExact(event_id) equal the distinct events produced,
// live_versions has a row per live message sent (a catalog topic: offsets
// alone keep it exact) and dead_letters one per bad message.
//
// It runs three times. On the embedded broker (`vetrina broker`): once
// without producer retries and with the duplicate window off, so that only
// the offset bookkeeping stands between a crash and a duplicate, and once
// with producer retries and the window on. And on a real Apache Kafka
// cluster of three brokers (internal/kafkacluster; topics with replication
// factor 3 and min.insync.replicas 2), with the window off, where on top of
// the same faults a broker that leads partitions is SIGKILLed mid-stream
// (its leaderships move) and later restarted, and so is the broker that
// coordinates the ingesters' consumer group (found with FindCoordinator).
func TestCrash_KilledIngestersAndClickHouseRestart_ExactlyOnce(t *testing.T) {
	t.Run("offsets only", func(t *testing.T) { crashRun(t, crashCase{}) })
	t.Run("with producer retries", func(t *testing.T) { crashRun(t, crashCase{retries: true}) })
	t.Run("apache kafka 3 brokers, offsets only", func(t *testing.T) { crashRun(t, crashCase{apache: true}) })
}

// crashCase is one run of the crash test.
type crashCase struct {
	retries bool // producer retries, and the duplicate window on
	apache  bool // three Apache Kafka brokers, with broker crashes, instead of the embedded broker
}

// ingestGroup is the consumer group `vetrina ingest` joins by default.
const ingestGroup = "vetrina-ingest"

func crashRun(t *testing.T, cc crashCase) {
	st, cfg := testenv.Store(t)
	prefix := testenv.RandomName("crash") + "."
	var brokers []string
	var cluster *kafkacluster.Cluster
	span := 20 * time.Second
	roundScale := 1
	if cc.apache {
		roundScale = 2
		cluster = startKafka(t, prefix)
		brokers = cluster.Bootstrap()
		span = 45 * time.Second // broker restarts take a JVM start each: a longer stream
	} else {
		brokerAddr := freeAddr(t)
		start(t, "broker", "--listen", brokerAddr, "--partitions", "4", "--topic-prefix", prefix)
		waitListening(t, brokerAddr)
		brokers = []string{brokerAddr}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const events = 40_000
	var res produced
	var progress atomic.Int64
	hold := make(chan struct{})
	if !cc.apache {
		close(hold)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res = stream(ctx, t, brokers, prefix, events, 42, cc.retries, span, &progress, hold)
	}()

	ingestArgs := []string{"ingest", "--brokers", strings.Join(brokers, ","), "--clickhouse", cfg.Addr, "--database", cfg.Database,
		"--topic-prefix", prefix, "--batch-rows", "2000", "--linger", "30ms", "--session-timeout", "2s", "--http", "127.0.0.1:0"}
	if !cc.retries {
		ingestArgs = append(ingestArgs, "--dedup-window", "0")
	}
	var faults sync.WaitGroup // broker faults: each a kill, checks and a restart
	rng := rand.New(rand.NewPCG(7, 7))
	failpoints := 0
	for round := range 6 {
		armed := round%3 == 2
		if armed {
			// Die right after an insert, before its commit: the moment a
			// wrong resume offset would duplicate a batch.
			t.Setenv("VETRINA_FAILPOINT_KILL_AFTER_INSERTS", fmt.Sprint(3+rng.IntN(20)))
		} else {
			t.Setenv("VETRINA_FAILPOINT_KILL_AFTER_INSERTS", "")
		}
		a := start(t, ingestArgs...)
		var b *proc
		if round%2 == 1 {
			b = start(t, ingestArgs...) // a second member: rebalances
		}
		if round == 3 {
			time.Sleep(time.Second)
			testenv.RestartClickHouse(t, 3*time.Second)
		}
		if cc.apache && round == 1 {
			time.Sleep(time.Second)
			victim := partitionLeader(ctx, t, cluster, prefix)
			faults.Go(func() { crashBroker(ctx, t, cluster, victim, false, prefix, events, &progress) })
		}
		if cc.apache && round == 4 {
			faults.Wait() // the first broker is back and in sync: kill one at a time
			cctx, ccancel := context.WithTimeout(ctx, time.Minute)
			coord, err := cluster.Coordinator(cctx, ingestGroup)
			ccancel()
			if err != nil {
				t.Fatal(err)
			}
			faults.Go(func() {
				crashBroker(ctx, t, cluster, coord, true, prefix, events, &progress)
			})
			// Until the coordinator is gone, the last part of the stream waits.
			go func() {
				defer close(hold)
				for deadline := time.Now().Add(time.Minute); cluster.Running(coord); time.Sleep(100 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("broker %d, the coordinator, still up a minute after its kill was due", coord)
						return
					}
				}
			}()
		}
		// A round lasts a random while; one with the failpoint armed lasts,
		// while messages still flow, until the ingester kills itself there.
		// Apache Kafka's group coordinator waits out the sessions of the
		// members killed before it rebalances: its rounds last longer.
		wait := time.Duration(1500+rng.IntN(2500)) * time.Millisecond * time.Duration(roundScale)
		roundEnd, limit := time.After(wait), time.After(time.Minute)
	waiting:
		for {
			select {
			case <-a.done:
				if !armed {
					t.Errorf("round %d: the ingester exited on its own; its log:\n%s", round, a.output())
					break waiting
				}
				t.Logf("round %d: the ingester killed itself at its failpoint, after an insert and before the commit", round)
				failpoints++
				break waiting
			case <-roundEnd:
				if !armed || progress.Load() >= events {
					break waiting
				}
				roundEnd = time.After(100 * time.Millisecond)
			case <-limit:
				t.Errorf("round %d: the ingester did not reach its failpoint within a minute of messages flowing; its log:\n%s", round, a.output())
				break waiting
			}
		}
		a.kill()
		if b != nil {
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			b.kill()
		}
	}
	faults.Wait()
	wg.Wait()
	t.Setenv("VETRINA_FAILPOINT_KILL_AFTER_INSERTS", "")
	if failpoints == 0 {
		t.Error("no ingester died at its failpoint (after an insert, before the commit)")
	}

	final := start(t, ingestArgs...)
	testenv.Eventually(t, 60*time.Second, func() error {
		if !regexp.MustCompile(`joined generation.* partitions=[1-9]`).MatchString(final.output()) {
			return fmt.Errorf("final ingester has no partitions yet; its log:\n%s", final.output())
		}
		return nil
	})
	want := map[store.Table]uint64{store.TableViews: uint64(res.distinct["views"]), store.TableChats: uint64(res.distinct["chats"]),
		store.TablePurchases: uint64(res.distinct["purchases"]), store.TableLiveVersions: uint64(res.lives)}
	testenv.Eventually(t, 90*time.Second, func() error {
		for table, n := range want {
			got, _, err := st.Count(context.Background(), table)
			if err != nil {
				return err
			}
			if got < n {
				out := final.output()
				return fmt.Errorf("%s: %d of %d landed; the final ingester's log ends:\n%s", table.Name(), got, n, out[max(0, len(out)-4000):])
			}
		}
		return nil
	})
	time.Sleep(time.Second) // anything extra (a duplicate) would show now
	final.stop(t)
	for table, n := range want {
		rows, uniq, err := st.Count(context.Background(), table)
		if err != nil {
			t.Fatal(err)
		}
		if rows != n || uniq != n {
			t.Errorf("%s: count() %d, uniqExact(event_id) %d (count() for live_versions), want both %d", table.Name(), rows, uniq, n)
		}
	}
	dl, _, err := st.Count(context.Background(), store.TableDeadLetters)
	if err != nil {
		t.Fatal(err)
	}
	if dl != uint64(res.bad) {
		t.Errorf("dead letters: %d, want %d", dl, res.bad)
	}
	// The summary line of the generation the stop ended: every batch landed.
	clean := false
	for line := range strings.Lines(final.output()) {
		if strings.Contains(line, "left generation") && strings.Contains(line, "why=stop") {
			clean = strings.Contains(line, " abandoned=0 ")
		}
	}
	if !clean {
		t.Errorf("final ingester did not release its partitions cleanly on SIGTERM:\n%s", final.output())
	}
	t.Logf("produced %v (distinct events; live versions) and %d malformed messages", want, res.bad)
}

// startKafka runs three Apache Kafka brokers with Vetrina's topics (4
// partitions, replication factor 3, min.insync.replicas 2), stopped at the
// end of the test. The release is kafkacluster.DefaultVersion, or
// $VETRINA_KAFKA_VERSION (fetched with scripts/fetch-kafka.sh VERSION).
func startKafka(t *testing.T, prefix string) *kafkacluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := kafkacluster.Start(ctx, kafkacluster.Config{Nodes: 3, Version: os.Getenv("VETRINA_KAFKA_VERSION")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A broker stopping waits for the controllers, which stop at the same
		// time: on a busy machine that took over 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("stop the Kafka cluster: %v", err)
		}
	})
	var ts []kafkacluster.Topic
	for _, name := range topicNames(topics(prefix)) {
		ts = append(ts, kafkacluster.Topic{Name: name, Partitions: 4, ReplicationFactor: 3, MinInsyncReplicas: 2})
	}
	if err := c.CreateTopics(ctx, ts...); err != nil {
		t.Fatal(err)
	}
	t.Logf("Apache Kafka %s: 3 brokers and %d topics ready in %v", c.Version(), len(ts), time.Since(began).Round(time.Millisecond))
	return c
}

// partitionLeader returns a broker that leads partitions of the topics but
// does not coordinate the ingesters' group (that is the other fault).
func partitionLeader(ctx context.Context, t *testing.T, c *kafkacluster.Cluster, prefix string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	coord, err := c.Coordinator(ctx, ingestGroup)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.Partitions(ctx, topicNames(topics(prefix))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Leader >= 0 && p.Leader != coord {
			return p.Leader
		}
	}
	t.Fatalf("no partition led by a broker other than the coordinator %d: %+v", coord, ps)
	return -1
}

// crashBroker SIGKILLs broker id mid-stream (the ingesters' group
// coordinator, or else a broker that leads partitions), checks that what it
// held moved to the others (the leaderships of its partitions; the
// coordination of the group), and starts it again once they did; it returns
// when the broker is back and every partition is in sync again.
func crashBroker(ctx context.Context, t *testing.T, c *kafkacluster.Cluster, id int, coordinator bool, prefix string, events int, progress *atomic.Int64) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	names := topicNames(topics(prefix))
	led := 0
	if ps, err := c.Partitions(ctx, names...); err == nil {
		for _, p := range ps {
			if p.Leader == id {
				led++
			}
		}
	}
	wasCoord, err := c.Coordinator(ctx, ingestGroup)
	if err != nil {
		t.Error(err)
	}
	switch {
	case coordinator && wasCoord != id:
		t.Errorf("broker %d was to be killed as the group coordinator, but that is broker %d", id, wasCoord)
	case !coordinator && led == 0:
		t.Errorf("broker %d was to be killed as a partition leader, but leads none", id)
	}
	at := progress.Load()
	if err := c.Kill(id); err != nil {
		t.Error(err)
		return
	}
	killed := time.Now()
	t.Logf("broker %d (leader of %d partitions, group coordinator %v) SIGKILLed after %d of %d messages", id, led, wasCoord == id, at, events)
	if at >= int64(events) {
		t.Errorf("broker %d was killed after the stream ended (%d messages)", id, at)
	}
	moved := func(what string, cond func(ctx context.Context) error) {
		deadline := time.Now().Add(90 * time.Second)
		for {
			actx, acancel := context.WithTimeout(ctx, 10*time.Second)
			err := cond(actx)
			acancel()
			if err == nil {
				t.Logf("broker %d: %s within %v of the kill", id, what, time.Since(killed).Round(time.Millisecond))
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("broker %d killed: %s not within 90s: %v", id, what, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	moved("its leaderships moved to the other brokers", func(ctx context.Context) error {
		ps, err := c.Partitions(ctx, names...)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Leader == id || p.Leader < 0 {
				return fmt.Errorf("%s/%d led by %d", p.Topic, p.ID, p.Leader)
			}
		}
		return nil
	})
	if wasCoord == id {
		moved("the group coordinator moved", func(ctx context.Context) error {
			now, err := c.Coordinator(ctx, ingestGroup)
			if err == nil && now == id {
				err = fmt.Errorf("still broker %d", now)
			}
			return err
		})
	}
	if err := c.StartNode(ctx, id); err != nil {
		t.Error(err)
		return
	}
	if err := c.WaitInSync(ctx, names...); err != nil {
		t.Errorf("after broker %d restarted: %v", id, err)
		return
	}
	t.Logf("broker %d restarted and in sync %v after its kill, at %d of %d messages", id, time.Since(killed).Round(time.Millisecond), progress.Load(), events)
}
