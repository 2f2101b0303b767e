package zkserver

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer starts a server in a temp dir and fails the test, with the
// install instruction, when ZooKeeper is missing.
func startServer(t *testing.T) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Config{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))})
	if err != nil {
		t.Fatalf("start zookeeper: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop zookeeper: %v", err)
		}
	})
	return s
}

// zkCli runs one command of ZooKeeper's own command-line client against
// the server: the real protocol, from another process.
func zkCli(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	cmd := exec.Command("java", append([]string{"-cp", DefaultJar, "org.apache.zookeeper.ZooKeeperMain", "-server", s.Addr()}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zkCli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestLifecycle: a znode written before a SIGKILL and a restart is still
// there after them, on the same address; Stop ends the child.
func TestLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	out, err := FourLetter(ctx, s.Addr(), "srvr")
	if err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("srvr: %q, %v", out, err)
	}
	zkCli(t, s, "create", "/vetrina_test", "kept")

	addr, pid := s.Addr(), s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Kill returned")
	}
	if _, err := FourLetter(ctx, addr, "srvr"); err == nil {
		t.Fatal("a killed server still answers")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr || s.PID() == pid {
		t.Fatalf("after restart: %s pid %d, before: %s pid %d", s.Addr(), s.PID(), addr, pid)
	}
	if out := zkCli(t, s, "get", "/vetrina_test"); !strings.Contains(out, "kept") {
		t.Fatalf("znode lost across kill and restart:\n%s", out)
	}

	// A restart of a running server stops it first (SIGTERM).
	pid = s.PID()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.PID() == pid {
		t.Fatal("Restart did not start a new process")
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := FourLetter(ctx, addr, "ruok"); err == nil {
		t.Fatal("a stopped server still answers")
	}
	if err := s.Stop(sctx); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
}

// TestNotInstalled: a missing ZooKeeper fails with the install instruction.
func TestNotInstalled(t *testing.T) {
	_, err := Start(context.Background(), Config{Dir: t.TempDir(), Jar: filepath.Join(t.TempDir(), "zookeeper.jar")})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install zookeeper") {
		t.Fatalf("err = %v, want ErrNotInstalled with the install instruction", err)
	}
	_, err = Start(context.Background(), Config{Dir: t.TempDir(), Java: "no-such-java-launcher"})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}

// TestPortTaken: a start on a port another process holds fails and says
// so.
func TestPortTaken(t *testing.T) {
	s := startServer(t)
	_, err := Start(context.Background(), Config{Dir: t.TempDir(), Port: s.cfg.Port, StartTimeout: 30 * time.Second})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want ErrPortInUse", err)
	}
}
