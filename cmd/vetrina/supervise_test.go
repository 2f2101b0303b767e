package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/vetrina/vetrina/internal/testenv"
)

// TestUp_ClickHouseKilledTwice_RestartedAndNothingLost: `vetrina up`
// supervises its managed ClickHouse. The child is SIGKILLed twice while
// `vetrina simulate` (another process) streams events; each time up logs
// the restart, counts it in vetrina_up_clickhouse_restarts_total and starts
// it again on the same ports and data; at the end every event produced is
// in ClickHouse exactly once.
func TestUp_ClickHouseKilledTwice_RestartedAndNothingLost(t *testing.T) {
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	chNative, chHTTP := freeAddr(t), freeAddr(t)
	up := start(t, "up", "--data-dir", t.TempDir(), "--http", httpAddr, "--broker-listen", brokerAddr,
		"--clickhouse-native-port", portOf(chNative), "--clickhouse-http-port", portOf(chHTTP), "--sim-rate", "0")
	base := "http://" + httpAddr
	ready := func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	}
	testenv.Eventually(t, 90*time.Second, ready)

	const events = 12000
	sim := exec.Command(binPath, "simulate", "--brokers", brokerAddr, "--count", strconv.Itoa(events), "--rate", "600", "--seed", "5")
	simOut, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	pidRE := regexp.MustCompile(`msg="clickhouse ready".* pid=(\d+)`)
	lastPID := func() int {
		m := pidRE.FindAllStringSubmatch(up.output(), -1)
		if len(m) == 0 {
			t.Fatalf("no ClickHouse pid in up's log:\n%s", up.output())
		}
		pid, _ := strconv.Atoi(m[len(m)-1][1])
		return pid
	}
	for kill := 1; kill <= 2; kill++ {
		time.Sleep(4 * time.Second)
		pid := lastPID()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill ClickHouse %d: %v", pid, err)
		}
		t.Logf("killed ClickHouse (pid %d), %d of 2", pid, kill)
		testenv.Eventually(t, 60*time.Second, func() error {
			if n := strings.Count(up.output(), "managed ClickHouse restarted"); n < kill {
				return fmt.Errorf("%d restarts logged, want %d", n, kill)
			}
			return ready()
		})
	}
	sc := bufio.NewScanner(simOut)
	produced := -1
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "produced %d events", &produced); err == nil {
			break
		}
	}
	if err := sim.Wait(); err != nil || produced != events {
		t.Fatalf("vetrina simulate: %v, produced %d, want %d", err, produced, events)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chNative}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows, distinct uint64
	testenv.Eventually(t, 90*time.Second, func() error {
		rows, distinct = 0, 0
		for _, table := range []string{"views", "chats", "purchases"} {
			var n, u uint64
			if err := conn.QueryRow(context.Background(), "SELECT count(), uniqExact(event_id) FROM vetrina."+table).Scan(&n, &u); err != nil {
				return err
			}
			rows, distinct = rows+n, distinct+u
		}
		if rows < events {
			return fmt.Errorf("%d of %d events landed", rows, events)
		}
		return nil
	})
	if rows != events || distinct != events {
		t.Errorf("count() %d, uniqExact(event_id) %d; want both %d", rows, distinct, events)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics strings.Builder
	sc = bufio.NewScanner(resp.Body)
	for sc.Scan() {
		metrics.WriteString(sc.Text() + "\n")
	}
	resp.Body.Close()
	if !strings.Contains(metrics.String(), "\nvetrina_up_clickhouse_restarts_total 2\n") {
		t.Errorf("vetrina_up_clickhouse_restarts_total is not 2:\n%s", regexp.MustCompile(`(?m)^vetrina_up.*$`).FindAllString(metrics.String(), -1))
	}
	up.stop(t)
	if code := up.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("vetrina up exited %d after SIGTERM", code)
	}
}
