package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The generator's client reads every kind of answer net/http's server
// gives, over one kept-alive connection, and reports anything but a 200.
func TestGetter_ReadsEachAnswerWhole(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		body := strings.Repeat("x", n)
		switch r.URL.Query().Get("mode") {
		case "length":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			_, _ = w.Write([]byte(body))
		case "chunked": // net/http chunks a body it cannot size, flushed in pieces
			for i := 0; i < n; i += 1000 {
				_, _ = w.Write([]byte(body[i:min(n, i+1000)]))
				w.(http.Flusher).Flush()
			}
		case "close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte(body))
		case "missing":
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	g, err := newGetter(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(q, auth string) error { return g.get(ctx, []byte("/v1/feed?"+q), auth) }
	for _, q := range []string{"mode=length&n=0", "mode=length&n=70000", "mode=chunked&n=1", "mode=chunked&n=70000", "mode=length&n=3"} {
		if err := get(q, "Bearer t"); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 kept-alive requests, want 1", n)
	}
	if err := get("mode=missing", "Bearer t"); !errors.Is(err, errNotOK) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a 404 gave %v, want an error naming it", err)
	}
	if err := get("mode=length&n=5", "Bearer nope"); !errors.Is(err, errNotOK) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a 401 gave %v, want an error naming it", err)
	}
	if err := get("mode=close&n=10", "Bearer t"); err != nil {
		t.Fatalf("an answer closing its connection: %v", err)
	}
	if err := get("mode=length&n=10", "Bearer t"); err != nil {
		t.Fatalf("after a closed connection: %v", err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one more after Connection: close)", n)
	}
}

// A server that stops answering midway fails the request within the
// timeout, and the next request dials again.
func TestGetter_FailsAndRedials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				if n == 1 { // half an answer, then silence
					_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
					time.Sleep(2 * time.Second)
					return
				}
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
				time.Sleep(2 * time.Second)
			}()
		}
	}()
	g, err := newGetter("http://"+ln.Addr().String(), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.get(context.Background(), []byte("/"), "Bearer t"); err == nil {
		t.Fatal("a truncated answer succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the truncated answer took %v to fail, want the 300ms timeout", d)
	}
	if err := g.get(context.Background(), []byte("/"), "Bearer t"); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	if _, err := newGetter("https://example.com", time.Second); err == nil {
		t.Fatal("an https URL was accepted")
	}
}

// The open-loop load sends its rate for its duration over the getters and
// counts answers that are not a 200 as errors.
func TestLoad_SendsTheRateAndCountsErrors(t *testing.T) {
	var served, failing atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/feed" || r.URL.Query().Get("limit") != "20" || r.URL.Query().Get("user_id") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if served.Add(1)%10 == 0 && failing.Load() == 1 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	cfg := LoadConfig{URL: srv.URL, Token: "t", Rate: 400, Duration: time.Second, Users: 1000, Workers: 16}
	res, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 400 || len(res.Latencies) != 400 || res.Errors != 0 {
		t.Fatalf("%d requests, %d latencies, %d errors; want 400, 400, 0", res.Requests, len(res.Latencies), res.Errors)
	}
	if res.Achieved < 200 || res.Achieved > 410 { // a busy machine may finish late, never early
		t.Fatalf("achieved %.0f/s of 400/s", res.Achieved)
	}
	failing.Store(1)
	res, err = Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors < 35 || res.Errors > 45 {
		t.Fatalf("%d errors with every tenth answer a 503, want about 40", res.Errors)
	}
}

// Once its connection is open, a request allocates nothing, whether the
// answer is sized or chunked: the generator's cost per request stays
// small beside the server's.
func TestGetter_AllocatesNothingOnceWarm(t *testing.T) {
	for _, answer := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { // a server that allocates nothing per request either
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf, out := make([]byte, 4096), []byte(answer)
			var tail [4]byte // the last bytes read: a request may come in pieces
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				for _, b := range buf[:n] {
					tail = [4]byte{tail[1], tail[2], tail[3], b}
				}
				if tail == [4]byte{'\r', '\n', '\r', '\n'} {
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}
		}()
		g, err := newGetter("http://"+ln.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		target := []byte("/v1/feed?user_id=1&limit=20")
		get := func() {
			if err := g.get(context.Background(), target, "Bearer t"); err != nil {
				t.Fatal(err)
			}
		}
		get() // dial
		if n := testing.AllocsPerRun(200, get); n != 0 {
			t.Errorf("%d allocations per request once warm, want 0 (answer %q)", int(n), answer)
		}
		g.conn.Close()
		ln.Close()
	}
}

// The pacer never wakes before a request is due.
func TestPacer_NeverEarly(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		p := newPacer()
		rng := rand.New(rand.NewPCG(1, 1))
		for range 300 {
			due := time.Now().Add(time.Duration(rng.IntN(2000)-200) * time.Microsecond)
			p.sleepUntil(due)
			if now := time.Now(); now.Before(due) {
				t.Errorf("woke %v before the due time", due.Sub(now))
			}
		}
	}()
	<-done
}

// Open loop: with its one connection waiting on a slow answer, a request
// is sent late, and that wait counts in its latency.
func TestLoad_CountsTheWaitForAFreeConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	// 100/s for 0.5 s over one connection that answers 50/s: request i
	// is sent after i answers, i×20 ms on, due at i×10 ms.
	res, err := Load(context.Background(), LoadConfig{URL: srv.URL, Token: "t", Rate: 100, Duration: 500 * time.Millisecond, Users: 10, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Quantile(1); got < 500*time.Millisecond {
		t.Fatalf("the slowest request took %v: the last of 50 waited about 490 ms for the connection, which its latency must count", got)
	}
	if got := res.Quantile(0); got < 20*time.Millisecond {
		t.Fatalf("the fastest request took %v, under the server's 20 ms", got)
	}
}

// A load stopped halfway returns its context's error once the answers in
// flight are in, and leaves no goroutine behind.
func TestLoad_StopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Load(ctx, LoadConfig{URL: srv.URL, Token: "t", Rate: 200, Duration: 10 * time.Second, Users: 10, Workers: 8})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a cancelled load returned %v, want its context's error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a load cancelled after 300 ms returned after %v", d)
	}
	srv.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Fatalf("%d goroutines after the load, %d before", n, before)
	}
}
