package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/zkserver"
)

// ZooKeeper starts a standalone ZooKeeper (Debian's zookeeper package) on a
// free loopback port with its data in a temp dir, stopped at the end of the
// test. A missing ZooKeeper fails the test with the install instruction.
func ZooKeeper(t testing.TB) *zkserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	zk, err := zkserver.Start(ctx, zkserver.Config{Dir: t.TempDir()})
	if err != nil {
		if errors.Is(err, zkserver.ErrNotInstalled) {
			t.Fatalf("the replicated ClickHouse cluster tests need ZooKeeper (scripts/install-deps.sh --test, or apt-get install zookeeper): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := zk.Stop(ctx); err != nil {
			t.Logf("stop zookeeper: %v", err)
		}
	})
	return zk
}

// ClusterConfig describes a replicated ClickHouse cluster for a test.
type ClusterConfig struct {
	Name      string // the cluster's name in remote_servers
	Shards    int
	Replicas  int    // per shard
	ZooKeeper string // host:port
	Logger    *slog.Logger
}

// Cluster is Shards × Replicas managed ClickHouse servers that know each
// other as one replicated cluster.
type Cluster struct {
	Name  string
	Nodes []*ClusterNode // shard by shard: shard 1's replicas first
}

// ClusterNode is one server of a Cluster. Kill and Restart act on the same
// ports and data.
type ClusterNode struct {
	Shard, Replica int // from 1
	cfg            chserver.Config

	mu  sync.Mutex
	srv *chserver.Server
}

// NativeAddr is the node's native-protocol host:port.
func (n *ClusterNode) NativeAddr() string {
	return net.JoinHostPort(chserver.DefaultHost, strconv.Itoa(n.cfg.NativePort))
}

// Dir is the node's directory: data, configuration and logs (log/).
func (n *ClusterNode) Dir() string { return n.cfg.Dir }

// Name is "s<shard>r<replica>", the node's {replica} macro.
func (n *ClusterNode) Name() string { return fmt.Sprintf("s%dr%d", n.Shard, n.Replica) }

// Kill sends the node SIGKILL and waits until it has exited.
func (n *ClusterNode) Kill() error {
	n.mu.Lock()
	srv := n.srv
	n.mu.Unlock()
	if err := srv.Kill(); err != nil {
		return err
	}
	<-srv.Done()
	return nil
}

// Restart starts a killed or stopped node again on its ports and data.
func (n *ClusterNode) Restart(ctx context.Context) error {
	srv, err := chserver.Start(ctx, n.cfg)
	if err != nil {
		return fmt.Errorf("restart clickhouse %s: %w", n.Name(), err)
	}
	n.mu.Lock()
	n.srv = srv
	n.mu.Unlock()
	return nil
}

func (n *ClusterNode) stop() {
	n.mu.Lock()
	srv := n.srv
	n.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Stop(ctx)
}

// ReplicatedCluster starts cfg.Shards × cfg.Replicas ClickHouse servers,
// each with its own data in a temp dir, the cluster in its remote_servers
// (internal replication), cfg.ZooKeeper, the macros {shard} and {replica},
// an interserver port and the distributed DDL queue. They are stopped at
// the end of the test. The ports are chosen before any server starts
// (every config names them all), so another process can take one first:
// then the cluster starts again on new ports.
func ReplicatedCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		n := cfg.Shards * cfg.Replicas
		ports := make([]int, 3*n)
		for i := range ports {
			p, err := chserver.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			ports[i] = p
		}
		c := &Cluster{Name: cfg.Name}
		shards := make([][]string, cfg.Shards)
		for s := range cfg.Shards {
			for r := range cfg.Replicas {
				i := s*cfg.Replicas + r
				node := &ClusterNode{Shard: s + 1, Replica: r + 1}
				node.cfg = chserver.Config{
					Dir:        t.TempDir(),
					NativePort: ports[3*i], HTTPPort: ports[3*i+1], InterserverHTTPPort: ports[3*i+2],
					ZooKeeper: []string{cfg.ZooKeeper},
					Macros:    map[string]string{"shard": strconv.Itoa(s + 1), "replica": node.Name()},
					Logger:    cfg.Logger,
				}
				shards[s] = append(shards[s], node.NativeAddr())
				c.Nodes = append(c.Nodes, node)
			}
		}
		var err error
		for _, node := range c.Nodes {
			node.cfg.Clusters = map[string][][]string{cfg.Name: shards}
			if err = node.Restart(ctx); err != nil {
				break
			}
		}
		stopAll := func() {
			var wg sync.WaitGroup
			for _, node := range c.Nodes {
				wg.Go(node.stop)
			}
			wg.Wait()
		}
		if err == nil {
			t.Cleanup(stopAll)
			return c
		}
		stopAll()
		if errors.Is(err, chserver.ErrNotInstalled) {
			t.Fatalf("integration tests need ClickHouse (apt-get install clickhouse-server): %v", err)
		}
		if !errors.Is(err, chserver.ErrPortInUse) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; starting the cluster again on new ports", attempt, err)
	}
}
