package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/testenv"
)

// TestServe_ClickHouseUnreachable_HTTPAtOnceAndACleanStop: with no
// ClickHouse to reach, `vetrina serve` still opens its port at once:
// /healthz answers 200 and /readyz 503 with the reason, while it keeps
// retrying behind them; SIGTERM then stops it with status 0 and no error.
func TestServe_ClickHouseUnreachable_HTTPAtOnceAndACleanStop(t *testing.T) {
	httpAddr, nowhere := freeAddr(t), freeAddr(t) // nothing listens on nowhere
	began := time.Now()
	p := start(t, "serve", "--no-auth", "--http", httpAddr, "--clickhouse", nowhere, "--brokers", freeAddr(t), "--model-snapshot", "")
	base := "http://" + httpAddr
	testenv.Eventually(t, 20*time.Second, func() error {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz %d", resp.StatusCode)
		}
		return nil
	})
	t.Logf("/healthz answered %v after the start", time.Since(began).Round(time.Millisecond))
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || r.Ready || !strings.Contains(r.Checks["schema"], "schema migrations pending") {
		t.Errorf("/readyz: %d %+v (%v); want 503 saying the schema is pending", resp.StatusCode, r, err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(p.output(), "retrying") {
			return fmt.Errorf("no retry logged yet:\n%s", p.output())
		}
		return nil
	})
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of SIGTERM:\n%s", p.output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(p.output(), "level=ERROR") {
		t.Errorf("after SIGTERM: exit %d; want 0 and no error line:\n%s", code, p.output())
	}
}
