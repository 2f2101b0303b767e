// Package kafkacluster runs a real Apache Kafka cluster as child JVM
// processes, for the tests that must hold on the real broker (the embedded
// kfake broker of package broker is a stand-in that speaks the protocol but
// is not Kafka's replication, controller or group coordinator).
//
// Each node runs in KRaft combined mode (process.roles=broker,controller)
// from the jars that scripts/fetch-kafka.sh fetches from the Maven registry
// (java -cp 'HOME/libs/*' kafka.Kafka server.properties, after
// kafka.tools.StorageTool format): one node, or three forming their
// controller quorum. Every node listens on free loopback ports and keeps its
// data and log under Config.Dir: node-N/server.properties, node-N/data/ and
// node-N/server.log (the JVM's stdout and stderr, whose tail failure
// messages quote).
//
// One node can be killed (SIGKILL, as a crash), stopped cleanly (SIGTERM:
// Kafka's controlled shutdown), and started again on the same ports and
// data. A missing Java or missing jars is an error that says how to fetch
// them: tests that need the real broker fail, never skip.
//
// Each child runs in its own process group; on Linux the kernel kills it if
// the parent dies, so a crashed test leaves no broker behind.
package kafkacluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vetrina/vetrina/internal/logtail"
)

// DefaultVersion is the Apache Kafka release the tests run (and that
// scripts/fetch-kafka.sh fetches when given no version).
const DefaultVersion = "4.4.0"

// ErrNotInstalled is returned (wrapped, with what is missing and how to get
// it) when Java or the broker's jars cannot be found.
var ErrNotInstalled = errors.New("apache kafka is not installed")

// ErrPortInUse marks a start that failed because another process took a
// port between its choice and the broker binding it.
var ErrPortInUse = errors.New("port already in use")

// Config says how to run the cluster. The zero value runs one node of
// DefaultVersion from the default cache in a temporary directory.
type Config struct {
	// Version is the Apache Kafka release, e.g. "4.4.0". Default
	// DefaultVersion.
	Version string
	// Home holds the release's jars in Home/libs. Default CacheDir()/Version.
	Home string
	// Java is the java launcher. Default $JAVA_HOME/bin/java, else java in
	// PATH.
	Java string
	// Nodes is how many nodes (each broker and controller) to run: 1 or 3.
	// Default 1.
	Nodes int
	// Dir holds the nodes' configuration, data and logs (node-N/; Start
	// formats fresh nodes, removing any node-N left there). Default: a new
	// temporary directory, removed by Close.
	Dir string
	// Heap is each JVM's maximum heap (-Xmx). Default "256m".
	Heap string
	// Properties are added to (or override) every node's server.properties.
	Properties map[string]string
	// StartTimeout bounds how long a node may take to join the cluster.
	// Default 120s.
	StartTimeout time.Duration
	// Logger receives lifecycle messages. Default: discard.
	Logger *slog.Logger
}

// Defaults used when the corresponding Config field is zero.
const (
	DefaultHeap         = "256m"
	DefaultStartTimeout = 120 * time.Second
)

const (
	pollInterval = 200 * time.Millisecond
	killWait     = 15 * time.Second // for a child to be reaped after SIGKILL
	closeGrace   = 30 * time.Second // for the nodes to stop on Close before they are killed
	logTailLines = 25
	portAttempts = 3
)

// CacheDir is where scripts/fetch-kafka.sh puts releases:
// $VETRINA_KAFKA_CACHE, else the user's cache directory (XDG_CACHE_HOME or
// ~/.cache) + /vetrina/kafka.
func CacheDir() (string, error) {
	if d := os.Getenv("VETRINA_KAFKA_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kafkacluster: find the cache directory (set VETRINA_KAFKA_CACHE): %w", err)
	}
	return filepath.Join(d, "vetrina", "kafka"), nil
}

// Cluster is a running set of nodes. Its methods are safe for concurrent use.
type Cluster struct {
	cfg       Config
	java      string
	classpath string
	clusterID string
	ownDir    bool
	log       *slog.Logger
	nodes     []*node // by index; node i has id i+1
}

// node is one Kafka process (broker and controller) and its fixed ports.
type node struct {
	id             int
	brokerPort     int
	controllerPort int
	dir            string

	mu   sync.Mutex
	proc *process // nil before the first start
}

// process is one run of a node's JVM.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit error; written before done is closed

	mu       sync.Mutex
	signaled bool // Stop or Kill sent the signal
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start formats and starts cfg.Nodes nodes and waits until every one of
// them sees all the others as live brokers. ctx bounds only the startup.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 1
	}
	if cfg.Nodes != 1 && cfg.Nodes != 3 {
		return nil, fmt.Errorf("kafkacluster: %d nodes: run 1 or 3", cfg.Nodes)
	}
	if cfg.Heap == "" {
		cfg.Heap = DefaultHeap
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	java, err := resolveJava(cfg.Java)
	if err != nil {
		return nil, err
	}
	if cfg.Home == "" {
		cache, err := CacheDir()
		if err != nil {
			return nil, err
		}
		cfg.Home = filepath.Join(cache, cfg.Version)
	}
	libs := filepath.Join(cfg.Home, "libs")
	if _, err := os.Stat(filepath.Join(libs, "kafka_2.13-"+cfg.Version+".jar")); err != nil {
		return nil, fmt.Errorf("%w: no kafka_2.13-%s.jar in %s; fetch it with `scripts/fetch-kafka.sh %s` (make deps-test fetches %s): %w",
			ErrNotInstalled, cfg.Version, libs, cfg.Version, DefaultVersion, err)
	}
	c := &Cluster{cfg: cfg, java: java, classpath: filepath.Join(libs, "*"), log: log.With("component", "kafka")}
	if cfg.Dir == "" {
		if c.cfg.Dir, err = os.MkdirTemp("", "vetrina-kafka-"); err != nil {
			return nil, fmt.Errorf("kafkacluster: temporary directory: %w", err)
		}
		c.ownDir = true
	}
	for attempt := 1; ; attempt++ {
		err = c.startAll(ctx)
		if err == nil {
			return c, nil
		}
		c.killAll()
		if errors.Is(err, ErrPortInUse) && attempt < portAttempts {
			c.log.Warn("a port was taken before kafka could bind it; retrying with new ports", "attempt", attempt, "err", err)
			continue
		}
		if c.ownDir {
			_ = os.RemoveAll(c.cfg.Dir)
		}
		return nil, err
	}
}

// startAll picks ports, writes and formats every node and starts them.
func (c *Cluster) startAll(ctx context.Context) error {
	id, err := newClusterID()
	if err != nil {
		return err
	}
	c.clusterID = id
	ports, err := freePorts(2 * c.cfg.Nodes)
	if err != nil {
		return err
	}
	c.nodes = make([]*node, c.cfg.Nodes)
	for i := range c.nodes {
		n := &node{id: i + 1, brokerPort: ports[2*i], controllerPort: ports[2*i+1],
			dir: filepath.Join(c.cfg.Dir, "node-"+strconv.Itoa(i+1))}
		// A retry after a port clash starts from scratch.
		if err := os.RemoveAll(n.dir); err != nil {
			return fmt.Errorf("kafkacluster: clear %s: %w", n.dir, err)
		}
		if err := os.MkdirAll(filepath.Join(n.dir, "data"), 0o755); err != nil {
			return fmt.Errorf("kafkacluster: create %s: %w", n.dir, err)
		}
		c.nodes[i] = n
	}
	for _, n := range c.nodes {
		if err := os.WriteFile(n.propertiesPath(), c.properties(n), 0o644); err != nil {
			return fmt.Errorf("kafkacluster: write %s: %w", n.propertiesPath(), err)
		}
	}
	// Formatting starts a JVM per node: do them at once.
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() { errs[i] = c.format(ctx, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, n := range c.nodes {
		if err := c.launch(n); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.waitJoined(ctx, n); err != nil {
			return err
		}
	}
	c.log.Info("kafka cluster ready", "version", c.cfg.Version, "nodes", len(c.nodes), "bootstrap", strings.Join(c.Bootstrap(), ","))
	return nil
}

// format runs kafka.tools.StorageTool format on a node's log directory.
func (c *Cluster) format(ctx context.Context, n *node) error {
	args := append(c.jvmArgs(), "kafka.tools.StorageTool", "format", "-t", c.clusterID, "-c", n.propertiesPath())
	cmd := exec.CommandContext(ctx, c.java, args...)
	cmd.Dir = n.dir
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafkacluster: format the storage of node %d (%s %s): %w\n%s", n.id, c.java, strings.Join(args, " "), err, logtail.Last(out, logTailLines))
	}
	return nil
}

// launch starts a node's JVM; its stdout and stderr go to server.log.
func (c *Cluster) launch(n *node) error {
	out, err := os.OpenFile(n.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kafkacluster: open %s: %w", n.logPath(), err)
	}
	fmt.Fprintf(out, "---- kafkacluster: starting node %d at %s\n", n.id, time.Now().Format(time.RFC3339Nano))
	args := append(c.jvmArgs(), "kafka.Kafka", n.propertiesPath())
	cmd := exec.Command(c.java, args...)
	cmd.Dir = n.dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("kafkacluster: start node %d (%s): %w", n.id, c.java, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
		p.mu.Lock()
		signaled := p.signaled
		p.mu.Unlock()
		if !signaled {
			c.log.Error("kafka node exited unexpectedly", "node", n.id, "pid", cmd.Process.Pid, "err", p.err)
		}
	}()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	c.log.Info("kafka node starting", "node", n.id, "pid", cmd.Process.Pid, "addr", n.addr(), "log", n.logPath())
	return nil
}

// waitJoined waits until the node answers and its metadata lists it and
// every other running node as live brokers.
func (c *Cluster) waitJoined(ctx context.Context, n *node) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	defer cancel()
	logOff := logtail.Size(n.logPath())
	var last error
	for {
		p := n.process()
		if p.exited() {
			t := logtail.Since(n.logPath(), logOff, logTailLines)
			err := fmt.Errorf("kafkacluster: node %d exited during startup (%v); last lines of %s:\n%s", n.id, p.err, n.logPath(), t)
			if strings.Contains(t, "Address already in use") {
				err = fmt.Errorf("%w: %w", ErrPortInUse, err)
			}
			return err
		}
		want := c.runningIDs()
		md, err := c.metadata(ctx, n.addr(), nil)
		if err == nil {
			var have []int
			for _, b := range md.Brokers {
				have = append(have, b.ID)
			}
			slices.Sort(have)
			if slices.Equal(have, want) {
				return nil
			}
			err = fmt.Errorf("live brokers %v, want %v", have, want)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkacluster: node %d did not join within %v (last: %v); last lines of %s:\n%s",
				n.id, c.cfg.StartTimeout, last, n.logPath(), logtail.Since(n.logPath(), logOff, logTailLines))
		case <-time.After(pollInterval):
		}
	}
}

func (c *Cluster) jvmArgs() []string {
	return []string{
		"-Xmx" + c.cfg.Heap, "-Xms32m", "-Xss512k",
		// Small and quick to start on a shared 2-core machine: one GC
		// thread, the C1 compiler only.
		"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		// Kafka logs through slf4j; scripts/fetch-kafka.sh adds the simple
		// binding, which writes to stderr (server.log). Quiet but for
		// warnings and the lines that say a server started or stopped.
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info",
		"-Dorg.slf4j.simpleLogger.log.kafka.server.BrokerServer=info",
		"-Dorg.slf4j.simpleLogger.log.kafka.server.ControllerServer=info",
		"-cp", c.classpath,
	}
}

// Version is the Apache Kafka release the cluster runs.
func (c *Cluster) Version() string { return c.cfg.Version }

// Dir holds the nodes' configuration, data and logs.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// NodeIDs returns the node ids, 1..Nodes.
func (c *Cluster) NodeIDs() []int {
	ids := make([]int, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.id
	}
	return ids
}

// Bootstrap returns every node's broker address (host:port), running or
// not: what clients are configured with.
func (c *Cluster) Bootstrap() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.addr()
	}
	return addrs
}

// Addr returns node id's broker address.
func (c *Cluster) Addr(id int) string { return c.node(id).addr() }

// LogPath returns the file that holds node id's output.
func (c *Cluster) LogPath(id int) string { return c.node(id).logPath() }

// LogTail returns the last n lines of node id's output.
func (c *Cluster) LogTail(id, n int) string { return logtail.Since(c.node(id).logPath(), 0, n) }

// Running reports whether node id's process is up.
func (c *Cluster) Running(id int) bool {
	p := c.node(id).process()
	return p != nil && !p.exited()
}

// PID returns the process id of node id's current (or last) JVM.
func (c *Cluster) PID(id int) int { return c.node(id).process().cmd.Process.Pid }

// Kill sends node id SIGKILL (a crash: no controlled shutdown, the log left
// as after a power loss of the process) and waits until it is gone.
func (c *Cluster) Kill(id int) error {
	n := c.node(id)
	p := n.process()
	if p == nil || p.exited() {
		return fmt.Errorf("kafkacluster: kill node %d: not running", id)
	}
	c.log.Info("killing kafka node", "node", id, "pid", p.cmd.Process.Pid)
	return p.kill()
}

// Stop stops node id cleanly (SIGTERM: Kafka moves its leaderships away
// and flushes its log) and waits for it to exit; if ctx ends first it kills
// it and returns an error.
func (c *Cluster) Stop(ctx context.Context, id int) error {
	n := c.node(id)
	p := n.process()
	if p == nil || p.exited() {
		return fmt.Errorf("kafkacluster: stop node %d: not running", id)
	}
	c.log.Info("stopping kafka node", "node", id, "pid", p.cmd.Process.Pid)
	return p.stop(ctx)
}

// StartNode starts node id again (after Kill or Stop) on its ports and data
// and waits until the cluster lists it as a live broker.
func (c *Cluster) StartNode(ctx context.Context, id int) error {
	n := c.node(id)
	if p := n.process(); p != nil && !p.exited() {
		return fmt.Errorf("kafkacluster: start node %d: already running (pid %d)", id, p.cmd.Process.Pid)
	}
	if err := c.launch(n); err != nil {
		return err
	}
	if err := c.waitJoined(ctx, n); err != nil {
		return err
	}
	c.log.Info("kafka node rejoined", "node", id)
	return nil
}

// Restart stops node id cleanly and starts it again.
func (c *Cluster) Restart(ctx context.Context, id int) error {
	if err := c.Stop(ctx, id); err != nil {
		return err
	}
	return c.StartNode(ctx, id)
}

// Close stops every running node (SIGTERM to all at once, as a whole
// cluster stops), kills those still up after closeGrace or when ctx ends,
// and removes Dir if Start created it. It reports nodes that had exited on
// their own, not nodes it had to kill: when the whole quorum stops at once, a
// node's shutdown can wait on controllers that are already gone (seen to
// exceed 2 minutes on a busy machine), and the cluster is being discarded.
func (c *Cluster) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, closeGrace)
	defer cancel()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range c.nodes {
		p := n.process()
		if p == nil {
			continue
		}
		if p.exited() {
			p.mu.Lock()
			crashed := !p.signaled
			p.mu.Unlock()
			if crashed {
				errs = append(errs, fmt.Errorf("kafkacluster: node %d had exited on its own (%v); last lines of %s:\n%s", n.id, p.err, n.logPath(), logtail.Since(n.logPath(), 0, logTailLines)))
			}
			continue
		}
		wg.Go(func() {
			err := p.stop(ctx)
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				c.log.Warn("kafka node did not stop in time on close; killed", "node", n.id, "grace", closeGrace)
				return
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("node %d: %w", n.id, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if c.ownDir {
		if err := os.RemoveAll(c.cfg.Dir); err != nil {
			errs = append(errs, fmt.Errorf("kafkacluster: remove %s: %w", c.cfg.Dir, err))
		}
	}
	return errors.Join(errs...)
}

// killAll kills every running node (after a failed start).
func (c *Cluster) killAll() {
	for _, n := range c.nodes {
		if p := n.process(); p != nil && !p.exited() {
			_ = p.kill()
		}
	}
}

func (c *Cluster) node(id int) *node {
	if id < 1 || id > len(c.nodes) {
		panic(fmt.Sprintf("kafkacluster: no node %d (nodes are 1..%d)", id, len(c.nodes)))
	}
	return c.nodes[id-1]
}

// runningIDs returns the ids of the nodes whose process is up, sorted.
func (c *Cluster) runningIDs() []int {
	var ids []int
	for _, n := range c.nodes {
		if p := n.process(); p != nil && !p.exited() {
			ids = append(ids, n.id)
		}
	}
	return ids
}

func (n *node) process() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

func (n *node) addr() string {
	return net.JoinHostPort(host, strconv.Itoa(n.brokerPort))
}
func (n *node) propertiesPath() string { return filepath.Join(n.dir, "server.properties") }
func (n *node) logPath() string        { return filepath.Join(n.dir, "server.log") }

func (p *process) kill() error {
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kafkacluster: kill pid %d: %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("kafkacluster: pid %d still not reaped %v after SIGKILL", p.cmd.Process.Pid, killWait)
	}
}

func (p *process) stop(ctx context.Context) error {
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kafkacluster: send SIGTERM to pid %d: %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("kafkacluster: pid %d did not stop after SIGTERM, killed: %w", p.cmd.Process.Pid, ctx.Err())
}

// resolveJava finds the java launcher.
func resolveJava(explicit string) (string, error) {
	cands := []string{explicit}
	if explicit == "" {
		cands = nil
		if h := os.Getenv("JAVA_HOME"); h != "" {
			cands = append(cands, filepath.Join(h, "bin", "java"))
		}
		cands = append(cands, "java")
	}
	for _, c := range cands {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no java (tried %s); install Java 17 or newer (scripts/install-deps.sh --test, or apt-get install default-jre-headless)",
		ErrNotInstalled, strings.Join(cands, ", "))
}

// newClusterID returns a random cluster id as Kafka writes them: 16 bytes
// in URL-safe base64 without padding, not starting with '-' (which the
// storage tool would read as an option).
func newClusterID() (string, error) {
	for {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("kafkacluster: cluster id: %w", err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' {
			return id, nil
		}
	}
}

const host = "127.0.0.1"

// freePorts returns n distinct loopback ports that were free a moment ago,
// holding each listener until all are chosen.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("kafkacluster: find a free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
