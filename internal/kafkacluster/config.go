package kafkacluster

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// properties returns node n's server.properties: KRaft combined mode, the
// static controller quorum of every node, loopback listeners, and settings
// that suit tests on a small machine (quick failure detection, small
// internal topics, small buffers) while keeping Kafka's durability rules
// (acks=all with min.insync.replicas, no unclean leader election).
func (c *Cluster) properties(n *node) []byte {
	voters := make([]string, len(c.nodes))
	for i, m := range c.nodes {
		voters[i] = fmt.Sprintf("%d@%s:%d", m.id, host, m.controllerPort)
	}
	rf := strconv.Itoa(min(len(c.nodes), 3))
	p := map[string]string{
		"process.roles":                            "broker,controller",
		"node.id":                                  strconv.Itoa(n.id),
		"controller.quorum.voters":                 strings.Join(voters, ","),
		"listeners":                                fmt.Sprintf("PLAINTEXT://%s:%d,CONTROLLER://%s:%d", host, n.brokerPort, host, n.controllerPort),
		"advertised.listeners":                     fmt.Sprintf("PLAINTEXT://%s:%d", host, n.brokerPort),
		"controller.listener.names":                "CONTROLLER",
		"inter.broker.listener.name":               "PLAINTEXT",
		"listener.security.protocol.map":           "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                 filepath.Join(n.dir, "data"),
		"auto.create.topics.enable":                "false",
		"num.partitions":                           "1",
		"default.replication.factor":               rf,
		"offsets.topic.replication.factor":         rf,
		"offsets.topic.num.partitions":             "5",
		"transaction.state.log.replication.factor": rf,
		"transaction.state.log.min.isr":            strconv.Itoa(min(len(c.nodes), 2)),
		"transaction.state.log.num.partitions":     "5",
		"unclean.leader.election.enable":           "false",
		// Consumer groups: no initial delay, and session timeouts as short as
		// the tests use.
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "1000",
		// A crashed broker is fenced (and leaves the ISRs) within seconds;
		// a restarted one gets its preferred leaderships back soon.
		"broker.heartbeat.interval.ms":            "1000",
		"broker.session.timeout.ms":               "6000",
		"leader.imbalance.check.interval.seconds": "10",
		// Fewer threads and smaller buffers than a production broker.
		"num.network.threads":               "2",
		"num.io.threads":                    "4",
		"num.recovery.threads.per.data.dir": "1",
		"background.threads":                "4",
		"log.cleaner.threads":               "1",
		"log.cleaner.dedupe.buffer.size":    strconv.Itoa(8 << 20),
		"log.segment.bytes":                 strconv.Itoa(64 << 20),
	}
	maps.Copy(p, c.cfg.Properties)
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by vetrina's internal/kafkacluster for node %d of cluster %s (Apache Kafka %s).\n", n.id, c.clusterID, c.cfg.Version)
	for _, k := range slices.Sorted(maps.Keys(p)) {
		fmt.Fprintf(&b, "%s=%s\n", k, p[k])
	}
	return []byte(b.String())
}
