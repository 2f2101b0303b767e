package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

// replicatedCluster is the name of the test's cluster in remote_servers.
const replicatedCluster = "vetrina_repl"

// TestCluster_Replicated_StreamThroughFaults runs the replicated layout on
// real engines: ZooKeeper and 2 shards × 2 replicas of ClickHouse, the
// schema migrated once ON CLUSTER, and the production ingester consuming
// simulated traffic from the embedded broker into the Distributed tables
// of node s1r1. While the traffic streams, replica s2r2 is SIGKILLed and
// restarted, ZooKeeper is SIGKILLed and restarted, and then ZooKeeper is
// stopped for a while: inserts fail, the ingester retries them and says
// why it is not ready, and once ZooKeeper is back everything lands. At the
// end every table, read through the Distributed tables of every node, holds
// each message produced exactly once; the restarted replica's local tables
// equal its peer's; and the analyst examples of docs/analytics.md answer
// the same on every node. Last, a batch inserted twice is stored once: the
// ingester's retries rest on it.
func TestCluster_Replicated_StreamThroughFaults(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	logs := &logRecorder{}
	zk := testenv.ZooKeeper(t)
	cl := testenv.ReplicatedCluster(t, testenv.ClusterConfig{Name: replicatedCluster, Shards: 2, Replicas: 2, ZooKeeper: zk.Addr()})
	t.Logf("%5.1fs ZooKeeper %s and four ClickHouse servers up", since(began), zk.Addr())
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, l := range logs.matching("ingest: insert failed") {
			if strings.Contains(l, "319") || strings.Contains(l, "nknown") {
				t.Logf("on failure: the ingester logged %.600s", l)
			}
		}
		about := regexp.MustCompile(`(?i)unexpected part|unknown status|detach|Removing part|Young part|Renaming|already exists`)
		for _, n := range cl.Nodes {
			b, _ := os.ReadFile(filepath.Join(n.Dir(), "log", "clickhouse-server.log"))
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if about.MatchString(l) {
					lines = append(lines, l)
				}
			}
			t.Logf("on failure: %s logged about its parts:\n%s", n.Name(), strings.Join(lines, "\n"))
		}
	})

	db := testenv.RandomName("repl_")
	nodes := make([]*store.Store, len(cl.Nodes))
	for i, n := range cl.Nodes {
		st, err := store.Open(store.Config{Addr: n.NativeAddr(), Database: db, Cluster: replicatedCluster, ClusterMode: store.ClusterReplicated})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes[i] = st
	}
	// Once, from one node: every statement runs ON CLUSTER.
	mctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	if _, err := nodes[0].Migrate(mctx); err != nil {
		t.Fatalf("migrate the cluster from %s: %v", cl.Nodes[0].Name(), err)
	}
	cancel()
	for i, st := range nodes {
		tables, readonly, _, err := st.ReplicaHealth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Eight tables and schema_migrations.
		if tables != 9 || readonly != 0 {
			t.Fatalf("%s: %d replicated tables (%d read-only), want 9 writable ones", cl.Nodes[i].Name(), tables, readonly)
		}
	}
	t.Logf("%5.1fs schema migrated ON CLUSTER from %s", since(began), cl.Nodes[0].Name())

	topics := ingest.DefaultTopics()
	var topicNames []string
	for _, k := range event.Kinds {
		topicNames = append(topicNames, topics[k])
	}
	b := testenv.Broker(t, 4, topicNames...) // 4 partitions a topic: 2 on each shard
	reg := prometheus.NewRegistry()
	in, err := ingest.New(ingest.Config{
		Brokers: []string{b.Addr()}, GroupID: testenv.RandomName("g"), Linger: 500 * time.Millisecond,
		Logger: slog.New(logs),
	}, nodes[0], ingest.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	ictx, stopIngest := context.WithCancel(ctx)
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- in.Run(ictx) }()
	t.Cleanup(stopIngest)

	p := startProducer(t, b.Addr(), topics)
	testenv.Eventually(t, time.Minute, func() error {
		if err := in.Ready(); err != nil {
			return err
		}
		return landedSome(ctx, nodes[0])
	})
	t.Logf("%5.1fs ingester ready, rows landing", since(began))

	// Fault 1: SIGKILL a replica of shard 2 (not the ingester's node); the
	// Distributed tables write to and read from its peer meanwhile.
	victim, peer := cl.Nodes[3], cl.Nodes[2]
	time.Sleep(3 * time.Second)
	peerBefore, err := nodes[2].LocalRows(ctx, store.TableViews)
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%5.1fs fault: SIGKILL %s", since(began), victim.Name())
	time.Sleep(6 * time.Second)
	peerDuring, err := nodes[2].LocalRows(ctx, store.TableViews)
	if err != nil {
		t.Fatal(err)
	}
	if peerDuring <= peerBefore {
		t.Errorf("shard 2 landed nothing while %s was down: %s held %d views, then %d", victim.Name(), peer.Name(), peerBefore, peerDuring)
	}
	if err := victim.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%5.1fs %s restarted (%s landed %d views of shard 2 meanwhile)", since(began), victim.Name(), peer.Name(), peerDuring-peerBefore)

	// Fault 2: ZooKeeper crashes (SIGKILL) and comes back at once.
	time.Sleep(3 * time.Second)
	if err := zk.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := zk.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%5.1fs fault: ZooKeeper SIGKILLed and restarted", since(began))
	testenv.Eventually(t, 2*time.Minute, in.Ready)
	t.Logf("%5.1fs ingester ready again", since(began))

	// Fault 3: a ZooKeeper outage. Inserts into the replicated tables fail;
	// the ingester keeps retrying and says why it is not ready.
	time.Sleep(3 * time.Second)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := zk.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	outage := time.Now()
	t.Logf("%5.1fs fault: ZooKeeper stopped", since(began))
	var reason string
	testenv.Eventually(t, time.Minute, func() error {
		err := in.Ready()
		if err == nil || !strings.Contains(err.Error(), "ZooKeeper") {
			return fmt.Errorf("ready = %v, want a reason naming ZooKeeper", err)
		}
		reason = err.Error()
		return nil
	})
	t.Logf("%5.1fs not ready after %.1fs of outage: %.300s", since(began), since(outage), reason)
	// Nothing lands while ZooKeeper is down, though messages keep coming.
	frozen, err := totalRows(ctx, nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	producedBefore := p.total()
	time.Sleep(6 * time.Second)
	if after, err := totalRows(ctx, nodes[0]); err != nil || after != frozen {
		t.Errorf("rows changed during the ZooKeeper outage: %d, then %d (%v)", frozen, after, err)
	}
	if p.total() <= producedBefore {
		t.Error("the producer stalled during the outage: the test proves nothing")
	}
	if err := in.Ready(); err == nil {
		t.Error("ingester ready while ZooKeeper is down")
	}
	if err := zk.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	testenv.Eventually(t, 2*time.Minute, in.Ready)
	t.Logf("%5.1fs ZooKeeper back after %.1fs down; ingester ready %.1fs later", since(began), back.Sub(outage).Seconds(), since(back))

	time.Sleep(3 * time.Second)
	produced := p.stop()
	t.Logf("%5.1fs producer stopped: %v", since(began), produced)

	// Every message lands, as read through node 1.
	testenv.Eventually(t, 2*time.Minute, func() error { return allLanded(ctx, nodes[0], produced) })
	// An insert cut off by ZooKeeper while its part was being committed
	// fails with "Unknown status" (code 319) and leaves the part visible on
	// its replica; the ingester inserts the batch again, which ClickHouse
	// stores once if the first commit did happen, and ClickHouse drops the
	// first part five minutes later if it did not. SYSTEM RESTART REPLICA
	// has it check now.
	if unknown := logs.containing("code: 319"); len(unknown) > 0 {
		t.Logf("%5.1fs before the check: %v", since(began), exactlyOnce(ctx, nodes[0], produced))
		t.Logf("%5.1fs %d inserts ended with an unknown status, e.g. %.300s; restarting the replicas' tables for ClickHouse to check their parts now", since(began), len(unknown), unknown[0])
		for i, st := range nodes {
			if err := st.RestartReplicas(ctx); err != nil {
				t.Fatalf("%s: %v", cl.Nodes[i].Name(), err)
			}
		}
	}
	// Exactly once, as read through node 1.
	testenv.Eventually(t, 2*time.Minute, func() error { return exactlyOnce(ctx, nodes[0], produced) })
	stopIngest()
	select {
	case err := <-ingestDone:
		if err != nil {
			t.Errorf("ingester: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("ingester did not stop within a minute")
	}
	t.Logf("%5.1fs everything landed", since(began))

	// The restarted replica caught up: its local tables hold its peer's
	// rows, every replica is writable and has nothing left to fetch.
	testenv.Eventually(t, 2*time.Minute, func() error {
		for s := 0; s < len(nodes); s += 2 {
			if err := sameLocalRows(ctx, nodes[s], nodes[s+1]); err != nil {
				return fmt.Errorf("%s and %s: %w", cl.Nodes[s].Name(), cl.Nodes[s+1].Name(), err)
			}
		}
		for i, st := range nodes {
			if _, ro, queued, err := st.ReplicaHealth(ctx); err != nil || ro != 0 || queued != 0 {
				return fmt.Errorf("%s: %d read-only tables, %d queued replication tasks (%v)", cl.Nodes[i].Name(), ro, queued, err)
			}
		}
		return nil
	})
	for _, table := range allTables {
		n4, _, _ := nodes[3].LocalDigest(ctx, table)
		n3, _, _ := nodes[2].LocalDigest(ctx, table)
		t.Logf("catch-up: %-20s %s %6d rows = %s %6d rows", table, victim.Name(), n4, peer.Name(), n3)
	}

	// Exactly once through the Distributed tables of every node.
	for i, st := range nodes {
		if err := exactlyOnce(ctx, st, produced); err != nil {
			t.Errorf("through %s: %v", cl.Nodes[i].Name(), err)
		}
	}
	for _, table := range allTables {
		n, u, _ := nodes[0].Origins(ctx, table)
		line := fmt.Sprintf("exactly once: %-20s produced %6d, count() %6d, distinct (partition, offset) %6d", table, produced[table], n, u)
		if table.IsEvent() {
			_, ue, _ := nodes[0].Count(ctx, table)
			line += fmt.Sprintf(", uniqExact(event_id) %6d", ue)
		}
		t.Log(line)
	}

	// The inserts that failed were retried, and said why.
	failed := logs.matching("ingest: insert failed; retrying")
	if len(failed) == 0 {
		t.Error("the ingester logged no failed insert: the outage was not seen")
	} else {
		t.Logf("the ingester logged %d failed inserts, e.g.: %.300s", len(failed), failed[len(failed)/2])
	}
	if n := counterSum(t, reg, "vetrina_ingest_clickhouse_errors_total", "242"); n == 0 {
		t.Error("no ClickHouse error 242 (table is read-only) was counted during the ZooKeeper outage")
	}

	// The analyst examples answer the same on every node.
	compareAnalystAnswers(ctx, t, cl, db)

	// A batch inserted again, as the ingester retries one, is stored once.
	var again store.ViewRows
	for k := range 50 {
		again.Add(&event.View{EventID: fmt.Sprintf("again-%d", k), TS: time.Now().UTC().Truncate(time.Second), UserID: 1, ProductID: 1, Surface: "feed"}, 1, int64(1_000_000+k))
	}
	again.SetIngestedAt(time.Now())
	for range 2 {
		if err := nodes[0].Insert(ctx, &again); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, time.Minute, func() error {
		n, u, err := nodes[0].Origins(ctx, store.TableViews)
		if err == nil && (n != produced[store.TableViews]+50 || u != n) {
			err = fmt.Errorf("after inserting one batch of 50 views twice: %d views from %d offsets, want %d", n, u, produced[store.TableViews]+50)
		}
		return err
	})
	t.Logf("%5.1fs done", since(began))
}

var allTables = []store.Table{
	store.TableViews, store.TableChats, store.TablePurchases, store.TableProductVersions,
	store.TableBrandVersions, store.TableInfluencerVersions, store.TableLiveVersions, store.TableDeadLetters,
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

// exactlyOnce checks every table read through st: count() equals the
// number of distinct origins (and of event ids) equals what was produced.
func exactlyOnce(ctx context.Context, st *store.Store, produced map[store.Table]uint64) error {
	var errs []error
	for _, table := range allTables {
		n, u, err := st.Origins(ctx, table)
		if err != nil {
			return err
		}
		want := produced[table]
		if n != want || u != want {
			errs = append(errs, fmt.Errorf("%s: %d rows from %d distinct offsets, want %d", table, n, u, want))
			continue
		}
		if table.IsEvent() {
			n, u, err := st.Count(ctx, table)
			if err != nil {
				return err
			}
			if n != want || u != want {
				errs = append(errs, fmt.Errorf("%s: %d rows, %d distinct event ids, want %d", table, n, u, want))
			}
		}
	}
	return errors.Join(errs...)
}

// allLanded checks that every message produced is in its table, read
// through st, at least once.
func allLanded(ctx context.Context, st *store.Store, produced map[store.Table]uint64) error {
	var errs []error
	for _, table := range allTables {
		_, u, err := st.Origins(ctx, table)
		if err != nil {
			return err
		}
		if u != produced[table] {
			errs = append(errs, fmt.Errorf("%s: %d distinct offsets, want %d", table, u, produced[table]))
		}
	}
	return errors.Join(errs...)
}

func landedSome(ctx context.Context, st *store.Store) error {
	n, err := totalRows(ctx, st)
	if err == nil && n == 0 {
		err = errors.New("no rows landed yet")
	}
	return err
}

func totalRows(ctx context.Context, st *store.Store) (uint64, error) {
	var sum uint64
	for _, table := range allTables {
		n, _, err := st.Origins(ctx, table)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// sameLocalRows compares two replicas' local tables, every row and column.
func sameLocalRows(ctx context.Context, a, b *store.Store) error {
	for _, table := range allTables {
		na, da, err := a.LocalDigest(ctx, table)
		if err != nil {
			return err
		}
		nb, db, err := b.LocalDigest(ctx, table)
		if err != nil {
			return err
		}
		if na != nb || da != db {
			return fmt.Errorf("%s_local: %d rows (digest %x) and %d rows (digest %x)", table, na, da, nb, db)
		}
	}
	return nil
}

// producer streams simulated traffic of the last twelve hours, up to a
// minute ago, with one malformed view in every 500 messages, and counts what the
// broker acknowledged by the table it is to land in.
type producer struct {
	t      *testing.T
	stopCh chan struct{}
	done   chan struct{}
	sent   atomic.Uint64
	mu     sync.Mutex
	counts map[store.Table]uint64
	err    error
}

func startProducer(t *testing.T, addr string, topics ingest.Topics) *producer {
	t.Helper()
	wc := sim.DefaultConfig()
	wc.Users, wc.Brands, wc.ProductsPerBrand, wc.Influencers = 3000, 30, 10, 60
	w, err := sim.NewWorld(wc)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-12 * time.Hour).Truncate(time.Second)
	limit := time.Now().Add(-time.Minute)
	g := sim.NewGenerator(w, 7, start)
	p := &producer{t: t, stopCh: make(chan struct{}), done: make(chan struct{}), counts: map[store.Table]uint64{}}
	wr := &kafka.Writer{Addr: kafka.TCP(addr), Balancer: &kafka.Hash{}, BatchSize: 1000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	pending := w.CatalogMessages(start)
	go func() {
		defer close(p.done)
		defer wr.Close()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			// About 1,000 messages a second, catalog first.
			var msgs []kafka.Message
			batch := map[store.Table]uint64{}
			for len(msgs) < 100 {
				var m sim.Message
				if len(pending) > 0 {
					m, pending = pending[0], pending[1:]
				} else {
					m = g.Next()
					if m.Time.After(limit) {
						break
					}
				}
				msgs = append(msgs, kafka.Message{Topic: topics[m.Kind], Key: m.Key, Value: m.Value})
				batch[store.TableFor(m.Kind)]++
				if n++; n%500 == 0 {
					msgs = append(msgs, kafka.Message{Topic: topics[event.KindView], Key: []byte(strconv.Itoa(n)), Value: fmt.Appendf(nil, `{"event_id":"bad-%d","ts":"yesterday","user_id":1,"product_id":1,"surface":"feed"}`, n)})
					batch[store.TableDeadLetters]++
				}
			}
			wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := wr.WriteMessages(wctx, msgs...)
			cancel()
			p.mu.Lock()
			if err != nil {
				p.err = fmt.Errorf("produce %d messages: %w", len(msgs), err)
				p.mu.Unlock()
				return
			}
			for k, v := range batch {
				p.counts[k] += v
			}
			p.mu.Unlock()
			p.sent.Add(uint64(len(msgs)))
			select {
			case <-p.stopCh:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			close(p.stopCh)
			<-p.done
		}
	})
	return p
}

func (p *producer) total() uint64 { return p.sent.Load() }

// stop ends the stream and returns how many messages were produced for each
// table.
func (p *producer) stop() map[store.Table]uint64 {
	close(p.stopCh)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return maps.Clone(p.counts)
}

// logRecorder is a slog.Handler that keeps the ingester's messages of level
// warning and above, with their attributes.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	attrs []slog.Attr
}

func (r *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	for _, a := range r.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorderWith{r, attrs}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

func (r *logRecorder) containing(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

func (r *logRecorder) matching(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// logRecorderWith is a logRecorder with attributes added by Logger.With.
type logRecorderWith struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (w *logRecorderWith) Enabled(ctx context.Context, l slog.Level) bool { return w.r.Enabled(ctx, l) }

func (w *logRecorderWith) Handle(ctx context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(w.attrs...)
	return w.r.Handle(ctx, rec)
}

func (w *logRecorderWith) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorderWith{w.r, append(slices.Clone(w.attrs), attrs...)}
}

func (w *logRecorderWith) WithGroup(string) slog.Handler { return w }

// counterSum adds up the series of a counter whose labels include value.
func counterSum(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// compareAnalystAnswers runs every example query of docs/analytics.md as
// the analyst on every node, at one fixed instant (now() in the queries is
// replaced by a constant, so that windows and ages do not move between
// nodes), and checks that every node gives the same rows and that the
// examples that must find rows do.
func compareAnalystAnswers(ctx context.Context, t *testing.T, cl *testenv.Cluster, db string) {
	t.Helper()
	examples := analyticsExamples(t)
	if len(examples) < 12 {
		t.Fatalf("found %d example queries in docs/analytics.md, want at least 12", len(examples))
	}
	mustHaveRows := []string{"GMV by brand and hour", "Live funnel", "Conversion by category", "Top 3 influencers per category", "Top influencers by GMV", "Freshness"}
	at := fmt.Sprintf("toDateTime(%d)", time.Now().Unix())
	conns := make([]clickhouse.Conn, len(cl.Nodes))
	for i, n := range cl.Nodes {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{n.NativeAddr()}, Auth: clickhouse.Auth{Database: db, Username: "analyst"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns[i] = conn
	}
	for _, ex := range examples {
		q := tableRE.ReplaceAllString(ex.sql, "${1}"+db+".")
		q = strings.ReplaceAll(q, "now()", at)
		var first []string
		for i, conn := range conns {
			rows, err := answer(ctx, conn, q)
			if err != nil {
				t.Errorf("%s on %s: %v", ex.title, cl.Nodes[i].Name(), err)
				continue
			}
			if i == 0 {
				first = rows
				for _, want := range mustHaveRows {
					if strings.HasPrefix(ex.title, want) && len(rows) == 0 {
						t.Errorf("%s: no rows", ex.title)
					}
				}
				t.Logf("analyst: %-60s %4d rows on every node", ex.title, len(rows))
				continue
			}
			if !slices.Equal(rows, first) {
				t.Errorf("%s: %s answers %d rows, %s %d; first difference: %s", ex.title, cl.Nodes[i].Name(), len(rows), cl.Nodes[0].Name(), len(first), firstDiff(rows, first))
			}
		}
	}
}

// answer runs q and returns its rows as text, sorted (rows that tie in
// the ORDER BY may come in any order), floats to 9 significant digits (a
// sum over shards may add in any order).
func answer(ctx context.Context, conn clickhouse.Conn, q string) ([]string, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out []string
	for rows.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			switch x := reflect.ValueOf(v).Elem().Interface().(type) {
			case float64:
				cells[i] = strconv.FormatFloat(roundSig(x), 'g', -1, 64)
			case float32:
				cells[i] = strconv.FormatFloat(roundSig(float64(x)), 'g', -1, 64)
			case time.Time:
				cells[i] = x.UTC().Format(time.RFC3339)
			default:
				cells[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

func roundSig(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 9, 64), 64)
	return v
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q vs %q", a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}
