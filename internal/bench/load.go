package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/sim"
)

// The feed load of `vetrina bench ranking`: the open-loop Go client, the
// users it asks for, and the closed-loop wrk cross-check.

// wrkConnections is wrk's concurrency; each connection waits between its
// requests so that together they keep to the rate.
const wrkConnections = 64

// wrkScript asks for the feed of a random user, a share of them unknown
// to the model, and paces each connection to its share of the rate.
const wrkScript = `
local users, unknown, pause = %d, %f, %d
math.randomseed(%d)
local headers = { ["Authorization"] = "Bearer %s" }
request = function()
  local u = math.random(1, users)
  if math.random() < unknown then u = users + u end
  return wrk.format("GET", "/v1/feed?user_id=" .. u .. "&limit=20", headers)
end
delay = function() return pause end
`

// runWrk runs wrk against base for cfg.Duration at about cfg.Rate and
// returns its latency distribution and summary lines.
func runWrk(ctx context.Context, cfg RankingConfig, base, dir, token string) (string, error) {
	script := filepath.Join(dir, "feed.lua")
	// A connection's period is its pause plus the response time plus wrk's
	// timer slack: about 3 ms more than the pause on this loopback, as the
	// achieved rates of earlier runs showed.
	pause := int(float64(wrkConnections)/cfg.Rate*1000) - 3
	body := fmt.Sprintf(wrkScript, cfg.Users, cfg.UnknownShare, max(0, pause), cfg.Seed, token)
	if err := os.WriteFile(script, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("write wrk script: %w", err)
	}
	cmd := exec.CommandContext(ctx, cfg.Wrk, "-t"+strconv.Itoa(max(1, cfg.WrkThreads)), "-c"+strconv.Itoa(wrkConnections), "-d"+cfg.Duration.String(), "--latency", "-s", script, base)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("run wrk: %w", err)
	}
	var keep strings.Builder
	dist := 0 // lines of the latency distribution still to keep
	for _, line := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Latency Distribution"):
			dist = 4 // 50%, 75%, 90%, 99%
		case dist > 0:
			dist--
			keep.WriteString("    " + t + "\n")
		case strings.HasPrefix(t, "Requests/sec"), strings.Contains(t, "requests in"), strings.HasPrefix(t, "Non-2xx"), strings.HasPrefix(t, "Socket errors"):
			keep.WriteString("    " + t + "\n")
		}
	}
	return keep.String(), nil
}

// logSeconds logs the p99 of each second of the load (requests by due
// time), which tells a steady tail from a burst.
func logSeconds(log *slog.Logger, lat []time.Duration, perSecond int) {
	if perSecond <= 0 {
		return
	}
	var p99s []string
	for i := 0; i < len(lat); i += perSecond {
		sec := slices.Clone(lat[i:min(len(lat), i+perSecond)])
		slices.Sort(sec)
		p99s = append(p99s, sec[int(0.99*float64(len(sec)-1))].Round(100*time.Microsecond).String())
	}
	log.Info("bench: p99 per second of load", "p99", strings.Join(p99s, " "))
}

// recentUsers passes messages to Kafka and remembers the users of the
// latest views, so the load can ask for feeds that the stream just changed.
type recentUsers struct {
	sim.Writer
	follow map[string]bool // the event topics; others are dropped
	mu     sync.Mutex
	ring   [4096]uint64
	n      int
	events atomic.Int64
}

func (r *recentUsers) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	// The catalog is not what the server follows: it is dropped rather than
	// burst into the broker while the load runs.
	msgs = slices.DeleteFunc(msgs, func(m kafka.Message) bool { return !r.follow[m.Topic] })
	if len(msgs) == 0 {
		return nil
	}
	r.mu.Lock()
	for _, m := range msgs {
		if u, err := strconv.ParseUint(string(m.Key), 10, 64); err == nil && len(m.Value) > 0 && m.Value[0] == '{' {
			r.ring[r.n%len(r.ring)] = u
			r.n++
		}
	}
	r.mu.Unlock()
	r.events.Add(int64(len(msgs)))
	return r.Writer.WriteMessages(ctx, msgs...)
}

func (r *recentUsers) pick(rng *rand.Rand) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, false
	}
	k := min(r.n, len(r.ring))
	return r.ring[(r.n-1-rng.IntN(min(k, 256)))%len(r.ring)], true
}

// loadFeed sends GET /v1/feed open-loop at cfg.Rate for d:
// request i is due at start + i/rate whatever happened to the others, and
// its latency counts from when it was due (no coordinated omission).
func loadFeed(ctx context.Context, tr *http.Transport, base, token string, cfg RankingConfig, d time.Duration, rec *recentUsers) ([]time.Duration, int, float64) {
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	total := int(cfg.Rate * d.Seconds())
	lat := make([]time.Duration, total)
	var errs atomic.Int64
	var next atomic.Int64
	start := time.Now()
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	auth := "Bearer " + token
	var wg sync.WaitGroup
	for w := range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				user := uint64(1 + rng.IntN(cfg.Users))
				switch p := rng.Float64(); {
				case p < cfg.UnknownShare:
					user = uint64(cfg.Users + 1 + rng.IntN(1_000_000))
				case p < cfg.UnknownShare+cfg.SessionShare:
					if u, ok := rec.pick(rng); ok {
						user = u
					}
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/feed?user_id="+strconv.FormatUint(user, 10)+"&limit=20", nil)
				if err != nil {
					errs.Add(1)
					continue
				}
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs.Add(1)
					}
				} else {
					errs.Add(1)
				}
				lat[i] = time.Since(due)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	return lat, int(errs.Load()), float64(total) / elapsed
}
