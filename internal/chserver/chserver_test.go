package chserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// helperDirEnv makes the test binary act as a crashing parent: it starts a
// server in that directory, prints its pid and blocks until killed.
const helperDirEnv = "CHSERVER_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		s, err := Start(context.Background(), Config{Dir: dir})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("READY", s.PID(), s.HTTPAddr())
		select {}
	}
	os.Exit(m.Run())
}

// startServer starts a server and fails the test, with install
// instructions, when ClickHouse is not installed.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if errors.Is(err, ErrNotInstalled) {
		t.Fatalf("ClickHouse server is not installed, so chserver cannot be tested: %v\n"+
			"install it with: sudo apt-get install clickhouse-server", err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.Stop(ctx)
	})
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func stopServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
}

// query runs q over the HTTP interface as user and returns the body; a
// non-200 answer is an error carrying the body.
func query(t *testing.T, s *Server, user, password, q string) (string, error) {
	t.Helper()
	v := url.Values{"user": {user}, "password": {password}}
	u := "http://" + s.HTTPAddr() + "/?" + v.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(q))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	// No keep-alive: idle connections would make the server's shutdown
	// wait for them.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %q: %v", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer to %q: %v", q, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func mustQuery(t *testing.T, s *Server, q string) string {
	t.Helper()
	out, err := query(t, s, "default", "", q)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	return out
}

func wantRows(t *testing.T, s *Server, want string) {
	t.Helper()
	got := mustQuery(t, s, "SELECT id, name FROM t ORDER BY id FORMAT TSV")
	if got != want {
		t.Fatalf("rows = %q, want %q", got, want)
	}
}

func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	const password = "s3cret&<pw>"
	cfg := Config{Dir: dir, AnalystPassword: password}

	s := startServer(t, cfg)
	if !strings.HasPrefix(s.NativeAddr(), "127.0.0.1:") || !strings.HasPrefix(s.HTTPAddr(), "127.0.0.1:") {
		t.Fatalf("addrs = %s, %s; want 127.0.0.1:PORT", s.NativeAddr(), s.HTTPAddr())
	}
	if conn, err := net.DialTimeout("tcp", s.NativeAddr(), 2*time.Second); err != nil {
		t.Fatalf("dial native port: %v", err)
	} else {
		conn.Close()
	}

	mustQuery(t, s, "CREATE TABLE t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
	mustQuery(t, s, "INSERT INTO t VALUES (1, 'one'), (2, 'two')")
	wantRows(t, s, "1\tone\n2\ttwo\n")
	if got := strings.TrimSpace(mustQuery(t, s, "SELECT timezone()")); got != "UTC" && got != "Etc/UTC" {
		t.Errorf("timezone() = %q, want UTC", got)
	}

	// The analyst can read but not write, and needs its password.
	if got, err := query(t, s, "analyst", password, "SELECT count() FROM t"); err != nil || strings.TrimSpace(got) != "2" {
		t.Fatalf("analyst SELECT = %q, %v; want 2", got, err)
	}
	_, err := query(t, s, "analyst", password, "INSERT INTO t VALUES (3, 'three')")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Fatalf("analyst INSERT error = %v, want a readonly error", err)
	}
	if _, err := query(t, s, "analyst", "wrong", "SELECT 1"); err == nil {
		t.Fatal("analyst with a wrong password was let in")
	}

	// A second server on the same Dir is refused while the first runs.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s2, err := Start(ctx, Config{Dir: dir, Logger: testLogger(t)}); !errors.Is(err, ErrDirInUse) {
		if err == nil {
			s2.Kill()
		}
		t.Fatalf("second Start on a busy Dir: err = %v, want ErrDirInUse", err)
	}

	// Clean stop, idempotent, then restart keeps the data.
	stopServer(t, s)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err after clean Stop = %v, want nil", err)
	}

	s = startServer(t, cfg)
	wantRows(t, s, "1\tone\n2\ttwo\n")
	mustQuery(t, s, "INSERT INTO t VALUES (3, 'three')")

	// Crash: Kill closes Done, and the next Start recovers the data.
	if err := s.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10s after Kill")
	}
	if s.Err() == nil {
		t.Error("Err after Kill = nil, want the kill")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop after Kill = %v, want nil", err)
	}

	s = startServer(t, cfg)
	wantRows(t, s, "1\tone\n2\ttwo\n3\tthree\n")
	stopServer(t, s)
}

func TestOrphanOfCrashedParent(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Config{Dir: dir})
	mustQuery(t, s, "CREATE TABLE t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
	mustQuery(t, s, "INSERT INTO t VALUES (7, 'seven')")
	stopServer(t, s)

	// A parent process starts the server on the same Dir and crashes.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(exe, "-test.run=^$")
	helper.Env = append(os.Environ(), helperDirEnv+"="+dir)
	helper.Stderr = os.Stderr
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY") {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper did not start a server: %q, %v", line, err)
	}
	var orphanPID int
	fmt.Sscanf(line, "READY %d", &orphanPID)
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()

	// The next Start must get the Dir back: the orphan goes away (on the
	// parent-death signal, or because Start stops it) and the data stays.
	s = startServer(t, Config{Dir: dir})
	if orphanPID == s.PID() {
		t.Fatalf("new server reuses the orphan's pid %d", orphanPID)
	}
	if processAlive(orphanPID) {
		t.Errorf("orphaned server pid %d still alive", orphanPID)
	}
	wantRows(t, s, "7\tseven\n")
	stopServer(t, s)
}

func TestStartFailureReportsLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{Dir: t.TempDir(), HTTPPort: busy, Logger: testLogger(t)})
	if errors.Is(err, ErrNotInstalled) {
		t.Fatalf("ClickHouse server is not installed: %v\ninstall it with: sudo apt-get install clickhouse-server", err)
	}
	if err == nil {
		s.Kill()
		t.Fatalf("Start on busy HTTP port %d succeeded", busy)
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("error does not show the server's log: %v", err)
	}
	t.Logf("expected failure: %v", err)
}

func TestStopEscalatesToKill(t *testing.T) {
	s := startServer(t, Config{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with a cancelled ctx = %v, want it to wrap context.Canceled", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
	if again := s.Stop(context.Background()); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Stop = %v, want the same %v", again, err)
	}
}

func TestStartTimeout(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(context.Background(), Config{Dir: dir, StartTimeout: time.Millisecond, Logger: testLogger(t)})
	if errors.Is(err, ErrNotInstalled) {
		t.Fatalf("ClickHouse server is not installed: %v\ninstall it with: sudo apt-get install clickhouse-server", err)
	}
	if err == nil {
		s.Kill()
		t.Fatal("Start with a 1ms StartTimeout succeeded")
	}
	if !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if locked, _ := statusLocked(dir + "/data/status"); locked {
		t.Fatal("timed-out server still holds its data directory")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, Config{Dir: dir, Logger: testLogger(t)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestNotInstalled(t *testing.T) {
	_, err := Start(context.Background(), Config{Dir: t.TempDir(), Binary: "/nonexistent/clickhouse-server"})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "/nonexistent/clickhouse-server") {
		t.Errorf("error does not name the path tried: %v", err)
	}
}

func TestResolveBinaryMultiTool(t *testing.T) {
	dir := t.TempDir()
	bin := dir + "/clickhouse"
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sc, err := resolveBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	if sc.path != bin || len(sc.args) != 1 || sc.args[0] != "server" {
		t.Fatalf("resolveBinary(%s) = %+v, want %s server", bin, sc, bin)
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("FreePort %d is not free: %v", p, err)
	}
	ln.Close()
}
