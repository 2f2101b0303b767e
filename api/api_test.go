package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vetrina/vetrina/api"
)

func serve(t *testing.T, checks map[string]api.Check, reg *prometheus.Registry) string {
	t.Helper()
	return runServer(t, api.Config{Addr: "127.0.0.1:0", Checks: checks, Gatherer: reg, Registerer: reg})
}

// runServer starts a server with cfg on a free port until the test ends
// and returns its base URL.
func runServer(t testing.TB, cfg api.Config) string {
	t.Helper()
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return "http://" + srv.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadyz_ReportsEachCheck(t *testing.T) {
	failing := errors.New("clickhouse: connection refused")
	var down atomic.Bool
	base := serve(t, map[string]api.Check{
		"clickhouse": func(context.Context) error {
			if down.Load() {
				return failing
			}
			return nil
		},
		"ingest": func(context.Context) error { return nil },
	}, prometheus.NewRegistry())

	code, body := get(t, base+"/readyz")
	if code != http.StatusOK {
		t.Fatalf("ready: status %d body %s", code, body)
	}
	down.Store(true)
	code, body = get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("not ready: status %d, want 503", code)
	}
	var r struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Ready || r.Checks["clickhouse"] != failing.Error() || r.Checks["ingest"] != "ok" {
		t.Fatalf("readyz details = %+v", r)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz status %d while not ready; it must stay alive", code)
	}
}

func TestMetrics_ServesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "vetrina_test_things_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	base := serve(t, nil, reg)
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "vetrina_test_things_total 3") {
		t.Fatalf("metrics: status %d body %q", code, body)
	}
}

func TestReadyz_DegradedIsReportedButReady(t *testing.T) {
	base := serve(t, map[string]api.Check{
		"clickhouse": func(context.Context) error { return nil },
		"ranking": func(context.Context) error {
			return fmt.Errorf("%w: no ranking model trained yet", api.ErrDegraded)
		},
	}, prometheus.NewRegistry())
	code, body := get(t, base+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, `"ready":true`) || !strings.Contains(body, "no ranking model trained yet") {
		t.Errorf("degraded check: status %d body %s, want 200, ready, with the detail", code, body)
	}
}

// TestMetrics_RED checks that every route counts its requests by status
// code and times them.
func TestMetrics_RED(t *testing.T) {
	reg := prometheus.NewRegistry()
	base := serve(t, map[string]api.Check{"down": func(context.Context) error { return errors.New("down") }}, reg)
	get(t, base+"/healthz")
	get(t, base+"/healthz")
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz: %d", code)
	}
	_, body := get(t, base+"/metrics")
	for _, want := range []string{
		`vetrina_http_requests_total{code="200",route="GET /healthz"} 2`,
		`vetrina_http_requests_total{code="503",route="GET /readyz"} 1`,
		`vetrina_http_request_duration_seconds_count{route="GET /healthz"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
