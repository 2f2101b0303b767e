package ranking

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// shop is a small world for serving tests: categories with brands and
// products, users who each browse one category (and buy now and then).
type shop struct {
	d        *Dataset
	cats     []string
	userCat  map[uint64]int
	itemCat  map[uint64]int
	outStock uint64
}

func newShop(t testing.TB, users, perCat int, seed uint64) *shop {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &shop{cats: []string{"kitchen", "fashion", "beauty", "toys"}, userCat: map[uint64]int{}, itemCat: map[uint64]int{}}
	b := NewBuilder()
	var byCat [][]uint64
	for c, name := range s.cats {
		var ids []uint64
		for k := range perCat {
			id := uint64(1000*(c+1) + k)
			b.AddItem(Item{ID: id, Category: name, Brand: uint64(10*(c+1) + k%5), Price: 10 + float64(k), InStock: true, Title: fmt.Sprintf("%s item %d", name, k)})
			s.itemCat[id] = c
			ids = append(ids, id)
		}
		byCat = append(byCat, ids)
	}
	s.outStock = byCat[0][1] // a popular kitchen product, out of stock
	b.AddItem(Item{ID: s.outStock, Category: "kitchen", Brand: 10, Price: 11, InStock: false, Title: "kitchen item 1"})
	// A product nobody touched: fresh.
	b.AddItem(Item{ID: 9999, Category: "kitchen", Brand: 99, Price: 5, InStock: true, Title: "brand new pan"})
	s.itemCat[9999] = 0
	t0 := int64(1_760_000_000)
	for u := uint64(1); u <= uint64(users); u++ {
		c := int(u) % len(s.cats)
		s.userCat[u] = c
		for range 8 + rng.IntN(8) {
			// Zipf-ish within the category: low indexes more popular.
			k := int(float64(perCat) * rng.Float64() * rng.Float64())
			kind := View
			if rng.Float64() < 0.1 {
				kind = Purchase
			}
			b.Add(Interaction{User: u, Item: byCat[c][k], Kind: kind, Unix: t0 + rng.Int64N(86400*7)})
		}
	}
	s.d = b.Build()
	return s
}

func trainShop(t testing.TB, s *shop) *Model {
	t.Helper()
	m, err := Train(context.Background(), s.d, TrainConfig{ALS: ALSConfig{Factors: 8, Iterations: 8, Seed: 1}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Handles = map[uint64]string{77: "chef_anna"}
	return m
}

func newTestRanker(m *Model, now time.Time) *Ranker {
	r := New(Config{Now: func() time.Time { return now }})
	if m != nil {
		r.SetModel(m)
	}
	return r
}

func TestFeed_KnownUser_PersonalDiverseExplained(t *testing.T) {
	s := newShop(t, 400, 40, 1)
	m := trainShop(t, s)
	r := newTestRanker(m, time.Unix(m.Reference, 0))
	user := uint64(8) // a kitchen user
	f, err := r.Feed(context.Background(), FeedRequest{UserID: user, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Personalized || len(f.Items) != 10 {
		t.Fatalf("personalized %v with %d items, want a full personal page", f.Personalized, len(f.Items))
	}
	u, _ := m.Data.UserIndex(user)
	hist, _ := m.Data.UserRow(u)
	inCat, brands := 0, map[uint64]int{}
	for _, it := range f.Items {
		i, _ := m.Data.ItemIndex(it.ProductID)
		if slices.Contains(hist, i) {
			t.Errorf("product %d is in the user's history", it.ProductID)
		}
		if it.ProductID == s.outStock {
			t.Errorf("out-of-stock product %d served", it.ProductID)
		}
		if it.Reason == "" {
			t.Errorf("product %d has no reason", it.ProductID)
		}
		if s.itemCat[it.ProductID] == s.userCat[user] {
			inCat++
		}
		brands[it.BrandID]++
	}
	if inCat < 5 {
		t.Errorf("only %d of 10 products in the user's category", inCat)
	}
	for b, n := range brands {
		if n > 3 {
			t.Errorf("brand %d has %d products on one page, max 3", b, n)
		}
	}
}

func TestFeed_CursorPagesDoNotRepeat(t *testing.T) {
	s := newShop(t, 200, 40, 2)
	r := newTestRanker(trainShop(t, s), time.Now())
	seen := map[uint64]bool{}
	cursor := ""
	for page := range 4 {
		f, err := r.Feed(context.Background(), FeedRequest{UserID: 5, Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Items) != 7 || f.NextCursor == "" {
			t.Fatalf("page %d: %d items, next %q", page, len(f.Items), f.NextCursor)
		}
		for _, it := range f.Items {
			if seen[it.ProductID] {
				t.Errorf("page %d repeats product %d", page, it.ProductID)
			}
			seen[it.ProductID] = true
		}
		cursor = f.NextCursor
	}
}

func TestFeed_ViewChangesNextFeed(t *testing.T) {
	s := newShop(t, 400, 40, 3)
	m := trainShop(t, s)
	now := time.Unix(m.Reference+60, 0)
	r := newTestRanker(m, now)
	// A user unknown to the model: a non-personal feed first.
	const newUser = 123456
	f0, err := r.Feed(context.Background(), FeedRequest{UserID: newUser, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if f0.Personalized {
		t.Error("unknown user got a personalized feed")
	}
	if len(f0.Items) != 10 {
		t.Fatalf("unknown user got %d items, want a full page", len(f0.Items))
	}
	// They view two toys: the next feed is about toys, and says why.
	toy := func(k int) uint64 { return uint64(4000 + k) }
	r.Observe(Event{UserID: newUser, ProductID: toy(0), Kind: View, Unix: now.Unix()})
	r.Observe(Event{UserID: newUser, ProductID: toy(2), Kind: View, Unix: now.Unix()})
	f1, err := r.Feed(context.Background(), FeedRequest{UserID: newUser, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !f1.Personalized {
		t.Error("feed after two views is not personalized")
	}
	toys, because := 0, 0
	for _, it := range f1.Items {
		if s.itemCat[it.ProductID] == 3 {
			toys++
		}
		if strings.HasPrefix(it.Reason, "because you viewed toys item") {
			because++
		}
		if it.ProductID == toy(0) || it.ProductID == toy(2) {
			t.Errorf("viewed product %d served again", it.ProductID)
		}
	}
	if toys < 6 || because == 0 {
		t.Errorf("after viewing toys: %d toys of 10, %d 'because you viewed' reasons; items %+v", toys, because, f1.Items)
	}
}

func TestFeed_BoughtSuppressedLiveBoosted(t *testing.T) {
	s := newShop(t, 400, 40, 4)
	m := trainShop(t, s)
	now := time.Unix(m.Reference+60, 0)
	r := newTestRanker(m, now)
	user := uint64(8) // kitchen
	before, _ := r.Feed(context.Background(), FeedRequest{UserID: user, Limit: 10})
	top := before.Items[0].ProductID
	r.Observe(Event{UserID: user, ProductID: top, Kind: Purchase, Unix: now.Unix()})
	// A fashion product goes on air with chef_anna.
	live := uint64(2005)
	r.Observe(Event{UserID: 999, ProductID: live, LiveID: 5, InfluencerID: 77, Kind: View, Unix: now.Unix()})
	after, _ := r.Feed(context.Background(), FeedRequest{UserID: user, Limit: 20})
	for _, it := range after.Items {
		if it.ProductID == top {
			t.Errorf("bought product %d still in the feed", top)
		}
	}
	// The live product is a candidate with its reason for a user of its
	// category.
	fashionUser := uint64(1)
	f, _ := r.Feed(context.Background(), FeedRequest{UserID: fashionUser, Limit: 20})
	found := false
	for _, it := range f.Items {
		if it.ProductID == live {
			found = true
			if it.Reason != "live now with @chef_anna" {
				t.Errorf("live product reason %q", it.Reason)
			}
		}
	}
	if !found {
		t.Errorf("product on air not in the fashion user's first 20: %+v", f.Items)
	}
}

func TestFeed_BadRequests(t *testing.T) {
	r := newTestRanker(nil, time.Now())
	for name, req := range map[string]FeedRequest{
		"limit over max": {UserID: 1, Limit: 101},
		"negative limit": {UserID: 1, Limit: -1},
		"garbage cursor": {UserID: 1, Cursor: "!!"},
		"forged cursor":  {UserID: 1, Cursor: "eDEw"},
		"too deep":       {UserID: 1, Cursor: EncodeCursor(500)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := r.Feed(context.Background(), req); !errors.Is(err, ErrBadRequest) {
				t.Errorf("err = %v, want ErrBadRequest", err)
			}
		})
	}
}

func TestFeed_Untrained_ServesWhatIsHot(t *testing.T) {
	now := time.Now()
	r := newTestRanker(nil, now)
	for k := range 5 {
		for range k + 1 {
			r.Observe(Event{UserID: 1, ProductID: uint64(100 + k), Kind: View, Unix: now.Unix()})
		}
	}
	f, err := r.Feed(context.Background(), FeedRequest{UserID: 42, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f.Personalized || len(f.Items) != 3 || f.Items[0].ProductID != 104 || f.Items[1].ProductID != 103 {
		t.Errorf("untrained feed %+v, want 104, 103, 102 by heat", f)
	}
}

func TestSimilar(t *testing.T) {
	s := newShop(t, 400, 40, 5)
	r := newTestRanker(trainShop(t, s), time.Now())
	sim, err := r.Similar(context.Background(), 3000, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Items) != 10 {
		t.Fatalf("%d similar items", len(sim.Items))
	}
	for _, it := range sim.Items {
		if it.ProductID == 3000 || s.itemCat[it.ProductID] != 2 {
			t.Errorf("similar to a beauty product: %d (%s)", it.ProductID, it.Category)
		}
	}
	if _, err := r.Similar(context.Background(), 1, 10); !errors.Is(err, ErrUnknownProduct) {
		t.Errorf("unknown product: err %v", err)
	}
}

func TestSnapshot_RoundTripServesTheSameFeed(t *testing.T) {
	s := newShop(t, 300, 30, 6)
	m := trainShop(t, s)
	path := filepath.Join(t.TempDir(), "m.gob")
	if err := SaveSnapshot(path, m); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(m.Reference, 0)
	a, _ := newTestRanker(m, now).Feed(context.Background(), FeedRequest{UserID: 9, Limit: 15})
	b, _ := newTestRanker(m2, now).Feed(context.Background(), FeedRequest{UserID: 9, Limit: 15})
	if fmt.Sprint(a.Items) != fmt.Sprint(b.Items) {
		t.Errorf("feed differs after snapshot round trip:\n%v\n%v", a.Items, b.Items)
	}
	if m2.Handles[77] != "chef_anna" {
		t.Errorf("handles not restored: %v", m2.Handles)
	}
	if m.EASE == nil || m2.EASE == nil || !slices.Equal(m.EASE.Items, m2.EASE.Items) || !slices.Equal(m.EASE.Sims, m2.EASE.Sims) ||
		m2.EASE.Value(m.Data.Signals[0]) != m.EASE.Value(m.Data.Signals[0]) || !reflect.DeepEqual(m2.Blend, m.Blend) {
		t.Error("EASE lists or blend not restored")
	}
}

// TestSnapshot_ReadsFormat2 loads testdata/snapshot-v2.gob, written by the
// previous release (24-byte signals, float64 user vectors) from the model
// trainShop trained then, and checks it against the file's own raw
// sections: signals converted, user vectors quantised within half a step,
// the rest as stored. An upgraded server starts from its old snapshot
// instead of retraining.
func TestSnapshot_ReadsFormat2(t *testing.T) {
	path := filepath.Join("testdata", "snapshot-v2.gob")
	old, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	var magic uint64
	var s legacySnapshot
	if binary.Read(r, binary.NativeEndian, &magic) != nil || gob.NewDecoder(r).Decode(&s) != nil || s.Format != snapshotFormatV2 {
		t.Fatalf("testdata is not a format 2 snapshot (format %d)", s.Format)
	}
	var (
		users          []uint64
		userPtr        []int64
		userItems      []int32
		sigs           []signalV2
		userVecs, item []float64
	)
	for _, err := range []error{readRaw(r, &users), readRaw(r, &userPtr), readRaw(r, &userItems), readRaw(r, &sigs), readRaw(r, &userVecs), readRaw(r, &item)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(old.Data.Users, users) || !slices.Equal(old.Data.UserItems, userItems) || !slices.Equal(old.Factors.Item, item) || len(old.Data.Signals) != len(sigs) {
		t.Fatal("format 2 users, histories or item vectors read differently")
	}
	for k, g := range sigs {
		if old.Data.Signals[k] != g.signal() {
			t.Fatalf("signal %d: %+v read as %+v", k, g, old.Data.Signals[k])
		}
	}
	k := old.Factors.K
	var x []float64
	for u := range int32(len(users)) {
		x = old.Factors.UserVec(u, x)
		half := float64(old.Factors.UserScale[u])/2 + 1e-12
		for j, v := range userVecs[int(u)*k : (int(u)+1)*k] {
			if math.Abs(x[j]-v) > half {
				t.Fatalf("user %d component %d: %v read as %v, more than half a step (%v) off", u, j, v, x[j], half)
			}
		}
	}
	now := time.Unix(old.Reference, 0)
	f, err := newTestRanker(old, now).Feed(context.Background(), FeedRequest{UserID: 9, Limit: 15})
	if err != nil || !f.Personalized || len(f.Items) != 15 {
		t.Errorf("feed from a format 2 snapshot: personalized %v, %d items, err %v", f.Personalized, len(f.Items), err)
	}
}

// TestSnapshot_ReadsFormat3 loads testdata/snapshot-v3.gob, written by the
// previous release (six features in a fixed-length blend, no EASE lists)
// from the model trainShop trained then, and checks it against the file's
// own gob part and raw sections: the blend's six weights kept and FeatEASE
// at 0, no EASE part, the arrays as stored, and a personal feed served.
func TestSnapshot_ReadsFormat3(t *testing.T) {
	path := filepath.Join("testdata", "snapshot-v3.gob")
	old, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	var magic uint64
	var s legacySnapshot
	if binary.Read(r, binary.NativeEndian, &magic) != nil || gob.NewDecoder(r).Decode(&s) != nil || s.Format != snapshotFormatV3 || s.Model == nil {
		t.Fatalf("testdata is not a format 3 snapshot (format %d)", s.Format)
	}
	var (
		users     []uint64
		userPtr   []int64
		userItems []int32
		sigs      []Signal
		codes     []int8
		scales    []float32
		item      []float64
		nbPtr     []int32
		nbItems   []int32
		nbSims    []float32
	)
	for _, err := range []error{readRaw(r, &users), readRaw(r, &userPtr), readRaw(r, &userItems), readRaw(r, &sigs),
		readRaw(r, &codes), readRaw(r, &scales), readRaw(r, &item), readRaw(r, &nbPtr), readRaw(r, &nbItems), readRaw(r, &nbSims)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(old.Data.Users, users) || !slices.Equal(old.Data.UserItems, userItems) || !slices.Equal(old.Data.Signals, sigs) ||
		!slices.Equal(old.Factors.UserCodes, codes) || !slices.Equal(old.Factors.UserScale, scales) || !slices.Equal(old.Factors.Item, item) ||
		!slices.Equal(old.Neighbours.Items, nbItems) || !slices.Equal(old.Neighbours.Sims, nbSims) {
		t.Fatal("format 3 arrays read differently")
	}
	for k, w := range s.Model.Blend.Weights {
		if old.Blend.Weights[k] != w {
			t.Errorf("blend weight %s: %v read as %v", FeatureNames[k], w, old.Blend.Weights[k])
		}
	}
	if old.Blend.Weights[FeatEASE] != 0 || old.EASE != nil || old.Blend.Learned != s.Model.Blend.Learned {
		t.Errorf("converted blend %+v, EASE %v: want the new features at 0 and no EASE part", old.Blend, old.EASE)
	}
	now := time.Unix(old.Reference, 0)
	f, err := newTestRanker(old, now).Feed(context.Background(), FeedRequest{UserID: 9, Limit: 15})
	if err != nil || !f.Personalized || len(f.Items) != 15 {
		t.Errorf("feed from a format 3 snapshot: personalized %v, %d items, err %v", f.Personalized, len(f.Items), err)
	}
}

// TestSnapshot_SaturatesFormat2Counts checks the conversion of a format 2
// signal whose counts do not fit 16 bits.
func TestSnapshot_SaturatesFormat2Counts(t *testing.T) {
	got := signalV2{Views: 70_000, Chats: 3, Purchases: 1, DwellSec: 1 << 20, First: 10, Last: 20}.signal()
	want := Signal{Views: math.MaxUint16, Chats: 3, Purchases: 1, DwellSec: math.MaxUint16, First: 10, Last: 20}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLearnBlend_RecoversSigns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var x []Features
	var y []bool
	for range 5000 {
		var f Features
		for k := range NumFeatures {
			f[k] = rng.NormFloat64()
		}
		logit := -2 + 2*f[FeatFactor] + 1*f[FeatNeighbour] - 1*f[FeatConversion]
		x = append(x, f)
		y = append(y, rng.Float64() < sigmoid(logit))
	}
	b, err := LearnBlend(x, y, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	w := b.Weights
	if !(w[FeatFactor] > 1.5 && w[FeatNeighbour] > 0.6 && w[FeatConversion] < -0.6 && abs(w[FeatTrending]) < 0.3 && w[FeatFactor] > w[FeatNeighbour]) {
		t.Errorf("learned weights %v, want about factor 2, neighbour 1, conversion -1, others 0", w)
	}
	if _, err := LearnBlend(x[:10], make([]bool, 10), 0); !errors.Is(err, ErrNoExamples) {
		t.Errorf("all-negative examples: err %v", err)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestTrain_LearnsBlendOnHoldout(t *testing.T) {
	s := newShop(t, 600, 40, 8)
	m, err := Train(context.Background(), s.d, TrainConfig{ALS: ALSConfig{Factors: 8, Iterations: 6, Seed: 1}, BlendHoldout: 0.2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Blend.Learned {
		t.Fatal("blend not learned")
	}
	// Users stay in their category, so the category feature must carry
	// positive weight.
	if m.Blend.Weights[FeatCategory] <= 0 {
		t.Errorf("learned weights %v: category should be positive", m.Blend.Weights)
	}
}

func TestSnapshot_CorruptOrForeignFilesFailCleanly(t *testing.T) {
	s := newShop(t, 100, 10, 7)
	m := trainShop(t, s)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gob")
	if err := SaveSnapshot(path, m); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"truncated":   full[:len(full)*2/3],
		"not ours":    []byte("PK\x03\x04 a zip file, say"),
		"empty":       nil,
		"bit flipped": append(append([]byte{}, full[:8]...), append([]byte{full[8] ^ 0xff}, full[9:]...)...),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadSnapshot(p); err == nil {
				t.Error("loaded a corrupt snapshot")
			}
		})
	}
}

// A released feed's memory serves the next feeds; a feed kept is never
// touched by them, and releasing twice does nothing.
func TestFeed_ReleaseReusesMemoryAndLeavesKeptFeedsAlone(t *testing.T) {
	s := newShop(t, 400, 40, 1)
	m := trainShop(t, s)
	r := newTestRanker(m, time.Unix(m.Reference, 0))
	ctx := context.Background()
	feed := func(user uint64) *Feed {
		f, err := r.Feed(ctx, FeedRequest{UserID: user, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	kept := feed(8)
	want := string(kept.AppendJSON(nil))
	for u := uint64(1); u <= 50; u++ {
		f := feed(u)
		f.Release()
		f.Release()
	}
	if got := string(kept.AppendJSON(nil)); got != want {
		t.Fatalf("a kept feed changed under later feeds:\n got %s\nwant %s", got, want)
	}
	again := feed(8)
	if got := string(again.AppendJSON(nil)); got != want {
		t.Fatalf("the same user's feed from reused memory differs:\n got %s\nwant %s", got, want)
	}
	again.Release()
}

func TestItemInfo_IsHalfACacheLine(t *testing.T) {
	// A request reads one record per candidate: 32 bytes never straddle
	// two cache lines.
	if n := unsafe.Sizeof(itemInfo{}); n != 32 {
		t.Errorf("itemInfo is %d bytes, want 32", n)
	}
}

// TestScratch_ReusedScratchIsClean: a request's scratch is cleared when the
// request releases it; one pooled without release (a caller's mistake) is
// cleared when taken, so no request sees another's candidates.
func TestScratch_ReusedScratchIsClean(t *testing.T) {
	s := newShop(t, 400, 40, 1)
	m := trainShop(t, s)
	r := newTestRanker(m, time.Unix(m.Reference, 0))
	ctx := context.Background()
	user := m.Data.Users[0]
	dirty := func() *scratch {
		sc := r.scratch(m)
		usr, _ := r.userState(m, user, sc)
		r.feedCandidates(m, usr, user, r.cfg.Now(), sc)
		if len(sc.ids) == 0 {
			t.Fatal("no candidates: the test needs some")
		}
		return sc
	}
	for _, give := range []struct {
		name string
		back func(*scratch)
	}{{"released", r.release}, {"pooled without release", func(sc *scratch) { r.scratches.Put(sc) }}} {
		give.back(dirty())
		sc := r.scratch(m)
		if len(sc.ids) != 0 || len(sc.touched) != 0 {
			t.Errorf("%s: the next scratch holds %d candidates and %d touched items", give.name, len(sc.ids), len(sc.touched))
		}
		for i := range int32(m.Data.NumItems()) {
			if sc.seen(i) || sc.nb[i] != (nbScore{}) {
				t.Fatalf("%s: item %d still marked from the last request", give.name, i)
			}
		}
		r.release(sc)
	}
	if _, err := r.Feed(ctx, FeedRequest{UserID: user, Limit: 10}); err != nil {
		t.Fatal(err)
	}
}
