package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func views(topic string, from, to int) []kafka.Message {
	now := time.Now().UTC()
	var out []kafka.Message
	for i := from; i < to; i++ {
		m := view(i, now)
		m.Topic = topic
		out = append(out, m)
	}
	return out
}

func waitViews(t *testing.T, st *store.Store, want uint64, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		n, u, err := st.Count(context.Background(), store.TableViews)
		if err != nil {
			return err
		}
		if n != want || u != want {
			return fmt.Errorf("views count %d, unique %d, want %d", n, u, want)
		}
		return nil
	})
}

// ClickHouse down for a minute: the ingester reports not ready, keeps what
// it read, shows the lag, and lands everything once ClickHouse is back.
func TestIngest_ClickHouseDownAMinute_PausesThenDrains(t *testing.T) {
	st, _ := testenv.Store(t)
	topics := uniqueTopics()
	b := testenv.Broker(t, 2, topicList(topics)...)
	reg := prometheus.NewRegistry()
	in, stop := startIngester(t, ingest.Config{Brokers: []string{b.Addr()}, GroupID: testenv.RandomName("g"), Topics: topics, Linger: 20 * time.Millisecond, Logger: testLogger(t)}, st, reg)
	defer stop()
	produce(t, b.Addr(), views(topics[event.KindView], 0, 1000)...)
	waitViews(t, st, 1000, 30*time.Second)

	restart := testenv.KillClickHouse(t)
	down := time.Now()
	produce(t, b.Addr(), views(topics[event.KindView], 1000, 3000)...)
	testenv.Eventually(t, 30*time.Second, func() error {
		if in.Ready() == nil {
			return fmt.Errorf("ingester still ready with ClickHouse down")
		}
		if lag := gaugeSum(t, reg, "vetrina_ingest_consumer_lag_messages", topics[event.KindView]); lag < 2000 {
			return fmt.Errorf("lag %v while ClickHouse is down, want 2000", lag)
		}
		return nil
	})
	t.Logf("while ClickHouse is down: %v", in.Ready())
	time.Sleep(time.Minute - time.Since(down))
	restart()
	waitViews(t, st, 3000, 60*time.Second)
	testenv.Eventually(t, 30*time.Second, in.Ready)
	if lag := gaugeSum(t, reg, "vetrina_ingest_consumer_lag_messages", topics[event.KindView]); lag != 0 {
		t.Errorf("lag %v after the drain, want 0", lag)
	}
}

// gaugeSum adds up a gauge over the series of one topic.
func gaugeSum(t *testing.T, reg *prometheus.Registry, name, topic string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic {
					sum += m.GetGauge().GetValue()
				}
			}
		}
	}
	return sum
}

// Broker down: the ingester reports not ready, and resumes when the broker
// (persisted to disk) is back on the same address.
func TestIngest_BrokerDown_ResumesWhenBack(t *testing.T) {
	st, _ := testenv.Store(t)
	topics := uniqueTopics()
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: topicList(topics), Partitions: 2, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	in, stop := startIngester(t, ingest.Config{Brokers: []string{addr}, GroupID: testenv.RandomName("g"), Topics: topics, Linger: 20 * time.Millisecond, SessionTimeout: 3 * time.Second, Logger: testLogger(t)}, st, prometheus.NewRegistry())
	defer stop()
	produce(t, addr, views(topics[event.KindView], 0, 500)...)
	waitViews(t, st, 500, 30*time.Second)

	b.Close()
	testenv.Eventually(t, 30*time.Second, func() error {
		if in.Ready() == nil {
			return fmt.Errorf("ingester still ready with the broker down")
		}
		return nil
	})
	t.Logf("while the broker is down: %v", in.Ready())
	time.Sleep(2 * time.Second)
	b, err = broker.Start(broker.Config{Listen: addr, Topics: topicList(topics), Partitions: 2, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	produce(t, addr, views(topics[event.KindView], 500, 1500)...)
	waitViews(t, st, 1500, 60*time.Second)
}

// SIGTERM-like shutdown lands the in-flight batch: a long linger keeps
// rows in memory, and cancelling Run must still land them.
func TestIngest_Shutdown_LandsInFlightBatch(t *testing.T) {
	st, _ := testenv.Store(t)
	topics := uniqueTopics()
	b := testenv.Broker(t, 1, topicList(topics)...)
	in, stop := startIngester(t, ingest.Config{Brokers: []string{b.Addr()}, GroupID: testenv.RandomName("g"), Topics: topics, Linger: time.Hour, Logger: testLogger(t)}, st, prometheus.NewRegistry())
	testenv.Eventually(t, 30*time.Second, in.Ready)
	produce(t, b.Addr(), views(topics[event.KindView], 0, 700)...)
	time.Sleep(2 * time.Second) // read, but held by the hour-long linger
	if n, _, _ := st.Count(context.Background(), store.TableViews); n != 0 {
		t.Fatalf("%d views landed before shutdown; the test needs them in flight", n)
	}
	stop()
	waitViews(t, st, 700, 5*time.Second)
}

// A topic recreated behind ClickHouse's back (offsets start again at 0):
// the ingester must not quietly skip the new messages; it stops the
// partition and says why in its readiness.
func TestIngest_TopicRecreated_RefusesToSkip(t *testing.T) {
	st, _ := testenv.Store(t)
	topics := uniqueTopics()
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: topicList(topics), Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	in, stop := startIngester(t, ingest.Config{Brokers: []string{addr}, GroupID: testenv.RandomName("g"), Topics: topics, Linger: 20 * time.Millisecond, SessionTimeout: 3 * time.Second, Logger: testLogger(t)}, st, prometheus.NewRegistry())
	defer stop()
	produce(t, addr, views(topics[event.KindView], 0, 300)...)
	waitViews(t, st, 300, 30*time.Second)

	b.Close() // in memory: its log is gone
	b, err = broker.Start(broker.Config{Listen: addr, Topics: topicList(topics), Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	produce(t, addr, views(topics[event.KindView], 1000, 1010)...)
	testenv.Eventually(t, 15*time.Second, func() error {
		if err := in.Ready(); err == nil || !strings.Contains(err.Error(), "recreated") {
			return fmt.Errorf("readiness %v, want a report of the recreated topic", err)
		}
		return nil
	})
	if n, _, _ := st.Count(context.Background(), store.TableViews); n != 300 {
		t.Fatalf("views %d, want the 300 from before and nothing else", n)
	}
}
