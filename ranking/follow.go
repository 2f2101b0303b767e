package ranking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/vetrina/vetrina/event"
)

// FollowConfig configures Follow.
type FollowConfig struct {
	Brokers []string
	// Topics of the views, chats and purchases (keys View, Chat, Purchase).
	Topics map[Kind]string
	// Lookback is how far before now each partition is read from at start,
	// so that a restarted server knows recent sessions; default 30m.
	Lookback time.Duration
	Logger   *slog.Logger
}

// Follow reads every partition of the event topics from Lookback ago (no
// consumer group: every serving replica sees every event) and passes each
// decoded event to sink, until ctx is done. Messages that do not decode
// are skipped: the ingester dead-letters them. Partitions are discovered at
// start.
func Follow(ctx context.Context, cfg FollowConfig, sink func(Event)) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("follow events: no brokers configured")
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, k := range []Kind{View, Chat, Purchase} {
		topic := cfg.Topics[k]
		if topic == "" {
			return fmt.Errorf("follow events: no topic for %s", k)
		}
		parts, err := partitions(ctx, cfg.Brokers, topic)
		if err != nil {
			return err
		}
		for _, p := range parts {
			g.Go(func() error { return followPartition(ctx, cfg, k, topic, p, sink) })
		}
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// partitions waits for the topic to exist (the ingester or producer may
// create it a moment later) and returns its partitions.
func partitions(ctx context.Context, brokers []string, topic string) ([]int, error) {
	d := &kafka.Dialer{Timeout: 5 * time.Second}
	for {
		var lastErr error
		for _, b := range brokers {
			ps, err := d.LookupPartitions(ctx, "tcp", b, topic)
			if err == nil && len(ps) > 0 {
				out := make([]int, len(ps))
				for i, p := range ps {
					out[i] = p.ID
				}
				return out, nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("look up partitions of %s: %w (last error: %v)", topic, ctx.Err(), lastErr)
		case <-time.After(time.Second):
		}
	}
}

func followPartition(ctx context.Context, cfg FollowConfig, k Kind, topic string, partition int, sink func(Event)) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   cfg.Brokers,
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  4 << 20,
		MaxWait:   100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffsetAt(ctx, time.Now().Add(-cfg.Lookback)); err != nil {
		cfg.Logger.Warn("follow: cannot seek by time, starting at the end", "topic", topic, "partition", partition, "err", err)
		if err := r.SetOffset(kafka.LastOffset); err != nil {
			return fmt.Errorf("follow %s/%d: %w", topic, partition, err)
		}
	}
	dec := event.NewDecoder(event.Limits{})
	var (
		v event.View
		c event.Chat
		p event.Purchase
	)
	for {
		msg, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			cfg.Logger.Warn("follow: read failed, retrying", "topic", topic, "partition", partition, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		var ev Event
		switch k {
		case View:
			if dec.View(msg.Value, &v) != nil {
				continue
			}
			ev = Event{UserID: v.UserID, ProductID: v.ProductID, LiveID: v.LiveID, InfluencerID: v.InfluencerID, Kind: View, Unix: v.TS.Unix(), DwellMS: v.DwellMS}
		case Chat:
			if dec.Chat(msg.Value, &c) != nil {
				continue
			}
			ev = Event{UserID: c.UserID, ProductID: c.ProductID, LiveID: c.LiveID, InfluencerID: c.InfluencerID, Kind: Chat, Unix: c.TS.Unix()}
		case Purchase:
			if dec.Purchase(msg.Value, &p) != nil {
				continue
			}
			ev = Event{UserID: p.UserID, ProductID: p.ProductID, LiveID: p.LiveID, InfluencerID: p.InfluencerID, Kind: Purchase, Unix: p.TS.Unix()}
		}
		sink(ev)
	}
}
