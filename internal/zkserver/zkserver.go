// Package zkserver runs a standalone ZooKeeper server (Debian's zookeeper
// package, 3.8) as a child process, for the tests of the replicated
// ClickHouse cluster: ReplicatedMergeTree tables and distributed DDL
// coordinate through it.
//
// Start writes zoo.cfg into Config.Dir, starts the server with its data
// under Dir/data and its log in Dir/zookeeper.log, and waits until it
// answers the "srvr" four-letter command as a serving standalone server.
// Stop, Kill and Restart act on the same port and data, so what was
// written survives them, as with a real ZooKeeper restart.
//
// The child runs in its own process group; on Linux the kernel sends it
// SIGTERM if the parent dies, so a crashed test leaves no server behind.
package zkserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vetrina/vetrina/internal/logtail"
)

// ErrNotInstalled is returned (wrapped, with what was missing) by Start
// when Java or the ZooKeeper jar cannot be found.
var ErrNotInstalled = errors.New("zookeeper is not installed (install Debian's package: apt-get install zookeeper)")

// ErrPortInUse marks a start that failed because the port was taken. With
// a port of its own choosing Start retries on another one.
var ErrPortInUse = errors.New("port already in use")

// Config says how to run the server. Only Dir is required.
type Config struct {
	// Dir holds zoo.cfg, the data (Dir/data) and the log
	// (Dir/zookeeper.log). It is created if missing.
	Dir string

	// Host is the address the server listens on. Default 127.0.0.1.
	Host string

	// Port is the client port; 0 picks a free one.
	Port int

	// Java is the Java launcher. Default: java in PATH.
	Java string

	// Jar is ZooKeeper's jar; its manifest names its dependencies.
	// Default /usr/share/java/zookeeper.jar (Debian's zookeeper package).
	Jar string

	// TickTime is ZooKeeper's basic time unit: sessions last between 2 and
	// 20 ticks. Default 2s.
	TickTime time.Duration

	// StartTimeout bounds how long Start waits for the server to serve.
	// Default 60s.
	StartTimeout time.Duration

	// Logger receives lifecycle messages. Default: discard.
	Logger *slog.Logger
}

// Defaults used when the corresponding Config field is zero.
const (
	DefaultHost         = "127.0.0.1"
	DefaultJar          = "/usr/share/java/zookeeper.jar"
	DefaultTickTime     = 2 * time.Second
	DefaultStartTimeout = 60 * time.Second
)

// slf4jSimple, when present (Debian's libslf4j-java, a dependency of the
// zookeeper package), gives ZooKeeper a logger that writes to stderr, that
// is to zookeeper.log; without it ZooKeeper logs nothing.
const slf4jSimple = "/usr/share/java/slf4j-simple.jar"

const (
	pollInterval = 100 * time.Millisecond
	probeTimeout = 2 * time.Second
	killWait     = 10 * time.Second
	portAttempts = 3
	logTailLines = 20
)

// Server is a ZooKeeper server managed as a child process; it keeps its
// port and data across Stop, Kill and Restart. Its methods are safe for
// concurrent use.
type Server struct {
	cfg  Config // defaults filled in, Port fixed after the first start
	java string
	log  *slog.Logger

	mu   sync.Mutex
	proc *process // the current child; nil before the first start
}

// process is one run of the child.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit error; written before done is closed

	mu       sync.Mutex
	signaled bool // Stop or Kill sent a signal
}

// Start prepares cfg.Dir, starts ZooKeeper and waits until it serves. ctx
// bounds only the startup.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("zkserver: Config.Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("zkserver: resolve Dir %q: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Jar == "" {
		cfg.Jar = DefaultJar
	}
	if cfg.TickTime <= 0 {
		cfg.TickTime = DefaultTickTime
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	java, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("zkserver: create data directory: %w", err)
	}
	s := &Server{cfg: cfg, java: java, log: log.With("component", "zookeeper")}
	autoPort := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if autoPort {
			if s.cfg.Port, err = freePort(cfg.Host); err != nil {
				return nil, err
			}
		}
		err := s.start(ctx)
		if err == nil {
			return s, nil
		}
		if autoPort && attempt < portAttempts && errors.Is(err, ErrPortInUse) {
			s.log.Warn("port taken before zookeeper could bind it; retrying with a new port", "attempt", attempt, "err", err)
			continue
		}
		return nil, err
	}
}

// resolve finds Java and the jar, or says what to install.
func resolve(cfg Config) (string, error) {
	if _, err := os.Stat(cfg.Jar); err != nil {
		return "", fmt.Errorf("zkserver: %w: %s: %v", ErrNotInstalled, cfg.Jar, err)
	}
	name := cfg.Java
	if name == "" {
		name = "java"
	}
	java, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("zkserver: %w: java launcher %q: %v", ErrNotInstalled, name, err)
	}
	return java, nil
}

// Addr is the host:port clients connect to, e.g. "127.0.0.1:2181".
func (s *Server) Addr() string {
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
}

// Dir is the server's directory (Config.Dir, absolute).
func (s *Server) Dir() string { return s.cfg.Dir }

// current returns the current child.
func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// PID is the process id of the current child.
func (s *Server) PID() int { return s.current().cmd.Process.Pid }

// Done is closed when the current child has exited.
func (s *Server) Done() <-chan struct{} { return s.current().done }

// start writes zoo.cfg, starts one child and waits until it serves.
func (s *Server) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zkserver: start zookeeper: %w", err)
	}
	cfgFile := filepath.Join(s.cfg.Dir, "zoo.cfg")
	if err := os.WriteFile(cfgFile, zooCfg(s.cfg), 0o644); err != nil {
		return fmt.Errorf("zkserver: write %s: %w", cfgFile, err)
	}
	logFile := filepath.Join(s.cfg.Dir, "zookeeper.log")
	logOff := logtail.Size(logFile)
	out, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("zkserver: open %s: %w", logFile, err)
	}
	cp := s.cfg.Jar
	if _, err := os.Stat(slf4jSimple); err == nil {
		cp += string(os.PathListSeparator) + slf4jSimple
	}
	cmd := exec.Command(s.java,
		// A small server for tests: little heap, one GC thread, quick JIT.
		"-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-cp", cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgFile)
	cmd.Dir = s.cfg.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("zkserver: start %s: %w", s.java, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		out.Close()
		p.err = err
		close(p.done)
		p.mu.Lock()
		signaled := p.signaled
		p.mu.Unlock()
		if !signaled {
			s.log.Warn("zookeeper exited unexpectedly", "pid", cmd.Process.Pid, "err", err)
		}
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	s.log.Info("zookeeper starting", "pid", cmd.Process.Pid, "addr", s.Addr(), "dir", s.cfg.Dir)

	started := time.Now()
	if err := s.waitServing(ctx, p); err != nil {
		select {
		case <-p.done:
		default:
			_ = p.kill()
		}
		tail := logtail.Since(logFile, logOff, logTailLines)
		if errors.Is(err, ErrPortInUse) || strings.Contains(tail, "Address already in use") {
			return fmt.Errorf("zkserver: zookeeper on %s did not start (%w): %v\nlast lines of %s:\n%s", s.Addr(), ErrPortInUse, err, logFile, tail)
		}
		return fmt.Errorf("zkserver: zookeeper on %s did not start: %w\nlast lines of %s:\n%s", s.Addr(), err, logFile, tail)
	}
	s.log.Info("zookeeper serving", "pid", cmd.Process.Pid, "after", time.Since(started).Round(time.Millisecond))
	return nil
}

// waitServing polls until the server says it serves standalone from our
// data directory (not another server that holds the port), the child
// exits, ctx ends or the start timeout passes.
func (s *Server) waitServing(ctx context.Context, p *process) error {
	deadline := time.NewTimer(s.cfg.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	dataDir := "dataDir=" + filepath.Join(s.cfg.Dir, "data") + string(filepath.Separator)
	for {
		err := s.serving(ctx, dataDir)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited during startup (%v)", p.err)
		case <-deadline.C:
			return fmt.Errorf("not serving within %v (last: %v)", s.cfg.StartTimeout, err)
		case <-ctx.Done():
			return fmt.Errorf("startup cancelled: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// serving checks that the server on our address serves standalone and
// that it is ours: its "conf" names our data directory.
func (s *Server) serving(ctx context.Context, dataDir string) error {
	out, err := FourLetter(ctx, s.Addr(), "srvr")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Mode: standalone") {
		return fmt.Errorf("srvr answered %q", strings.TrimSpace(out))
	}
	if out, err = FourLetter(ctx, s.Addr(), "conf"); err != nil {
		return err
	}
	if !strings.Contains(out, dataDir) {
		return fmt.Errorf("%w: the server on %s is another one (conf: %q)", ErrPortInUse, s.Addr(), strings.TrimSpace(out))
	}
	return nil
}

// FourLetter sends one of ZooKeeper's four-letter commands ("srvr",
// "ruok", "mntr", ...; zoo.cfg allows these) to addr and returns the
// answer.
func FourLetter(ctx context.Context, addr, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("zookeeper %s: %w", addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("zookeeper %s: send %s: %w", addr, cmd, err)
	}
	b, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil {
		return "", fmt.Errorf("zookeeper %s: read answer to %s: %w", addr, cmd, err)
	}
	return string(b), nil
}

// Stop sends SIGTERM and waits for the server to exit; if ctx ends first
// it kills it and returns an error wrapping ctx.Err(). Stopping a server
// that is not running is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	p := s.current()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	s.log.Info("stopping zookeeper", "pid", p.cmd.Process.Pid)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("zkserver: send SIGTERM to zookeeper (pid %d): %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("zkserver: zookeeper (pid %d) did not stop in time, killed: %w", p.cmd.Process.Pid, ctx.Err())
}

// Kill sends SIGKILL (a crash: what ZooKeeper had not written to its
// transaction log is lost, as after a power cut of its host) and waits
// until the child is reaped.
func (s *Server) Kill() error {
	p := s.current()
	if p == nil {
		return nil
	}
	s.log.Info("killing zookeeper", "pid", p.cmd.Process.Pid)
	return p.kill()
}

func (p *process) kill() error {
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("zkserver: kill zookeeper (pid %d): %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("zkserver: zookeeper (pid %d) still not reaped %v after SIGKILL", p.cmd.Process.Pid, killWait)
	}
}

// Restart stops the server if it runs (SIGTERM) and starts it again on
// the same port and data. After Stop or Kill it starts it again.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return s.start(ctx)
}

// zooCfg is the standalone server's configuration. The admin HTTP server
// (default port 8080) is off; the four-letter commands Start and tests use
// are allowed.
func zooCfg(cfg Config) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Generated by vetrina zkserver; rewritten on every start.\n")
	fmt.Fprintf(&b, "tickTime=%d\n", cfg.TickTime.Milliseconds())
	fmt.Fprintf(&b, "dataDir=%s\n", filepath.Join(cfg.Dir, "data"))
	fmt.Fprintf(&b, "clientPort=%d\n", cfg.Port)
	fmt.Fprintf(&b, "clientPortAddress=%s\n", cfg.Host)
	fmt.Fprintf(&b, "maxClientCnxns=0\n")
	fmt.Fprintf(&b, "admin.enableServer=false\n")
	fmt.Fprintf(&b, "4lw.commands.whitelist=srvr,conf,ruok,mntr,stat,cons\n")
	return b.Bytes()
}

// freePort returns a TCP port on host that was free a moment ago.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("zkserver: find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
