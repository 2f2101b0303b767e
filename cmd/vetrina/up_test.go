package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/vetrina/vetrina/internal/testenv"
)

// TestUp_RunsEverything_KcatEventVisibleWithin2s runs `vetrina up` as a user
// would, produces one event with kcat (a client that is not ours) and
// requires it in ClickHouse within two seconds; then Ctrl-C stops it all.
func TestUp_RunsEverything_KcatEventVisibleWithin2s(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("this test needs kcat (apt-get install kcat; `make test` installs it)")
	}
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	chNative, chHTTP := freeAddr(t), freeAddr(t)
	up := start(t, "up", "--data-dir", t.TempDir(), "--http", httpAddr, "--broker-listen", brokerAddr,
		"--clickhouse-native-port", portOf(chNative), "--clickhouse-http-port", portOf(chHTTP), "--sim-rate", "50")

	testenv.Eventually(t, 90*time.Second, func() error {
		if !strings.Contains(up.output(), "Vetrina is up") {
			return fmt.Errorf("not up yet:\n%s", up.output())
		}
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	for _, want := range []string{chNative, "http://" + chHTTP, brokerAddr, "http://" + httpAddr} {
		if !strings.Contains(up.output(), want) {
			t.Errorf("`vetrina up` did not print %s:\n%s", want, up.output())
		}
	}

	// Read as an analyst would, with clickhouse-go and no code of ours.
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chNative}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := testenv.RandomName("kcat-")
	msg := fmt.Sprintf(`{"event_id":%q,"ts":%q,"user_id":7,"product_id":42,"surface":"feed"}`, id, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(kcat, "-b", brokerAddr, "-t", "vetrina.views", "-k", "7", "-P")
	cmd.Stdin = strings.NewReader(msg + "\n")
	sent := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	var seen time.Duration
	testenv.Eventually(t, 10*time.Second, func() error {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM vetrina.views WHERE event_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("event %s: %d rows", id, n)
		}
		seen = time.Since(sent)
		return nil
	})
	t.Logf("kcat event visible in ClickHouse after %v", seen)
	if seen > 2*time.Second {
		t.Errorf("event took %v to land, want under 2s", seen)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		var n uint64
		err := conn.QueryRow(context.Background(), "SELECT count() FROM vetrina.views").Scan(&n)
		if err == nil && n < 50 {
			err = fmt.Errorf("%d views from the simulator so far", n)
		}
		return err
	})

	// The feed: served at once (non-personal), then from a model trained on
	// the simulator's events, with the model in /readyz.
	testenv.Eventually(t, 60*time.Second, func() error {
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		if err := getJSON("http://"+httpAddr+"/readyz", &r); err != nil {
			return err
		}
		if r.Checks["ranking"] != "ok" {
			return fmt.Errorf("ranking: %s", r.Checks["ranking"])
		}
		return nil
	})
	var feed struct {
		Items []struct {
			ProductID uint64 `json:"product_id"`
			Reason    string `json:"reason"`
		} `json:"items"`
	}
	// `vetrina up` printed development tokens: the feed needs the feed one.
	toks := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:API tokens \(dev\)\s+)?(admin|feed|brand:1)\s+(vt_[A-Za-z0-9_-]{43})$`).FindAllStringSubmatch(up.output(), -1) {
		toks[m[1]] = m[2]
	}
	if len(toks) != 3 {
		t.Fatalf("`vetrina up` printed tokens %v, want admin, feed and brand:1:\n%s", toks, up.output())
	}
	feedURL := "http://" + httpAddr + "/v1/feed?user_id=7&limit=5"
	if err := getJSONAuth(feedURL, toks["feed"], &feed); err != nil || len(feed.Items) != 5 || feed.Items[0].Reason == "" {
		t.Errorf("feed from `vetrina up`: %+v (%v)", feed, err)
	}
	for tok, want := range map[string]int{"": http.StatusUnauthorized, "vt_wrong": http.StatusUnauthorized, toks["brand:1"]: http.StatusForbidden, toks["admin"]: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, feedURL, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("feed with token %.6s…: %d, want %d", tok, resp.StatusCode, want)
		}
	}

	// What an operator scrapes: build info, lag, model age, RED metrics.
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vetrina_build_info{goversion="go`, "vetrina_ingest_consumer_lag_messages{", "vetrina_ranking_model_age_seconds ",
		`vetrina_http_request_duration_seconds_bucket{route="GET /v1/feed"`, `vetrina_http_requests_total{code="200",route="GET /v1/feed"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	up.stop(t)
	// A graceful stop lands what was read: no insert cut short.
	for _, bad := range []string{"insert failed", "batch abandoned"} {
		if strings.Contains(up.output(), bad) {
			t.Errorf("stop was not graceful (%q):\n%s", bad, up.output())
		}
	}
	if code := up.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("vetrina up exited %d after SIGTERM:\n%s", code, up.output())
	}
	if regexp.MustCompile(`level=(ERROR)`).MatchString(up.output()) {
		t.Errorf("errors logged:\n%s", up.output())
	}
	if err := conn.Ping(context.Background()); err == nil {
		t.Errorf("managed ClickHouse still answers after `vetrina up` stopped")
	}
}

func getJSON(url string, v any) error { return getJSONAuth(url, "", v) }

// getJSONAuth GETs url with a bearer token (none if empty) and decodes a 200
// answer into v.
func getJSONAuth(url, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
