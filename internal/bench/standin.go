package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StandIn serves what the ranking benchmark asks of `vetrina serve`
// (/readyz, /metrics with the feed's duration histogram, GET /v1/feed)
// with no model behind it: every feed is the same 20-product body, sent
// after spin of busy CPU. Run under the benchmark's load in place of the
// server (`vetrina bench ranking --stand-in 150us`), it shows what the
// machine, the load generator and the co-located simulator and broker
// allow by themselves: the latency of a server whose only work is that
// CPU per request. With hold > 0 it also keeps hold bytes of memory
// resident, written once and not read again, as the server keeps its model:
// what resident memory alone costs the tail on this machine. It returns
// when ctx is done or listening fails.
//
// PUT /spin?d=DURATION sets the busy time of the requests after it, so a
// benchmark can match the stand-in's CPU per request to the server's from
// one round to the next.
func StandIn(ctx context.Context, ln net.Listener, spin time.Duration, hold int) error {
	held := make([]byte, max(hold, 0))
	for i := 0; i < len(held); i += os.Getpagesize() {
		held[i] = 1
	}
	defer runtime.KeepAlive(held)
	reg := prometheus.NewRegistry()
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vetrina_http_request_duration_seconds",
		Help:    "Time to serve a request, by route (a stand-in server: see vetrina bench ranking --stand-in).",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	reg.MustRegister(dur)
	feedDur := dur.WithLabelValues("GET /v1/feed")
	body := standInFeed()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ready","checks":{"ranking":"ok","matching":"ok"},"stand_in":true}`)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	var busy atomic.Int64
	busy.Store(int64(spin))
	mux.HandleFunc("PUT /spin", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 || d > time.Second {
			http.Error(w, "want d=DURATION between 0 and 1s", http.StatusBadRequest)
			return
		}
		busy.Store(int64(d))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/feed", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		burn(start, time.Duration(busy.Load()))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
		feedDur.Observe(time.Since(start).Seconds())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return fmt.Errorf("stand-in server: %w", err)
}

// burn keeps the CPU busy from start until d has passed.
func burn(start time.Time, d time.Duration) {
	x := 1.0
	for time.Since(start) < d {
		for range 64 {
			x = x*1.0000001 + 1e-9
		}
	}
	// Keeps the arithmetic from being optimised away (a package variable
	// written by concurrent requests was a data race).
	runtime.KeepAlive(x)
}

// standInFeed is a feed page of 20 products shaped and sized like the
// server's (about 3.3 KB).
func standInFeed() []byte {
	var b strings.Builder
	b.WriteString(`{"user_id":1,"items":[`)
	for k := range 20 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"product_id":%d,"title":"Stand-in product %d of a page","category":"kitchen","brand_id":%d,"price":%d.99,"score":0.%03d,"reason":"because you viewed product %d"}`,
			100000+k, k, 4000+k, 10+k, 900-k, 1000+k)
	}
	b.WriteString(`],"next_cursor":"c3RhbmQtaW4","personalized":true,"model":"stand-in"}`)
	return []byte(b.String())
}

// processCPU is the user and system CPU time a process has used so far,
// from /proc/PID/stat (0 if unavailable).
func processCPU(pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it do not.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after
	// the name; in clock ticks, 100 per second on Linux.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cpuTimes is the machine's CPU time from /proc/stat, in clock ticks:
// all of it, and what the hypervisor gave to other guests (steal).
type cpuTimes struct{ total, steal int64 }

func machineCPU() cpuTimes {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for k, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return cpuTimes{}
		}
		if k < 8 { // user … steal; guest time is counted in user already
			t.total += v
		}
		if k == 7 {
			t.steal = v
		}
	}
	return t
}

// stealShare is the share of the machine's CPU time between a and b that
// the hypervisor gave to other guests: on a shared host, figures taken
// while it is high are not the program's.
func stealShare(a, b cpuTimes) float64 {
	if d := b.total - a.total; d > 0 {
		return float64(b.steal-a.steal) / float64(d)
	}
	return 0
}
