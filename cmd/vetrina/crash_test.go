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
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/internal/chserver"
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
type produced struct {
	distinct map[string]int
	lives    int
	bad      int
}

func stream(ctx context.Context, t *testing.T, brokers string, prefix string, n int, seed uint64, retries bool) produced {
	w := &kafka.Writer{Addr: kafka.TCP(brokers), Balancer: &kafka.Hash{}, BatchSize: 500, BatchTimeout: 2 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	res := produced{distinct: map[string]int{}}
	now := time.Now().UTC()
	var batch []kafka.Message
	var sent []kafka.Message
	flush := func() {
		if err := w.WriteMessages(ctx, batch...); err != nil {
			t.Errorf("produce: %v", err)
		}
		batch = batch[:0]
		time.Sleep(250 * time.Millisecond) // spread the stream over all the crash rounds
	}
	for i := range n {
		user := 1 + rng.IntN(500)
		ts := now.Add(-time.Duration(n-i) * time.Millisecond).Format(time.RFC3339Nano)
		var m kafka.Message
		switch r := rng.IntN(100); {
		case r < 78:
			m = kafka.Message{Topic: prefix + "views", Value: fmt.Appendf(nil, `{"event_id":"v%d","ts":%q,"user_id":%d,"product_id":%d,"surface":"live","live_id":3,"influencer_id":4}`, i, ts, user, 1+rng.IntN(90))}
			res.distinct["views"]++
		case r < 93:
			m = kafka.Message{Topic: prefix + "chats", Value: fmt.Appendf(nil, `{"event_id":"c%d","ts":%q,"user_id":%d,"live_id":3,"influencer_id":4,"text":"does it come in blue? \u00e9"}`, i, ts, user)}
			res.distinct["chats"]++
		case r < 98:
			m = kafka.Message{Topic: prefix + "purchases", Value: fmt.Appendf(nil, `{"event_id":"p%d","ts":%q,"order_id":"o%d","user_id":%d,"product_id":%d,"quantity":1,"unit_price":12.5,"currency":"EUR"}`, i, ts, i, user, 1+rng.IntN(90))}
			res.distinct["purchases"]++
		default:
			// A version of one of 50 lives, keyed by live_id as producers do.
			live := 1 + rng.IntN(50)
			m = kafka.Message{Topic: prefix + "lives", Key: fmt.Appendf(nil, "%d", live), Value: fmt.Appendf(nil,
				`{"live_id":%d,"influencer_id":4,"sponsor_brand_id":2,"fee":950.5,"product_ids":[%d,%d],"started_at":%q,"ended_at":%q,"updated_at":%q}`,
				live, 1+rng.IntN(90), 1+rng.IntN(90), now.Add(-time.Hour).Format(time.RFC3339), ts, ts)}
			res.lives++
		}
		if m.Key == nil {
			m.Key = fmt.Appendf(nil, "%d", user)
		}
		batch = append(batch, m)
		sent = append(sent, m)
		if retries && rng.IntN(100) < 3 && len(sent) > 10 {
			// A producer retry of a recent message. A live version sent
			// twice is two versions: catalog topics have no event_id.
			again := sent[len(sent)-1-rng.IntN(10)]
			batch = append(batch, again)
			if again.Topic == prefix+"lives" {
				res.lives++
			}
		}
		if rng.IntN(1000) < 5 {
			batch = append(batch, kafka.Message{Topic: prefix + "views", Key: m.Key, Value: []byte(`{"event_id":"bad","ts":"yesterday"}`)})
			res.bad++
		}
		if rng.IntN(1000) < 2 {
			batch = append(batch, kafka.Message{Topic: prefix + "lives", Key: []byte("1"), Value: fmt.Appendf(nil, `{"live_id":1,"influencer_id":4,"fee":-1,"started_at":%q,"updated_at":%q}`, ts, ts)})
			res.bad++
		}
		if len(batch) >= 500 {
			flush()
		}
	}
	flush()
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
// It runs twice: once without producer retries and with the duplicate
// window off, so that only the offset bookkeeping stands between a crash and
// a duplicate, and once with producer retries and the window on.
func TestCrash_KilledIngestersAndClickHouseRestart_ExactlyOnce(t *testing.T) {
	t.Run("offsets only", func(t *testing.T) { crashRun(t, false) })
	t.Run("with producer retries", func(t *testing.T) { crashRun(t, true) })
}

func crashRun(t *testing.T, retries bool) {
	st, cfg := testenv.Store(t)
	brokerAddr := freeAddr(t)
	prefix := testenv.RandomName("crash") + "."
	start(t, "broker", "--listen", brokerAddr, "--partitions", "4", "--topic-prefix", prefix)
	waitListening(t, brokerAddr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const events = 40_000
	var res produced
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res = stream(ctx, t, brokerAddr, prefix, events, 42, retries)
	}()

	ingestArgs := []string{"ingest", "--brokers", brokerAddr, "--clickhouse", cfg.Addr, "--database", cfg.Database,
		"--topic-prefix", prefix, "--batch-rows", "2000", "--linger", "30ms", "--session-timeout", "2s", "--http", "127.0.0.1:0"}
	if !retries {
		ingestArgs = append(ingestArgs, "--dedup-window", "0")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 6 {
		if round%3 == 2 {
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
		time.Sleep(time.Duration(1500+rng.IntN(2500)) * time.Millisecond)
		select {
		case <-a.done:
			t.Logf("round %d: the ingester killed itself at its failpoint, after an insert and before the commit", round)
		default:
		}
		a.kill()
		if b != nil {
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			b.kill()
		}
	}
	wg.Wait()
	t.Setenv("VETRINA_FAILPOINT_KILL_AFTER_INSERTS", "")

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
	if !strings.Contains(final.output(), "partition released") {
		t.Errorf("final ingester did not release its partitions cleanly on SIGTERM:\n%s", final.output())
	}
	t.Logf("produced %v (distinct events; live versions) and %d malformed messages", want, res.bad)
}
