// Package chserver runs a managed local ClickHouse server as a child
// process, for Vetrina's all-in-one "vetrina up" and for integration tests.
//
// Start writes config.xml and users.xml into Config.Dir, starts the server
// with its data, temporary files and logs under that directory, and waits
// until it answers on its HTTP /ping endpoint. Starting again on the same
// Dir reuses the data, so tables survive Stop, Kill and crashes.
//
// The server listens on loopback by default and has two users: "default"
// (no password, loopback only, full rights) for Vetrina itself and
// "analyst" (read-only, with execution time, memory and result size
// limits) for ad-hoc queries.
//
// Layout of Dir: config.xml and users.xml (regenerated on every Start),
// data/ (ClickHouse's path, including its status file), tmp/, log/
// (clickhouse-server.log, clickhouse-server.err.log, rotated at 50 MB,
// and stdout.log for the child's stdout and stderr) and chserver.pid
// (which process started the current server).
//
// The child runs in its own process group, so a Ctrl-C in the terminal
// reaches only the parent, which is expected to call Stop. On Linux the
// kernel also sends the child SIGTERM if the parent dies, so a crashed
// parent does not leave a server behind; a server that is still shutting
// down from such a crash is waited for (or stopped) by the next Start.
package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vetrina/vetrina/internal/logtail"
)

// ErrDirInUse is returned (wrapped) by Start when another live ClickHouse
// server, not an orphan of a crashed chserver parent, holds Config.Dir.
var ErrDirInUse = errors.New("clickhouse data directory is in use by another server")

// Config says how to run the server. Only Dir is required.
type Config struct {
	// Binary is the server program. Default: clickhouse-server in PATH,
	// else /usr/sbin/clickhouse-server, else clickhouse in PATH, else
	// /usr/bin/clickhouse. A binary named "clickhouse" is the multi-tool
	// and is run as "clickhouse server".
	Binary string

	// Dir holds the data, logs, temporary files and the generated
	// configuration, e.g. ./.vetrina/clickhouse. It is created if missing.
	Dir string

	// Host is the address the server listens on. Default 127.0.0.1.
	Host string

	// NativePort and HTTPPort are the native-protocol and HTTP ports.
	// 0 picks a free port.
	NativePort, HTTPPort int

	// AnalystPassword is the password of the read-only "analyst" user.
	// Empty means no password (the user is reachable from loopback only).
	AnalystPassword string

	// Clusters are the server's remote_servers: cluster name → shards →
	// the host:port (native protocol) of each replica. Distributed tables
	// name a cluster (see store.Config.Cluster).
	Clusters map[string][][]string

	// ZooKeeper lists the host:port of the ZooKeeper (or ClickHouse
	// Keeper) nodes that replicated tables (ReplicatedMergeTree) and
	// distributed DDL (ON CLUSTER) coordinate through. With it the server
	// also gets an interserver HTTP port (replicas fetch parts from each
	// other there), the distributed DDL queue at DDLQueuePath, and every
	// shard of Clusters has internal_replication: an insert through a
	// Distributed table goes to one replica of the shard, and its
	// ReplicatedMergeTree table copies it to the others. Empty (a single
	// server, or a sharded cluster of MergeTree tables): none of these.
	ZooKeeper []string

	// ZooKeeperSessionTimeout is the server's ZooKeeper session timeout.
	// Default 30s (ClickHouse's own).
	ZooKeeperSessionTimeout time.Duration

	// Macros are the server's substitutions in replicated table paths and
	// names, e.g. {"shard": "1", "replica": "node1"} for
	// ReplicatedMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}').
	Macros map[string]string

	// InterserverHTTPPort is the port replicas fetch parts from this
	// server on; used only with ZooKeeper, where 0 picks a free port.
	InterserverHTTPPort int

	// DDLQueuePath is the ZooKeeper path of the distributed DDL queue;
	// used only with ZooKeeper. Default /clickhouse/task_queue/ddl.
	DDLQueuePath string

	// StartTimeout bounds how long Start waits for the server to answer.
	// Default 60s.
	StartTimeout time.Duration

	// Logger receives lifecycle messages. Default: discard.
	Logger *slog.Logger
}

// Default values used when the corresponding Config field is zero.
const (
	DefaultHost                    = "127.0.0.1"
	DefaultStartTimeout            = 60 * time.Second
	DefaultZooKeeperSessionTimeout = 30 * time.Second
	DefaultDDLQueuePath            = "/clickhouse/task_queue/ddl"
)

// Timing of startup and shutdown housekeeping.
const (
	pollInterval      = 100 * time.Millisecond
	pingTimeout       = 2 * time.Second
	killWait          = 10 * time.Second // for the child to be reaped after SIGKILL
	orphanTermWait    = 20 * time.Second // for an orphan to exit after SIGTERM
	logTailLines      = 20
	portAttempts      = 3 // starts with fresh free ports when one was taken meanwhile
	addrInUseLogToken = "Address already in use"
	dirLockedLogToken = "Another server instance in same directory is already running"
)

// ErrPortInUse marks a start that failed because a port was taken. With
// ports of its own choosing Start retries; with given ports the caller may
// pick new ones and start again.
var ErrPortInUse = errors.New("port already in use")

// Server is a running ClickHouse child process. Its methods are safe for
// concurrent use.
type Server struct {
	log        *slog.Logger
	cmd        *exec.Cmd
	nativeAddr string
	httpAddr   string

	done chan struct{}
	err  error // exit error; written before done is closed

	mu        sync.Mutex
	ready     bool  // answered /ping; Start returned it
	signaled  bool  // Stop or Kill sent a signal
	forcedErr error // Stop had to escalate to SIGKILL
}

// Start prepares cfg.Dir, starts ClickHouse and waits until it answers
// GET /ping on its HTTP port. ctx bounds only the startup; afterwards the
// server runs until Stop or Kill. If the child exits during startup the
// error includes the tail of its error log; if it does not answer within
// cfg.StartTimeout it is killed.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chserver: Config.Dir is required")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chserver: start clickhouse: %w", err)
	}
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "clickhouse")

	bin, err := resolveBinary(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("chserver: %w", err)
	}
	l, err := newLayout(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := l.mkdirs(); err != nil {
		return nil, err
	}
	if err := reclaimDir(ctx, l, log); err != nil {
		return nil, err
	}

	replicated := len(cfg.ZooKeeper) > 0
	if replicated {
		if cfg.ZooKeeperSessionTimeout <= 0 {
			cfg.ZooKeeperSessionTimeout = DefaultZooKeeperSessionTimeout
		}
		if cfg.DDLQueuePath == "" {
			cfg.DDLQueuePath = DefaultDDLQueuePath
		}
	}
	autoPorts := cfg.NativePort == 0 || cfg.HTTPPort == 0 || (replicated && cfg.InterserverHTTPPort == 0)
	for attempt := 1; ; attempt++ {
		p := serverParams{
			layout:          l,
			ListenHost:      cfg.Host,
			NativePort:      cfg.NativePort,
			HTTPPort:        cfg.HTTPPort,
			AnalystPassword: cfg.AnalystPassword,
			Clusters:        cfg.Clusters,
		}
		if err := pickPorts(cfg.Host, &p.NativePort, &p.HTTPPort); err != nil {
			return nil, err
		}
		if replicated {
			p.Replication = &replication{
				ZooKeeper:        cfg.ZooKeeper,
				SessionTimeoutMS: cfg.ZooKeeperSessionTimeout.Milliseconds(),
				Macros:           cfg.Macros,
				InterserverHost:  clientHost(cfg.Host),
				InterserverPort:  cfg.InterserverHTTPPort,
				DDLQueuePath:     cfg.DDLQueuePath,
			}
			if err := pickPort(cfg.Host, &p.Replication.InterserverPort, p.NativePort, p.HTTPPort); err != nil {
				return nil, err
			}
		}
		if err := writeConfigs(p); err != nil {
			return nil, err
		}
		s, err := launch(ctx, bin, p, cfg.StartTimeout, log)
		if err == nil {
			return s, nil
		}
		if autoPorts && attempt < portAttempts && errors.Is(err, ErrPortInUse) &&
			!mentionsPort(err, cfg.NativePort) && !mentionsPort(err, cfg.HTTPPort) && !mentionsPort(err, cfg.InterserverHTTPPort) {
			log.Warn("port taken before clickhouse could bind it; retrying with new ports", "attempt", attempt, "err", err)
			continue
		}
		return nil, err
	}
}

// launch starts one child with the config already written for p and waits
// for it to become ready.
func launch(ctx context.Context, bin serverCommand, p serverParams, timeout time.Duration, log *slog.Logger) (*Server, error) {
	errLogOff := logtail.Size(p.ErrorLog)
	stdoutOff := logtail.Size(p.StdoutLog)
	out, err := os.OpenFile(p.StdoutLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chserver: open %s: %w", p.StdoutLog, err)
	}

	args := append(append([]string(nil), bin.args...), "--config-file="+p.ConfigFile)
	cmd := exec.Command(bin.path, args...)
	cmd.Dir = p.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	// Newer releases fork a watchdog parent unless told not to; we want
	// the server itself to be our child so signals reach it directly.
	cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("chserver: start %s: %w", bin.path, err)
	}
	if err := writeOwner(p.OwnerFile, os.Getpid(), cmd.Process.Pid); err != nil {
		log.Warn("cannot record clickhouse owner", "err", err)
	}

	s := &Server{
		log:        log,
		cmd:        cmd,
		nativeAddr: net.JoinHostPort(clientHost(p.ListenHost), strconv.Itoa(p.NativePort)),
		httpAddr:   net.JoinHostPort(clientHost(p.ListenHost), strconv.Itoa(p.HTTPPort)),
		done:       make(chan struct{}),
	}
	log.Info("clickhouse starting", "pid", cmd.Process.Pid, "binary", bin.path, "dir", p.Dir,
		"native", s.nativeAddr, "http", s.httpAddr)
	go s.wait(out)

	tail := func() string {
		if t := logtail.Since(p.ErrorLog, errLogOff, logTailLines); t != "" {
			return t
		}
		return logtail.Since(p.StdoutLog, stdoutOff, logTailLines)
	}
	started := time.Now()
	if err := s.waitReady(ctx, timeout); err != nil {
		select {
		case <-s.done:
		default:
			if kerr := s.killAndReap(); kerr != nil {
				log.Error("cannot kill clickhouse that failed to start", "err", kerr)
			}
		}
		t := tail()
		var kind error
		switch {
		case strings.Contains(t, addrInUseLogToken):
			kind = ErrPortInUse
		case strings.Contains(t, dirLockedLogToken):
			kind = ErrDirInUse
		}
		if t != "" {
			t = "\nlast lines of its log:\n" + t
		}
		if kind != nil {
			return nil, fmt.Errorf("chserver: clickhouse (%s) did not start (%w): %v%s", p.ConfigFile, kind, err, t)
		}
		return nil, fmt.Errorf("chserver: clickhouse (%s) did not start: %w%s", p.ConfigFile, err, t)
	}
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	log.Info("clickhouse ready", "pid", cmd.Process.Pid, "after", time.Since(started).Round(time.Millisecond))
	return s, nil
}

// wait reaps the child and publishes its exit.
func (s *Server) wait(out io.Closer) {
	err := s.cmd.Wait()
	out.Close()
	s.err = err
	close(s.done)
	s.mu.Lock()
	ready, signaled := s.ready, s.signaled
	s.mu.Unlock()
	switch {
	case !ready:
		// Start reports this failure itself, with the log tail.
		s.log.Debug("clickhouse exited during startup", "pid", s.cmd.Process.Pid, "status", exitStatus(err))
	case signaled:
		s.log.Info("clickhouse exited", "pid", s.cmd.Process.Pid, "status", exitStatus(err))
	default:
		s.log.Error("clickhouse exited unexpectedly", "pid", s.cmd.Process.Pid, "status", exitStatus(err))
	}
}

// waitReady polls /ping until it answers "Ok.", the child exits, ctx ends
// or timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	// A ping in flight is abandoned as soon as the child exits or time is up.
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	timedOut := make(chan struct{})
	timer := time.AfterFunc(timeout, func() {
		close(timedOut)
		pcancel()
	})
	defer timer.Stop()
	go func() {
		select {
		case <-s.done:
			pcancel()
		case <-pctx.Done():
		}
	}()

	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   pingTimeout,
	}
	defer client.CloseIdleConnections()
	url := "http://" + s.httpAddr + "/ping"
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		lastErr := ping(pctx, client, url)
		if lastErr == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited during startup (%s)", exitStatus(s.err))
		case <-timedOut:
			return fmt.Errorf("no answer from %s within %v (last error: %v)", url, timeout, lastErr)
		case <-ctx.Done():
			return fmt.Errorf("startup cancelled: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// ping does one GET /ping and checks for ClickHouse's "Ok." answer.
func ping(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "Ok." {
		return fmt.Errorf("unexpected /ping answer %d %q", resp.StatusCode, body)
	}
	return nil
}

// NativeAddr is the host:port of the native protocol, e.g. "127.0.0.1:9000".
func (s *Server) NativeAddr() string { return s.nativeAddr }

// HTTPAddr is the host:port of the HTTP interface, e.g. "127.0.0.1:8123".
func (s *Server) HTTPAddr() string { return s.httpAddr }

// PID is the process id of the server.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Done is closed when the child process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is the child's exit error (nil for a clean exit) once Done is
// closed, and nil before.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits for the server to exit. If ctx ends first
// it sends SIGKILL and returns an error wrapping ctx.Err(). Stop is
// idempotent: later calls wait for the same exit and return the same
// result. A server that exits after Stop or Kill signalled it is a clean
// stop; one that had already died on its own yields its exit error.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.done:
		return s.stopResult()
	default:
	}
	s.mu.Lock()
	s.signaled = true
	s.mu.Unlock()
	s.log.Info("stopping clickhouse", "pid", s.cmd.Process.Pid)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("chserver: send SIGTERM to clickhouse (pid %d): %w", s.cmd.Process.Pid, err)
	}
	select {
	case <-s.done:
		return s.stopResult()
	case <-ctx.Done():
	}
	s.mu.Lock()
	if s.forcedErr == nil {
		s.forcedErr = fmt.Errorf("chserver: clickhouse (pid %d) did not stop in time, killed: %w", s.cmd.Process.Pid, ctx.Err())
	}
	s.mu.Unlock()
	s.log.Warn("clickhouse did not stop in time; killing", "pid", s.cmd.Process.Pid)
	if err := s.killAndReap(); err != nil {
		return err
	}
	return s.stopResult()
}

// stopResult is Stop's answer once the child has exited.
func (s *Server) stopResult() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.forcedErr != nil:
		return s.forcedErr
	case s.err == nil || s.signaled:
		return nil
	default:
		return fmt.Errorf("chserver: clickhouse exited before Stop: %w", s.err)
	}
}

// Kill sends SIGKILL immediately, without waiting; use Done to wait. It
// simulates a crash: the data directory is left as after a power loss.
func (s *Server) Kill() error {
	s.mu.Lock()
	s.signaled = true
	s.mu.Unlock()
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("chserver: kill clickhouse (pid %d): %w", s.cmd.Process.Pid, err)
	}
	return nil
}

// killAndReap sends SIGKILL and waits (bounded) until the child is reaped.
func (s *Server) killAndReap() error {
	if err := s.Kill(); err != nil {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("chserver: clickhouse (pid %d) still not reaped %v after SIGKILL", s.cmd.Process.Pid, killWait)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ports, err := freePorts(DefaultHost, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts returns n distinct free ports on host, holding each listener
// until all are chosen so no two are the same.
func freePorts(host string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("chserver: find a free port on %s: %w", host, err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// pickPorts fills the zero ports among *native and *http with free ones.
func pickPorts(host string, native, http *int) error {
	var want []*int
	for _, p := range []*int{native, http} {
		if *p == 0 {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	ports, err := freePorts(host, len(want)+1)
	if err != nil {
		return err
	}
	// The extra port guards against picking a fixed port the other
	// field names.
	j := 0
	for _, p := range want {
		if ports[j] == *native || ports[j] == *http {
			j++
		}
		*p = ports[j]
		j++
	}
	return nil
}

// pickPort sets a zero *port to a free port other than the taken ones.
func pickPort(host string, port *int, taken ...int) error {
	if *port != 0 {
		return nil
	}
	ports, err := freePorts(host, len(taken)+1)
	if err != nil {
		return err
	}
	for _, p := range ports {
		if !slices.Contains(taken, p) {
			*port = p
			return nil
		}
	}
	return fmt.Errorf("chserver: no free port on %s", host)
}

// mentionsPort reports whether a startup error names a fixed port, as in
// "Address already in use: 127.0.0.1:8123". Retrying with new free ports
// cannot help when the busy port is one the caller chose.
func mentionsPort(err error, port int) bool {
	if port == 0 {
		return false
	}
	token := ":" + strconv.Itoa(port)
	for rest := err.Error(); ; {
		i := strings.Index(rest, token)
		if i < 0 {
			return false
		}
		rest = rest[i+len(token):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
}

// clientHost is the host clients should dial for a server listening on
// host: loopback for the wildcard addresses.
func clientHost(host string) string {
	ip := net.ParseIP(host)
	switch {
	case ip == nil || !ip.IsUnspecified():
		return host
	case ip.To4() != nil:
		return "127.0.0.1"
	default:
		return "::1"
	}
}

// exitStatus describes a Wait error for logs.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
