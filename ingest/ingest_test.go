package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// uniqueTopics returns topics named for this test, so tests can share a
// broker-less setup without clashing.
func uniqueTopics() ingest.Topics {
	prefix := testenv.RandomName("t")
	t := ingest.Topics{}
	for _, k := range event.Kinds {
		t[k] = prefix + "." + k.Plural()
	}
	return t
}

func topicList(t ingest.Topics) []string {
	var out []string
	for _, k := range event.Kinds {
		out = append(out, t[k])
	}
	return out
}

func produce(t testing.TB, addr string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Balancer: &kafka.Hash{}, BatchSize: 1000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce %d messages: %v", len(msgs), err)
	}
}

func startIngester(t testing.TB, cfg ingest.Config, st ingest.Store, reg prometheus.Registerer) (*ingest.Ingester, func()) {
	t.Helper()
	in, err := ingest.New(cfg, st, ingest.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ingester Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("ingester did not stop within 60s")
		}
	}
	t.Cleanup(func() { cancel() })
	return in, stop
}

func count(t testing.TB, st *store.Store, table store.Table) (uint64, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, u, err := st.Count(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return n, u
}

func view(i int, ts time.Time) kafka.Message {
	return kafka.Message{
		Key:   []byte(fmt.Sprint(i % 97)),
		Value: fmt.Appendf(nil, `{"event_id":"v-%d","ts":%q,"user_id":%d,"product_id":%d,"surface":"feed","dwell_ms":1200}`, i, ts.Format(time.RFC3339Nano), 1+i%97, 1+i%13),
	}
}

func TestIngest_ValidAndInvalid_LandOnceWithReasons(t *testing.T) {
	st, _ := testenv.Store(t)
	topics := uniqueTopics()
	b := testenv.Broker(t, 3, topicList(topics)...)
	reg := prometheus.NewRegistry()
	in, stop := startIngester(t, ingest.Config{Brokers: []string{b.Addr()}, GroupID: testenv.RandomName("g"), Topics: topics, Linger: 50 * time.Millisecond, Logger: testLogger(t)}, st, reg)

	now := time.Now().UTC()
	var views []kafka.Message
	for i := range 500 {
		m := view(i, now)
		m.Topic = topics[event.KindView]
		views = append(views, m)
	}
	// A producer retry: the same event again.
	dup := view(7, now)
	dup.Topic = topics[event.KindView]
	views = append(views, dup)

	bad := []struct {
		value  string
		reason event.Reason
	}{
		{`{"event_id":"x1","ts":`, event.ReasonMalformed},
		{`not json at all`, event.ReasonMalformed},
		{`{"event_id":"x2","ts":"2026-01-01T00:00:00Z","user_id":"abc","product_id":1,"surface":"feed"}`, event.ReasonWrongType},
		{`{"event_id":"x3","ts":"2026-01-01T00:00:00Z","product_id":1,"surface":"feed"}`, event.ReasonMissing},
		{`{"event_id":"x4","ts":"1970-01-02T00:00:00Z","user_id":1,"product_id":1,"surface":"feed"}`, event.ReasonBadTimestamp},
		{`{"event_id":"x5","ts":"2999-01-01T00:00:00Z","user_id":1,"product_id":1,"surface":"feed"}`, event.ReasonBadTimestamp},
		{`{"event_id":"x6","ts":"2026-01-01T00:00:00Z","user_id":1,"product_id":1,"surface":"tv"}`, event.ReasonOutOfRange},
		{`{"event_id":"x7","ts":"2026-01-01T00:00:00Z","user_id":1,"product_id":1,"surface":"feed","pad":"` + strings.Repeat("a", 70<<10) + `"}`, event.ReasonOversized},
	}
	for i, bm := range bad {
		views = append(views, kafka.Message{Topic: topics[event.KindView], Key: []byte(fmt.Sprint(i)), Value: []byte(bm.value)})
	}
	purchases := []kafka.Message{
		{Topic: topics[event.KindPurchase], Key: []byte("1"), Value: []byte(`{"event_id":"p1","ts":1764000000000,"order_id":"o1","user_id":1,"product_id":2,"quantity":2,"unit_price":19.99,"currency":"EUR"}`)},
		{Topic: topics[event.KindPurchase], Key: []byte("1"), Value: []byte(`{"event_id":"p2","ts":1764000000000,"order_id":"o2","user_id":1,"product_id":2,"quantity":-1,"unit_price":19.99,"currency":"EUR"}`)},
	}
	catalog := []kafka.Message{
		{Topic: topics[event.KindProduct], Key: []byte("5"), Value: []byte(`{"product_id":5,"brand_id":1,"category":"kitchen","title":"Pan","price":30,"currency":"EUR","in_stock":true,"updated_at":"2026-01-01T00:00:00Z"}`)},
		{Topic: topics[event.KindProduct], Key: []byte("5"), Value: []byte(`{"product_id":5,"brand_id":1,"category":"kitchen","title":"Pan v2","price":25,"currency":"EUR","in_stock":false,"updated_at":"2026-01-02T00:00:00Z"}`)},
		{Topic: topics[event.KindInfluencer], Key: []byte("9"), Value: []byte(`{"influencer_id":9,"handle":"chef","followers":1200,"country":"IT","categories":["kitchen","home"],"fee":800,"updated_at":"2026-01-01T00:00:00Z"}`)},
		{Topic: topics[event.KindBrand], Key: []byte("1"), Value: []byte(`{"brand_id":1,"name":"Pans & Co","country":"IT","updated_at":"2026-01-01T00:00:00Z"}`)},
	}
	// A sponsored live: on air, then ended; and two that are rejected.
	lives := []kafka.Message{
		{Topic: topics[event.KindLive], Key: []byte("70"), Value: []byte(`{"live_id":70,"influencer_id":9,"sponsor_brand_id":1,"fee":800,"product_ids":[5],"started_at":"2026-01-03T18:00:00Z","updated_at":"2026-01-03T18:00:00Z"}`)},
		{Topic: topics[event.KindLive], Key: []byte("70"), Value: []byte(`{"live_id":70,"influencer_id":9,"sponsor_brand_id":1,"fee":800,"product_ids":[5],"started_at":"2026-01-03T18:00:00Z","ended_at":"2026-01-03T19:30:00Z","updated_at":"2026-01-03T19:30:00Z"}`)},
		{Topic: topics[event.KindLive], Key: []byte("71"), Value: []byte(`{"live_id":71,"influencer_id":9,"started_at":"2026-01-03T18:00:00Z","ended_at":"2026-01-03T17:00:00Z","updated_at":"2026-01-03T18:00:00Z"}`)},
		{Topic: topics[event.KindLive], Key: []byte("72"), Value: []byte(`{"live_id":72,"influencer_id":9,"fee":-10,"started_at":"2026-01-03T18:00:00Z","updated_at":"2026-01-03T18:00:00Z"}`)},
	}
	produce(t, b.Addr(), append(append(append(views, purchases...), catalog...), lives...)...)

	testenv.Eventually(t, 30*time.Second, func() error {
		n, _ := count(t, st, store.TableViews)
		dl, _ := count(t, st, store.TableDeadLetters)
		p, _ := count(t, st, store.TablePurchases)
		l, _ := count(t, st, store.TableLiveVersions)
		if n != 500 || dl != uint64(len(bad))+3 || p != 1 || l != 2 {
			return fmt.Errorf("views %d (want 500), dead letters %d (want %d), purchases %d (want 1), live versions %d (want 2)", n, dl, len(bad)+3, p, l)
		}
		return nil
	})
	if err := in.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if got := counterValue(t, reg, "vetrina_ingest_duplicates_total", map[string]string{"topic": topics[event.KindView]}); got != 1 {
		t.Errorf("duplicates metric = %v, want 1", got)
	}
	n, u := count(t, st, store.TableViews)
	if n != u {
		t.Errorf("views: count %d, uniqExact(event_id) %d", n, u)
	}
	for _, bm := range bad {
		if got := counterValue(t, reg, "vetrina_ingest_dead_letters_total", map[string]string{"topic": topics[event.KindView], "reason": string(bm.reason)}); got < 1 {
			t.Errorf("dead letter metric for reason %s = %v, want ≥ 1", bm.reason, got)
		}
	}
	if got := counterValue(t, reg, "vetrina_ingest_dead_letters_total", map[string]string{"topic": topics[event.KindLive], "reason": string(event.ReasonOutOfRange)}); got != 2 {
		t.Errorf("dead letter metric for lives out of range = %v, want 2 (ended before started, negative fee)", got)
	}
	ctx := context.Background()
	ls, err := st.Lives(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].LiveID != 70 || ls[0].SponsorBrandID != 1 || ls[0].Fee != 800 || !ls[0].EndedAt.Equal(time.Date(2026, 1, 3, 19, 30, 0, 0, time.UTC)) {
		t.Errorf("lives view = %+v, want live 70 ended at 19:30 with its sponsor and fee", ls)
	}
	infl, err := st.Influencers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infl) != 1 || infl[0].Fee != 800 {
		t.Errorf("influencers view = %+v, want influencer 9 at fee 800", infl)
	}
	stop()
}

// counterValue returns the value of the counter name with exactly labels,
// from reg, or 0 if there is none.
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
