package kafkacluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topic describes a topic to create.
type Topic struct {
	Name              string
	Partitions        int // default 1
	ReplicationFactor int // default: the number of nodes, at most 3
	// MinInsyncReplicas is the topic's min.insync.replicas; 0 leaves the
	// broker's default (1).
	MinInsyncReplicas int
	// Configs are further topic configs, e.g. "retention.ms".
	Configs map[string]string
}

// CreateTopics creates the topics and waits until every partition has a
// leader and all its replicas in sync.
func (c *Cluster) CreateTopics(ctx context.Context, topics ...Topic) error {
	req := &kafka.CreateTopicsRequest{}
	names := make([]string, len(topics))
	for i, t := range topics {
		tc := kafka.TopicConfig{Topic: t.Name, NumPartitions: max(t.Partitions, 1), ReplicationFactor: t.ReplicationFactor}
		if tc.ReplicationFactor == 0 {
			tc.ReplicationFactor = min(len(c.nodes), 3)
		}
		if t.MinInsyncReplicas > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(t.MinInsyncReplicas)})
		}
		for k, v := range t.Configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
		names[i] = t.Name
	}
	err := c.onAnyNode(ctx, func(cl *kafka.Client) error {
		res, err := cl.CreateTopics(ctx, req)
		if err != nil {
			return err
		}
		var errs []error
		for name, err := range res.Errors {
			if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("kafkacluster: create topics %v: %w", names, err)
	}
	return c.WaitInSync(ctx, names...)
}

// Partition is where one partition lives now.
type Partition struct {
	Topic    string
	ID       int
	Leader   int // node id, -1 while none
	Replicas []int
	ISR      []int
}

// Partitions returns the partitions of the topics as the cluster's
// metadata says now (asking the first running node that answers), sorted by
// topic and id.
func (c *Cluster) Partitions(ctx context.Context, topics ...string) ([]Partition, error) {
	var ps []Partition
	err := c.onAnyNode(ctx, func(cl *kafka.Client) error {
		var err error
		ps, err = partitions(ctx, cl, topics)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kafkacluster: metadata of %v: %w", topics, err)
	}
	return ps, nil
}

func partitions(ctx context.Context, cl *kafka.Client, topics []string) ([]Partition, error) {
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	var ps []Partition
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			leader := -1
			if p.Leader.Host != "" {
				leader = p.Leader.ID
			}
			ps = append(ps, Partition{Topic: t.Name, ID: p.ID, Leader: leader, Replicas: ids(p.Replicas), ISR: ids(p.Isr)})
		}
	}
	slices.SortFunc(ps, func(a, b Partition) int {
		if a.Topic != b.Topic {
			return strings.Compare(a.Topic, b.Topic)
		}
		return a.ID - b.ID
	})
	return ps, nil
}

// WaitInSync waits until every running node's metadata shows every
// partition of the topics with a leader and all its replicas in sync (e.g.
// after creating them, or after a node restarted and caught up): then a
// client may start from any node.
func (c *Cluster) WaitInSync(ctx context.Context, topics ...string) error {
	err := c.poll(ctx, func() error {
		for _, id := range c.runningIDs() {
			err := c.onNode(id, func(cl *kafka.Client) error {
				ps, err := partitions(ctx, cl, topics)
				if err != nil {
					return err
				}
				if len(ps) == 0 {
					return fmt.Errorf("no partitions of %v yet", topics)
				}
				for _, p := range ps {
					if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
						return fmt.Errorf("%s/%d: leader %d, replicas %v, in sync %v", p.Topic, p.ID, p.Leader, p.Replicas, p.ISR)
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kafkacluster: wait for %v in sync: %w", topics, err)
	}
	return nil
}

// Coordinator returns the node that coordinates the consumer group now, as
// a FindCoordinator request answers. While no coordinator is available (the
// first request creates the offsets topic; after a crash its partition
// moves) it asks again until ctx ends.
func (c *Cluster) Coordinator(ctx context.Context, group string) (int, error) {
	id := -1
	err := c.poll(ctx, func() error {
		return c.onAnyNode(ctx, func(cl *kafka.Client) error {
			res, err := cl.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
			if err != nil {
				return err
			}
			if res.Error != nil {
				return res.Error
			}
			id = res.Coordinator.NodeID
			return nil
		})
	})
	if err != nil {
		return -1, fmt.Errorf("kafkacluster: find the coordinator of group %s: %w", group, err)
	}
	return id, nil
}

// poll calls cond every pollInterval until it returns nil or ctx ends.
func (c *Cluster) poll(ctx context.Context, cond func() error) error {
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkacluster: %w (last: %w)", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// onAnyNode calls fn with a client of each running node in turn until one
// call succeeds.
func (c *Cluster) onAnyNode(ctx context.Context, fn func(*kafka.Client) error) error {
	var errs []error
	for _, id := range c.runningIDs() {
		err := c.onNode(id, fn)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("node %d: %w", id, err))
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return errors.New("no node is running")
	}
	return errors.Join(errs...)
}

// onNode calls fn with a client whose bootstrap broker is node id (a new
// transport each time: no state cached from before a failure).
func (c *Cluster) onNode(id int, fn func(*kafka.Client) error) error {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	return fn(&kafka.Client{Addr: kafka.TCP(c.Addr(id)), Timeout: 10 * time.Second, Transport: tr})
}

// metadata asks the broker at addr.
func (c *Cluster) metadata(ctx context.Context, addr string, topics []string) (*kafka.MetadataResponse, error) {
	tr := &kafka.Transport{DialTimeout: 2 * time.Second}
	defer tr.CloseIdleConnections()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return (&kafka.Client{Addr: kafka.TCP(addr), Transport: tr}).Metadata(rctx, &kafka.MetadataRequest{Topics: topics})
}

func ids(bs []kafka.Broker) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	slices.Sort(out)
	return out
}
