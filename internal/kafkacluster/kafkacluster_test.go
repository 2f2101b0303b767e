package kafkacluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// start runs a cluster for one test and closes it at the end, failing the
// test if a node had died on its own or a JVM is left behind.
func start(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Apache Kafka %s, %d node(s), up in %v: %s", c.Version(), len(c.NodeIDs()), time.Since(began).Round(time.Millisecond), strings.Join(c.Bootstrap(), ","))
	t.Cleanup(func() {
		var pids []int
		for _, id := range c.NodeIDs() {
			if c.Running(id) {
				pids = append(pids, c.PID(id))
			}
		}
		// A broker stopping waits for the controllers, which stop at the same
		// time: on a busy machine that took over 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close the cluster: %v", err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("kafka pid %d still there after Close (kill 0: %v)", pid, err)
			}
		}
		if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed by Close: %v", c.Dir(), err)
		}
	})
	return c
}

// TestCluster_ThreeNodes_FailoverAndRestart runs three nodes with a topic
// of replication factor 3 and min.insync.replicas 2, crashes the leader of
// a partition (every leadership it had moves and it leaves the ISRs;
// acks=all writes go on), starts it again (it catches up), restarts the
// group coordinator cleanly (the coordinator moves), and reads back every
// message written.
func TestCluster_ThreeNodes_FailoverAndRestart(t *testing.T) {
	c := start(t, Config{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const topic, group = "orders", "failover-group"
	if err := c.CreateTopics(ctx, Topic{Name: topic, Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2}); err != nil {
		t.Fatal(err)
	}
	ps, err := c.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 6 {
		t.Fatalf("%d partitions, want 6: %+v", len(ps), ps)
	}
	for _, p := range ps {
		if !slices.Equal(p.Replicas, []int{1, 2, 3}) || !slices.Equal(p.ISR, []int{1, 2, 3}) {
			t.Fatalf("partition %d: replicas %v, in sync %v; want all three", p.ID, p.Replicas, p.ISR)
		}
	}

	w := &kafka.Writer{Addr: kafka.TCP(c.Bootstrap()...), Topic: topic, Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond, MaxAttempts: 20, WriteBackoffMin: 100 * time.Millisecond, WriteBackoffMax: time.Second}
	defer w.Close()
	written := 0
	write := func(n int) {
		t.Helper()
		msgs := make([]kafka.Message, n)
		for i := range msgs {
			msgs[i] = kafka.Message{Value: fmt.Appendf(nil, "m%d", written+i)}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("write with acks=all: %v", err)
		}
		written += n
	}
	write(300)

	victim := ps[0].Leader
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if c.Running(victim) {
		t.Fatalf("node %d still running after Kill", victim)
	}
	moved := time.Now()
	waitFor(ctx, t, fmt.Sprintf("node %d to lose its leaderships and leave the ISRs", victim), func() error {
		ps, err := c.Partitions(ctx, topic)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Leader == victim || p.Leader < 0 || slices.Contains(p.ISR, victim) {
				return fmt.Errorf("partition %d: leader %d, in sync %v", p.ID, p.Leader, p.ISR)
			}
		}
		return nil
	})
	t.Logf("node %d killed; its leaderships moved within %v", victim, time.Since(moved).Round(time.Millisecond))
	write(300) // two replicas in sync: acks=all still succeeds

	if err := c.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInSync(ctx, topic); err != nil {
		t.Fatalf("node %d did not catch up: %v", victim, err)
	}

	coord, err := c.Coordinator(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx, coord); err != nil {
		t.Fatalf("clean stop of the coordinator, node %d: %v", coord, err)
	}
	waitFor(ctx, t, "the group coordinator to move", func() error {
		now, err := c.Coordinator(ctx, group)
		if err != nil {
			return err
		}
		if now == coord {
			return fmt.Errorf("still node %d", now)
		}
		return nil
	})
	write(300)
	if err := c.StartNode(ctx, coord); err != nil {
		t.Fatal(err)
	}

	// Every message is there once.
	seen := map[string]int{}
	for _, p := range ps {
		conn, err := kafka.DialLeader(ctx, "tcp", c.Bootstrap()[0], topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, last, err := conn.ReadOffsets()
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < last; {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := conn.ReadBatch(1, 1<<20)
			for {
				m, err := b.ReadMessage()
				if err != nil {
					break
				}
				if m.Offset >= off {
					seen[string(m.Value)]++
					off = m.Offset + 1
				}
			}
			if err := b.Close(); err != nil {
				t.Fatalf("read %s/%d at %d: %v", topic, p.ID, off, err)
			}
		}
		conn.Close()
	}
	if len(seen) != written {
		t.Errorf("read %d distinct messages back, wrote %d", len(seen), written)
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("message %s stored %d times", v, n)
		}
	}
}

// TestStart_MissingJarsOrJava_SaysHowToInstall: without the jars or Java
// the error names what is missing and the command that fetches it.
func TestStart_MissingJarsOrJava_SaysHowToInstall(t *testing.T) {
	_, err := Start(context.Background(), Config{Version: "4.4.0", Home: t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "scripts/fetch-kafka.sh 4.4.0") {
		t.Errorf("without jars: %v; want ErrNotInstalled naming scripts/fetch-kafka.sh 4.4.0", err)
	}
	_, err = Start(context.Background(), Config{Java: "/nonexistent/java"})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "install-deps.sh --test") {
		t.Errorf("without java: %v; want ErrNotInstalled naming scripts/install-deps.sh --test", err)
	}
	if _, err = Start(context.Background(), Config{Nodes: 2}); err == nil || !strings.Contains(err.Error(), "run 1 or 3") {
		t.Errorf("2 nodes: %v; want an error", err)
	}
}

// TestFetchScript_FetchesDefaultVersion: scripts/fetch-kafka.sh with no
// argument fetches the version the tests run.
func TestFetchScript_FetchesDefaultVersion(t *testing.T) {
	b, err := os.ReadFile("../../scripts/fetch-kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^DEFAULT_VERSION=(\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != DefaultVersion {
		t.Errorf("scripts/fetch-kafka.sh DEFAULT_VERSION %q, want kafkacluster.DefaultVersion %q", m, DefaultVersion)
	}
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last: %v)", what, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
