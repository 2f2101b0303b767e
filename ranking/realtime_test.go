package ranking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var categories = []string{"kitchen", "fashion", "beauty", "toys"}

// seedStore lands a catalog (4 categories × 30 products) and a week of
// views and purchases of 300 users, each browsing one category.
func seedStore(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	var products store.ProductRows
	for c, name := range categories {
		for k := range 30 {
			products.Add(&event.Product{ProductID: uint64(1000*(c+1) + k), BrandID: uint64(10*(c+1) + k%5), Category: name,
				Title: fmt.Sprintf("%s item %d", name, k), Price: 10, Currency: "EUR", InStock: true, UpdatedAt: time.Now().Add(-time.Hour)}, 0, int64(c*30+k))
		}
	}
	var views store.ViewRows
	var buys store.PurchaseRows
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	n := 0
	for u := 1; u <= 300; u++ {
		c := u % len(categories)
		for range 10 {
			p := uint64(1000*(c+1) + int(30*rng.Float64()*rng.Float64()))
			ts := now.Add(-time.Duration(rng.Int64N(int64(7 * 24 * time.Hour))))
			n++
			views.Add(&event.View{EventID: fmt.Sprint("v", n), TS: ts, UserID: uint64(u), ProductID: p, Surface: "feed", DwellMS: 5000}, 0, int64(n))
			if rng.Float64() < 0.1 {
				buys.Add(&event.Purchase{EventID: fmt.Sprint("p", n), TS: ts.Add(time.Minute), OrderID: fmt.Sprint("o", n), UserID: uint64(u), ProductID: p, Quantity: 1, UnitPrice: 10, Currency: "EUR"}, 0, int64(n))
			}
		}
	}
	for _, r := range []store.Rows{&products, &views, &buys} {
		r.SetIngestedAt(now)
		if err := st.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

type feedBody struct {
	Personalized bool `json:"personalized"`
	Items        []struct {
		ProductID uint64 `json:"product_id"`
		Category  string `json:"category"`
		Reason    string `json:"reason"`
	} `json:"items"`
}

func getFeed(t *testing.T, base string, user uint64) feedBody {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/v1/feed?user_id=%d&limit=10", base, user))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/feed: %s", resp.Status)
	}
	var f feedBody
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

// A new user views two toys on Kafka; their next feed over HTTP is about
// toys within two seconds. The model is trained from the real ClickHouse,
// the events come through a Kafka-protocol broker over TCP.
func TestRealtime_ViewChangesFeedWithinTwoSeconds(t *testing.T) {
	st, _ := testenv.Store(t)
	seedStore(t, st)
	topics := map[ranking.Kind]string{ranking.View: testenv.RandomName("views"), ranking.Chat: testenv.RandomName("chats"), ranking.Purchase: testenv.RandomName("purchases")}
	b := testenv.Broker(t, 3, topics[ranking.View], topics[ranking.Chat], topics[ranking.Purchase])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	r := ranking.New(ranking.Config{})
	snap := filepath.Join(t.TempDir(), "ranking.gob")
	tr := ranking.NewTrainer(st, r, ranking.TrainerConfig{Train: ranking.TrainConfig{ALS: ranking.ALSConfig{Factors: 8, Iterations: 6}}, Snapshot: snap})
	m, err := tr.TrainOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Data.NumUsers() != 300 || m.Data.NumItems() != 120 {
		t.Fatalf("trained on %d users and %d products, want 300 and 120", m.Data.NumUsers(), m.Data.NumItems())
	}
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Feed: r})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Run(ctx)
	go ranking.Follow(ctx, ranking.FollowConfig{Brokers: []string{b.Addr()}, Topics: topics}, r.Observe)
	base := "http://" + srv.Addr()

	const user = 777777
	if f := getFeed(t, base, user); f.Personalized || len(f.Items) != 10 {
		t.Fatalf("unknown user: personalized %v, %d items; want a full non-personal page", f.Personalized, len(f.Items))
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: topics[ranking.View], BatchTimeout: time.Millisecond, AllowAutoTopicCreation: false}
	defer w.Close()
	view := func(id string, user, product int) {
		t.Helper()
		msg := fmt.Sprintf(`{"event_id":%q,"ts":%q,"user_id":%d,"product_id":%d,"surface":"feed","dwell_ms":8000}`, id, time.Now().UTC().Format(time.RFC3339Nano), user, product)
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(strconv.Itoa(user)), Value: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
	}
	// The follower joins its partitions in its own time (longer on a busy
	// machine): the clock starts once a probe user's view has reached the
	// feed, so the two seconds measure an event's way, not the join.
	const probe = 888888
	probes := 0
	testenv.Eventually(t, 30*time.Second, func() error {
		probes++
		view(fmt.Sprintf("probe%d", probes), probe, 4000)
		if f := getFeed(t, base, probe); !f.Personalized {
			return fmt.Errorf("the follower has not delivered a probe view yet (%d sent)", probes)
		}
		return nil
	})
	sent := time.Now()
	for k, p := range []int{4000, 4002} {
		view(fmt.Sprintf("rt%d", k), user, p)
	}
	var took time.Duration
	testenv.Eventually(t, 2*time.Second, func() error {
		f := getFeed(t, base, user)
		toys := 0
		for _, it := range f.Items {
			if it.Category == "toys" {
				toys++
			}
		}
		if !f.Personalized || toys < 6 {
			return fmt.Errorf("feed personalized %v with %d toys of %d", f.Personalized, toys, len(f.Items))
		}
		took = time.Since(sent)
		return nil
	})
	t.Logf("a view on Kafka changed the feed over HTTP after %s", took.Round(time.Millisecond))

	// A restarted server answers from the snapshot at once, before training.
	r2 := ranking.New(ranking.Config{})
	tr2 := ranking.NewTrainer(st, r2, ranking.TrainerConfig{Snapshot: snap, Every: time.Hour})
	go tr2.Run(ctx)
	testenv.Eventually(t, 5*time.Second, func() error {
		if r2.Model() == nil {
			return fmt.Errorf("no model loaded from the snapshot")
		}
		return nil
	})
	if r2.Model().Version != m.Version {
		t.Errorf("restarted server has model %d, want the snapshot's %d", r2.Model().Version, m.Version)
	}
}
