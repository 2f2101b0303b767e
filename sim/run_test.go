package sim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vetrina/vetrina/event"
)

// recorder is a Writer that records batches and can fail or cancel.
type recorder struct {
	mu       sync.Mutex
	batches  [][]kafka.Message
	failAt   int // fail the failAt-th call (1-based; 0 = never)
	cancelAt int // cancel before returning from the cancelAt-th call
	cancel   context.CancelFunc
}

func (r *recorder) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	call := len(r.batches) + 1
	if call == r.failAt {
		return errors.New("broker unavailable")
	}
	r.batches = append(r.batches, msgs)
	if call == r.cancelAt {
		r.cancel()
	}
	return nil
}

func (r *recorder) messages() []kafka.Message {
	var all []kafka.Message
	for _, b := range r.batches {
		all = append(all, b...)
	}
	return all
}

func TestDefaultTopics(t *testing.T) {
	want := map[event.Kind]string{
		event.KindView: "vetrina.views", event.KindChat: "vetrina.chats", event.KindPurchase: "vetrina.purchases",
		event.KindProduct: "vetrina.products", event.KindBrand: "vetrina.brands", event.KindInfluencer: "vetrina.influencers",
		event.KindLive: "vetrina.lives",
	}
	got := DefaultTopics()
	if len(got) != len(want) {
		t.Fatalf("DefaultTopics() = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("topic of %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestRun(t *testing.T) {
	w := smallWorld(t, 6)
	catalog := len(w.Brands) + len(w.Products) + len(w.Influencers)
	topicKind := map[string]event.Kind{}
	for k, v := range DefaultTopics() {
		topicKind[v] = k
	}
	batches := func(size int) int { return (catalog + size - 1) / size }
	// want is the number of events Run returns, or -1 for "the events
	// among the wantStream stream messages written" when whole batches of
	// messages (events and lives) are what a failure or cancellation keeps.
	tests := []struct {
		name       string
		rc         RunConfig
		failAt     int
		cancelAt   int
		want       int
		wantStream int
		wantErr    string
		maxBatch   int // of stream messages
		minWallMS  int
	}{
		{"count", RunConfig{Count: 1234, BatchSize: 100}, 0, 0, 1234, 0, "", 100, 0},
		{"default batch", RunConfig{Count: 1500}, 0, 0, 1500, 0, "", 500, 0},
		// The second batch is due once the first batch's events are: 200 slots,
		// of which a few may be lives' messages, so a little under 100 ms.
		{"paced", RunConfig{Count: 300, Rate: 2000, BatchSize: 1000}, 0, 0, 300, 0, "", 200, 90},
		{"write error", RunConfig{Count: 1000, BatchSize: 100}, batches(100) + 3, 0, -1, 200, "broker unavailable", 100, 0},
		{"catalog write error", RunConfig{Count: 1000, BatchSize: 100}, 1, 0, 0, 0, "produce catalog", 100, 0},
		{"cancel stops cleanly", RunConfig{BatchSize: 100}, 0, batches(100) + 5, -1, 500, "", 100, 0},
		{"cancel while pacing", RunConfig{Rate: 50, BatchSize: 10}, 0, batches(10) + 2, -1, 10, "", 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g := NewGenerator(w, 1, testStart)
			rec := &recorder{failAt: tt.failAt, cancelAt: tt.cancelAt, cancel: cancel}
			began := time.Now()
			n, err := Run(ctx, w, g, rec, DefaultTopics(), tt.rc, nil)
			if wall := time.Since(began); wall < time.Duration(tt.minWallMS)*time.Millisecond {
				t.Errorf("Run took %v, want at least %d ms", wall, tt.minWallMS)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run error = %v, want it to mention %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Run: %v", err)
			}
			msgs := rec.messages()
			stream := msgs[min(catalog, len(msgs)):]
			events := 0
			for _, m := range stream {
				if topicKind[m.Topic].IsEvent() {
					events++
				}
			}
			if tt.want >= 0 && n != tt.want {
				t.Errorf("Run produced %d events, want %d", n, tt.want)
			}
			if tt.wantStream > 0 && len(stream) != tt.wantStream {
				t.Errorf("%d stream messages written, want %d", len(stream), tt.wantStream)
			}
			if n != events {
				t.Errorf("Run produced %d events, but %d were written (and %d live messages)", n, events, len(stream)-events)
			}
			catalogBatch := tt.rc.BatchSize
			if catalogBatch == 0 {
				catalogBatch = 500
			}
			for i, b := range rec.batches {
				limit := tt.maxBatch
				if i < batches(catalogBatch) {
					limit = catalogBatch
				}
				if len(b) == 0 || len(b) > limit {
					t.Errorf("batch %d has %d messages, want 1..%d", i, len(b), limit)
				}
			}
			ref := NewGenerator(w, 1, testStart)
			for i, m := range msgs {
				kind, ok := topicKind[m.Topic]
				if !ok {
					t.Fatalf("message %d has topic %q", i, m.Topic)
				}
				if i < catalog {
					if kind.IsEvent() {
						t.Fatalf("message %d is a %s inside the catalog", i, kind)
					}
					continue
				}
				want := ref.Next()
				if kind != want.Kind || string(m.Key) != string(want.Key) || string(m.Value) != string(want.Value) {
					t.Fatalf("stream message %d = %s %s, want %s %s", i-catalog, m.Topic, m.Value, want.Kind, want.Value)
				}
			}
		})
	}
}

// TestRun_LiveMessagesRideAlong: lives start and end in the stream, on
// their own topic, without counting as events.
func TestRun_LiveMessagesRideAlong(t *testing.T) {
	w := smallWorld(t, 6)
	catalog := len(w.Brands) + len(w.Products) + len(w.Influencers)
	g := NewGenerator(w, 1, testStart)
	rec := &recorder{}
	n, err := Run(context.Background(), w, g, rec, DefaultTopics(), RunConfig{Count: 60000, BatchSize: 1000}, nil)
	if err != nil || n != 60000 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	msgs := rec.messages()[catalog:]
	topicKind := map[string]event.Kind{}
	for k, v := range DefaultTopics() {
		topicKind[v] = k
	}
	var lives, events int
	for _, m := range msgs {
		if m.Topic == "vetrina.lives" {
			lives++
		}
		if topicKind[m.Topic].IsEvent() {
			events++
		}
	}
	if lives == 0 || len(msgs) != n+lives || events != n {
		t.Errorf("%d stream messages with %d lives for %d events (%d events received)", len(msgs), lives, n, events)
	}
	if started := len(g.Lives()); lives > 2*started || lives < started {
		t.Errorf("%d live messages for %d lives started", lives, started)
	}
}

func TestRunValidation(t *testing.T) {
	w := smallWorld(t, 6)
	other := smallWorld(t, 7)
	g := NewGenerator(w, 1, testStart)
	noChats := DefaultTopics()
	delete(noChats, event.KindChat)
	tests := []struct {
		name   string
		g      *Generator
		out    Writer
		topics Topics
		rc     RunConfig
	}{
		{"nil writer", g, nil, DefaultTopics(), RunConfig{Count: 1}},
		{"nil generator", nil, &recorder{}, DefaultTopics(), RunConfig{Count: 1}},
		{"generator of another world", NewGenerator(other, 1, testStart), &recorder{}, DefaultTopics(), RunConfig{Count: 1}},
		{"missing topic", g, &recorder{}, noChats, RunConfig{Count: 1}},
		{"negative count", g, &recorder{}, DefaultTopics(), RunConfig{Count: -1}},
		{"negative rate", g, &recorder{}, DefaultTopics(), RunConfig{Count: 1, Rate: -1}},
		{"negative batch", g, &recorder{}, DefaultTopics(), RunConfig{Count: 1, BatchSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Run(context.Background(), w, tt.g, tt.out, tt.topics, tt.rc, nil)
			if err == nil || n != 0 {
				t.Errorf("Run = %d, %v, want an error", n, err)
			}
		})
	}
}

var _ Writer = (*kafka.Writer)(nil)
