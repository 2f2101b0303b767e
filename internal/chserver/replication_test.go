package chserver

import (
	"encoding/xml"
	"strings"
	"testing"
)

// renderedConfig is the part of config.xml the replication settings touch.
type renderedConfig struct {
	RemoteServers struct {
		Clusters []struct {
			XMLName xml.Name
			Shards  []struct {
				InternalReplication string `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port int    `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:",any"`
	} `xml:"remote_servers"`
	ZooKeeper *struct {
		Nodes []struct {
			Host string `xml:"host"`
			Port int    `xml:"port"`
		} `xml:"node"`
		SessionTimeoutMS int `xml:"session_timeout_ms"`
	} `xml:"zookeeper"`
	Macros *struct {
		Items []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"macros"`
	InterserverHost string `xml:"interserver_http_host"`
	InterserverPort int    `xml:"interserver_http_port"`
	DDLPath         string `xml:"distributed_ddl>path"`
}

func render(t *testing.T, p serverParams) (renderedConfig, string) {
	t.Helper()
	l, err := newLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.layout = l
	p.ListenHost, p.NativePort, p.HTTPPort = "127.0.0.1", 9000, 8123
	config, _, err := renderConfigs(p)
	if err != nil {
		t.Fatal(err)
	}
	var c renderedConfig
	if err := xml.Unmarshal(config, &c); err != nil {
		t.Fatalf("config.xml does not parse: %v\n%s", err, config)
	}
	return c, string(config)
}

// TestRenderConfig_Replicated: with ZooKeeper, config.xml names the
// ZooKeeper nodes, the macros, the interserver port and the distributed DDL
// queue, and every shard replicates internally.
func TestRenderConfig_Replicated(t *testing.T) {
	clusters := map[string][][]string{"repl": {{"127.0.0.1:9001", "127.0.0.1:9002"}, {"127.0.0.1:9003", "127.0.0.1:9004"}}}
	c, raw := render(t, serverParams{Clusters: clusters, Replication: &replication{
		ZooKeeper: []string{"127.0.0.1:2181", "[::1]:2182"}, SessionTimeoutMS: 12000,
		Macros:          map[string]string{"shard": "2", "replica": "s2r<1>"},
		InterserverHost: "127.0.0.1", InterserverPort: 9009, DDLQueuePath: "/clickhouse/task_queue/ddl",
	}})
	if len(c.RemoteServers.Clusters) != 1 || c.RemoteServers.Clusters[0].XMLName.Local != "repl" || len(c.RemoteServers.Clusters[0].Shards) != 2 {
		t.Fatalf("remote_servers: %+v", c.RemoteServers)
	}
	for i, sh := range c.RemoteServers.Clusters[0].Shards {
		if sh.InternalReplication != "true" || len(sh.Replicas) != 2 {
			t.Errorf("shard %d: internal_replication %q, %d replicas", i+1, sh.InternalReplication, len(sh.Replicas))
		}
	}
	if c.ZooKeeper == nil || len(c.ZooKeeper.Nodes) != 2 || c.ZooKeeper.Nodes[0].Host != "127.0.0.1" || c.ZooKeeper.Nodes[0].Port != 2181 ||
		c.ZooKeeper.Nodes[1].Host != "::1" || c.ZooKeeper.Nodes[1].Port != 2182 || c.ZooKeeper.SessionTimeoutMS != 12000 {
		t.Errorf("zookeeper: %+v", c.ZooKeeper)
	}
	macros := map[string]string{}
	if c.Macros != nil {
		for _, m := range c.Macros.Items {
			macros[m.XMLName.Local] = m.Value
		}
	}
	if len(macros) != 2 || macros["shard"] != "2" || macros["replica"] != "s2r<1>" {
		t.Errorf("macros: %v", macros)
	}
	if c.InterserverHost != "127.0.0.1" || c.InterserverPort != 9009 || c.DDLPath != "/clickhouse/task_queue/ddl" {
		t.Errorf("interserver %s:%d, distributed DDL %q", c.InterserverHost, c.InterserverPort, c.DDLPath)
	}
	if !strings.Contains(raw, "<replicated_max_ratio_of_wrong_parts>1</replicated_max_ratio_of_wrong_parts>") {
		t.Error("no replicated_max_ratio_of_wrong_parts")
	}
}

// TestRenderConfig_NotReplicated: without ZooKeeper none of it is there,
// whether or not the server knows a (sharded) cluster.
func TestRenderConfig_NotReplicated(t *testing.T) {
	for _, clusters := range []map[string][][]string{nil, {"sharded": {{"127.0.0.1:9001"}, {"127.0.0.1:9003"}}}} {
		c, raw := render(t, serverParams{Clusters: clusters})
		for _, s := range []string{"zookeeper", "macros", "interserver", "distributed_ddl", "internal_replication", "merge_tree"} {
			if strings.Contains(raw, s) {
				t.Errorf("clusters %v: config.xml mentions %s", clusters, s)
			}
		}
		if c.ZooKeeper != nil || c.Macros != nil {
			t.Errorf("clusters %v: zookeeper or macros configured", clusters)
		}
	}
}

// TestRenderConfig_BadReplication: names that would not be XML elements,
// or a relative ZooKeeper path, are refused.
func TestRenderConfig_BadReplication(t *testing.T) {
	l, err := newLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []replication{
		{ZooKeeper: []string{"127.0.0.1:2181"}, Macros: map[string]string{"bad name": "x"}, DDLQueuePath: "/ddl"},
		{ZooKeeper: []string{"127.0.0.1:2181"}, Macros: map[string]string{"shard": "1"}, DDLQueuePath: "ddl"},
		{ZooKeeper: []string{"127.0.0.1:2181"}, DDLQueuePath: "/ddl/"},
	} {
		if _, _, err := renderConfigs(serverParams{layout: l, Replication: &r}); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
}
