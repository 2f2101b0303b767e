package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/store"
)

// TestClusterMigrations_Replicated: the same migrations, for a replicated
// cluster: every table is a ReplicatedMergeTree table_local plus a
// Distributed table sharded by kafka_partition, every statement ON CLUSTER,
// and nothing of the single-server form is left.
func TestClusterMigrations_Replicated(t *testing.T) {
	single, err := store.Migrations("vetrina")
	if err != nil {
		t.Fatal(err)
	}
	migs, err := store.ClusterMigrations("vetrina", "prod", store.ClusterReplicated)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != len(single) {
		t.Fatalf("%d cluster migrations for %d", len(migs), len(single))
	}
	tables := 0
	for i, m := range migs {
		for _, stmt := range m.Statements {
			if !strings.Contains(stmt, " ON CLUSTER prod") {
				t.Errorf("%s: not ON CLUSTER: %.80s", m.Name, stmt)
			}
			if strings.Contains(stmt, "ENGINE = MergeTree()") {
				t.Errorf("%s: a plain MergeTree is left: %.80s", m.Name, stmt)
			}
		}
		for _, stmt := range single[i].Statements {
			name := regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS vetrina\.(\w+) `).FindStringSubmatch(stmt)
			if name == nil {
				continue
			}
			tables++
			t.Run(name[1], func(t *testing.T) {
				local := "CREATE TABLE IF NOT EXISTS vetrina." + name[1] + "_local ON CLUSTER prod ("
				dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS vetrina.%s ON CLUSTER prod AS vetrina.%s_local ENGINE = Distributed(prod, vetrina, %s_local, kafka_partition)", name[1], name[1], name[1])
				engine := fmt.Sprintf("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/vetrina/%s_local', '{replica}')", name[1])
				var sawLocal, sawDist bool
				for _, s := range m.Statements {
					if strings.HasPrefix(s, local) {
						sawLocal = true
						if !strings.Contains(s, engine) {
							t.Errorf("local table without %s: %s", engine, s)
						}
						// Same columns, partitioning and ordering.
						_, body, _ := strings.Cut(stmt, " (")
						body, _, _ = strings.Cut(body, "ENGINE")
						if !strings.Contains(s, body) {
							t.Errorf("local table's columns differ from the single-server table's")
						}
						_, tail, _ := strings.Cut(stmt, "MergeTree()")
						if !strings.HasSuffix(s, tail+" SETTINGS replicated_deduplication_window = 1000") {
							t.Errorf("local table's PARTITION BY / ORDER BY differ: %q", tail)
						}
					}
					sawDist = sawDist || s == dist
				}
				if !sawLocal || !sawDist {
					t.Errorf("local %v, distributed %v:\n%s", sawLocal, sawDist, strings.Join(m.Statements, "\n---\n"))
				}
			})
		}
	}
	if tables < 8 {
		t.Errorf("only %d tables checked", tables)
	}
	// The added column lands on the local tables first. ClickHouse 18.16
	// refuses an ALTER ON CLUSTER of the Distributed table (not replicated)
	// over shards that replicate internally, so it is then created again
	// from its local table.
	wantAlter := []string{
		"ALTER TABLE vetrina.influencer_versions_local ON CLUSTER prod ADD COLUMN fee Float64 DEFAULT 0",
		"DROP TABLE IF EXISTS vetrina.influencer_versions ON CLUSTER prod",
		"CREATE TABLE IF NOT EXISTS vetrina.influencer_versions ON CLUSTER prod AS vetrina.influencer_versions_local ENGINE = Distributed(prod, vetrina, influencer_versions_local, kafka_partition)",
	}
	if got := alterAndAfter(migs, 3); !slices.Equal(got, wantAlter) {
		t.Errorf("the added column's statements:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAlter, "\n"))
	}
	for _, m := range migs {
		for _, s := range m.Statements {
			if strings.HasPrefix(s, "ALTER TABLE vetrina.influencer_versions ") {
				t.Errorf("%s: an ALTER ON CLUSTER of a Distributed table: %s", m.Name, s)
			}
		}
	}
	sharded, err := store.ClusterMigrations("vetrina", "prod", store.ClusterSharded)
	if err != nil {
		t.Fatal(err)
	}
	wantAlter = []string{
		"ALTER TABLE vetrina.influencer_versions_local ADD COLUMN fee Float64 DEFAULT 0",
		"ALTER TABLE vetrina.influencer_versions ADD COLUMN fee Float64 DEFAULT 0",
	}
	if got := alterAndAfter(sharded, 2); !slices.Equal(got, wantAlter) {
		t.Errorf("sharded: the added column's statements:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAlter, "\n"))
	}
	if _, err := store.ClusterMigrations("vetrina", "bad name", ""); err == nil {
		t.Error("a cluster name with a space was accepted")
	}
	if _, err := store.ClusterMigrations("vetrina", "prod", "mirrored"); err == nil {
		t.Error("an unknown cluster mode was accepted")
	}
}

// alterAndAfter returns the first ALTER of migs and the statements after
// it in its migration, n in all (fewer if the migration ends).
func alterAndAfter(migs []store.Migration, n int) []string {
	for _, m := range migs {
		for i, s := range m.Statements {
			if strings.HasPrefix(s, "ALTER") {
				out := slices.Clone(m.Statements[i:min(i+n, len(m.Statements))])
				for j, s := range out {
					out[j] = strings.TrimSpace(s)
				}
				return out
			}
		}
	}
	return nil
}

// TestCluster_TwoShards_ExactlyOnceAndSharded runs the sharded layout on
// two real ClickHouse servers: migrate each node, write the events of four
// Kafka partitions through node 1's Distributed tables, and check that the
// counts, the watermarks and the catalog views read through either node
// see everything once, and that each partition's rows live on one shard.
func TestCluster_TwoShards_ExactlyOnceAndSharded(t *testing.T) {
	ctx := context.Background()
	addrs := startShards(ctx, t)
	addr := func(i int) string { return addrs[i] }
	var nodes []*store.Store
	db := "cluster_" + strings.ReplaceAll(fmt.Sprint(time.Now().UnixNano()), "-", "")
	for i := range 2 {
		st, err := store.Open(store.Config{Addr: addr(i), Database: db, Cluster: "vetrina_test", ClusterMode: store.ClusterSharded})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatalf("migrate node %d: %v", i+1, err)
		}
		nodes = append(nodes, st)
	}

	// Four partitions' batches of views, and the catalog, through node 1.
	now := time.Now().UTC().Truncate(time.Second)
	const perPartition = 250
	for p := range int32(4) {
		var views store.ViewRows
		for k := range perPartition {
			views.Add(&event.View{EventID: fmt.Sprintf("p%d-%d", p, k), TS: now, UserID: uint64(k), ProductID: uint64(1 + k%5), Surface: "feed"}, p, int64(100+k))
		}
		views.SetIngestedAt(now)
		if err := nodes[0].Insert(ctx, &views); err != nil {
			t.Fatalf("insert partition %d: %v", p, err)
		}
	}
	var products store.ProductRows
	for k := range 5 {
		for v := range 2 { // two versions: the views keep the latest
			products.Add(&event.Product{ProductID: uint64(1 + k), BrandID: 1, Category: "kitchen", Title: fmt.Sprint("v", v), Price: 10, Currency: "EUR", InStock: true, UpdatedAt: now.Add(time.Duration(v) * time.Minute)}, int32(k%4), int64(10*k+v))
		}
	}
	products.SetIngestedAt(now)
	if err := nodes[0].Insert(ctx, &products); err != nil {
		t.Fatal(err)
	}

	for i, st := range nodes {
		n, u, err := st.Count(ctx, store.TableViews)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4*perPartition || u != n {
			t.Errorf("node %d: %d views, %d unique, want %d", i+1, n, u, 4*perPartition)
		}
		wm, err := st.Watermarks(ctx, store.TableViews)
		if err != nil {
			t.Fatal(err)
		}
		for p := range int32(4) {
			if wm[p] != 100+perPartition-1 {
				t.Errorf("node %d: watermark of partition %d = %d, want %d", i+1, p, wm[p], 100+perPartition-1)
			}
		}
		ps, err := st.Products(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 5 {
			t.Errorf("node %d: %d products through the view, want 5", i+1, len(ps))
		}
		for _, p := range ps {
			if p.Title != "v1" {
				t.Errorf("node %d: product %d shows version %q, want the latest", i+1, p.ProductID, p.Title)
			}
		}
	}
	// A join of two Distributed tables (views with the active users) runs.
	for i, st := range nodes {
		aud, err := st.LiveAudiences(ctx, now.Add(time.Hour))
		if err != nil {
			t.Errorf("node %d: a distributed join: %v", i+1, err)
		}
		_ = aud
	}
	// Each shard holds whole partitions: kafka_partition modulo 2.
	for i, st := range nodes {
		parts, err := st.LocalPartitions(ctx, store.TableViews)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 2 || parts[0]%2 != int32(i) || parts[1]%2 != int32(i) {
			t.Errorf("shard %d holds partitions %v, want the ones ≡ %d mod 2", i+1, parts, i)
		}
	}
}

// startShards starts two ClickHouse servers that know each other as the
// two shards of cluster vetrina_test and returns their native addresses.
// The ports are chosen before either server starts (each config names
// both), so another test can take one first: then it starts again on new
// ports.
func startShards(ctx context.Context, t *testing.T) []string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := make([]int, 4)
		for i := range ports {
			p, err := chserver.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			ports[i] = p
		}
		addrs := []string{net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[0])), net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[2]))}
		clusters := map[string][][]string{"vetrina_test": {{addrs[0]}, {addrs[1]}}}
		var started []*chserver.Server
		stop := func() {
			for _, srv := range started {
				sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_ = srv.Stop(sctx)
				cancel()
			}
		}
		var err error
		for i := range 2 {
			var srv *chserver.Server
			if srv, err = chserver.Start(ctx, chserver.Config{Dir: t.TempDir(), NativePort: ports[2*i], HTTPPort: ports[2*i+1], Clusters: clusters}); err != nil {
				break
			}
			started = append(started, srv)
		}
		if err == nil {
			t.Cleanup(stop)
			return addrs
		}
		stop()
		if !errors.Is(err, chserver.ErrPortInUse) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; starting again on new ports", attempt, err)
	}
}
