// Package testenv starts the real services that integration tests run
// against: a ClickHouse server (managed child process, or the one named by
// VETRINA_TEST_CLICKHOUSE) and the embedded Kafka-protocol broker over TCP.
// Nothing is mocked and nothing is skipped: a missing ClickHouse fails the
// test with instructions.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/store"
)

var (
	chOnce sync.Once
	chAddr string
	chSrv  *chserver.Server
	chDir  string
	chErr  error
)

// ClickHouseAddr returns the native address of a ClickHouse server shared by
// the tests of this package, starting one on first use. Call Shutdown from
// TestMain to stop it.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	chOnce.Do(func() {
		if a := os.Getenv("VETRINA_TEST_CLICKHOUSE"); a != "" {
			chAddr = a
			return
		}
		chDir, chErr = os.MkdirTemp("", "vetrina-test-ch-")
		if chErr != nil {
			return
		}
		chSrv, chErr = chserver.Start(context.Background(), chserver.Config{Dir: chDir})
		if chErr == nil {
			chAddr = chSrv.NativeAddr()
		}
	})
	if chErr != nil {
		t.Fatalf("integration tests need ClickHouse (apt-get install clickhouse-server, or set VETRINA_TEST_CLICKHOUSE=host:port): %v", chErr)
	}
	return chAddr
}

// RestartClickHouse kills the managed ClickHouse (SIGKILL), keeps it down
// for downtime, and starts it again on the same ports and data. It fails
// the test when the tests use an external server.
func RestartClickHouse(t testing.TB, downtime time.Duration) {
	t.Helper()
	restart := KillClickHouse(t)
	time.Sleep(downtime)
	restart()
}

// KillClickHouse kills the managed ClickHouse (SIGKILL) and returns a
// function that starts it again on the same ports and data.
func KillClickHouse(t testing.TB) (restart func()) {
	t.Helper()
	if chSrv == nil {
		t.Fatal("killing ClickHouse needs the managed server; unset VETRINA_TEST_CLICKHOUSE")
	}
	native, httpAddr := chSrv.NativeAddr(), chSrv.HTTPAddr()
	if err := chSrv.Kill(); err != nil {
		t.Fatalf("kill ClickHouse: %v", err)
	}
	<-chSrv.Done()
	return func() {
		t.Helper()
		srv, err := chserver.Start(context.Background(), chserver.Config{Dir: chDir, NativePort: port(native), HTTPPort: port(httpAddr)})
		if err != nil {
			t.Fatalf("restart ClickHouse: %v", err)
		}
		chSrv = srv
	}
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Shutdown stops the managed ClickHouse, if any. TestMain calls it.
func Shutdown() {
	if chSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = chSrv.Stop(ctx)
		cancel()
		_ = os.RemoveAll(chDir)
	}
}

// RandomName returns prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Store opens a fresh migrated database for one test and drops it at the end.
func Store(t testing.TB) (*store.Store, store.Config) {
	t.Helper()
	cfg := store.Config{Addr: ClickHouseAddr(t), Database: RandomName("test_")}
	st, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := st.DropDatabase(ctx); err != nil {
			t.Logf("drop test database: %v", err)
		}
		st.Close()
	})
	return st, cfg
}

// Broker starts an embedded broker on a free loopback port with the given
// topics, closed at the end of the test.
func Broker(t testing.TB, partitions int, topics ...string) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Topics: topics, Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Eventually polls cond every 100ms until it returns nil or timeout passes,
// then fails the test with the last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Main runs a package's tests and then stops the managed ClickHouse; a
// package's TestMain is `func TestMain(m *testing.M) { testenv.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}
