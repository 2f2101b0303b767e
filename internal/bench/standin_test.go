package bench

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stand-in answers as the benchmark expects of the server: ready
// checks, a feed-shaped body only after the spin, and the duration
// histogram the benchmark reads.
func TestStandIn_ServesWhatTheBenchReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- StandIn(ctx, ln, 3*time.Millisecond, 0) }()
	base := "http://" + ln.Addr().String()
	if err := waitCheck(ctx, base, "matching", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		start := time.Now()
		resp, err := http.Get(base + "/v1/feed?user_id=7&limit=20")
		if err != nil {
			t.Fatal(err)
		}
		var feed struct {
			Items []struct {
				ProductID uint64 `json:"product_id"`
				Reason    string `json:"reason"`
			} `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&feed)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(feed.Items) != 20 || feed.Items[0].Reason == "" {
			t.Fatalf("feed: status %d, %d items, err %v", resp.StatusCode, len(feed.Items), err)
		}
		if d := time.Since(start); d < 3*time.Millisecond {
			t.Fatalf("feed answered in %v, before its 3ms spin", d)
		}
	}
	if n := len(standInFeed()); n < 3000 || n > 3600 {
		t.Errorf("feed body is %d bytes, not the server's 3.3 KB", n)
	}
	c := handlerTimes(ctx, base)
	if c.n != 3 || c.le10ms > c.n {
		t.Errorf("histogram: %d requests, %d within 10 ms; want 3", c.n, c.le10ms)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stand-in returned %v after its context ended", err)
	}
}

// processCPU reads this process's CPU time, which grows with work. The
// work is measured in CPU, not wall time: on a busy machine 60 ms of wall
// time may get a core for less than half of it.
func TestProcessCPU_GrowsWithWork(t *testing.T) {
	before := processCPU(os.Getpid())
	deadline := time.Now().Add(30 * time.Second)
	for processCPU(os.Getpid())-before < 30*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("CPU %v → %v after 30 s of busy work: the reading does not grow", before, processCPU(os.Getpid()))
		}
		burn(time.Now(), 5*time.Millisecond)
	}
	if processCPU(-1) != 0 {
		t.Error("a missing process has no CPU time")
	}
}

// With hold, the stand-in keeps that much memory resident while it serves.
func TestStandIn_HoldsMemoryResident(t *testing.T) {
	const hold = 96 << 20
	debug.FreeOSMemory() // free heap the hold could reuse must fault in again
	before := residentBytes(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- StandIn(ctx, ln, 0, hold) }()
	if err := waitCheck(ctx, "http://"+ln.Addr().String(), "matching", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if grew := residentBytes(t) - before; grew < hold*9/10 {
		t.Errorf("resident memory grew by %d MiB, want about %d", grew>>20, hold>>20)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// residentBytes is this process's resident set, from /proc/self/statm.
func residentBytes(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return pages * os.Getpagesize()
}

func TestMachineCPU_StealShare(t *testing.T) {
	a := machineCPU()
	if a.total <= 0 || a.steal < 0 || a.steal > a.total {
		t.Fatalf("machine CPU %+v: want total > 0 and 0 ≤ steal ≤ total", a)
	}
	if got := stealShare(cpuTimes{total: 1000, steal: 10}, cpuTimes{total: 1400, steal: 110}); got != 0.25 {
		t.Fatalf("steal share %v, want 0.25 (100 of 400 ticks)", got)
	}
	if got := stealShare(a, a); got != 0 {
		t.Fatalf("steal share %v over no time, want 0", got)
	}
}

// Matched: the stand-in's next busy time is the server's CPU per request
// less what the stand-in spent beside its busy time, and its feeds then
// take at least that long.
func TestMatchStandIn_SetsTheServersCPU(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = StandIn(ctx, ln, time.Millisecond, 0) }()
	base := "http://" + ln.Addr().String()
	if err := waitCheck(ctx, base, "matching", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	rounds := []LoadRound{
		{Target: "server", CPUPerRequest: 6 * time.Millisecond},
		{Target: "stand-in", CPUPerRequest: 1500 * time.Microsecond, Spin: time.Millisecond},
		{Target: "server", CPUPerRequest: 9 * time.Millisecond},
	}
	if got, err := matchStandIn(ctx, base, time.Millisecond, rounds[:1]); err != nil || got != time.Millisecond {
		t.Fatalf("before the stand-in's first round: %v, %v; want its busy time kept", got, err)
	}
	got, err := matchStandIn(ctx, base, time.Millisecond, rounds)
	if err != nil || got != 8500*time.Microsecond {
		t.Fatalf("matched busy time %v, %v; want 8.5ms (the server's 9ms less the stand-in's own 0.5ms)", got, err)
	}
	start := time.Now()
	resp, err := http.Get(base + "/v1/feed?user_id=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 8500*time.Microsecond {
		t.Fatalf("a feed took %v after the busy time was set to 8.5ms", d)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/spin?d=-1s", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a negative busy time: %s, want 400", resp.Status)
	}
}
