package ranking

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Ranker. Zero values select the defaults.
type Config struct {
	DefaultLimit int     // items per page when the request gives none; default 20
	MaxLimit     int     // largest page; default 100
	MaxDepth     int     // deepest position a cursor may reach; default 500
	MaxPerBrand  int     // products of one brand per page; default 3
	Relevance    float64 // MMR trade-off: 1 = pure score, 0 = pure diversity; default 0.8
	Probe        int     // index clusters searched per request at most; default 8
	ScanBudget   int     // items scanned per request at most; default 600
	SessionUsers int     // sessions kept; default 1,000,000
	SessionTTL   time.Duration
	LiveWindow   time.Duration // a product is on air this long after its last live event; default 10m
	Now          func() time.Time
	Registerer   prometheus.Registerer
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.DefaultLimit, 20)
	def(&c.MaxLimit, 100)
	def(&c.MaxDepth, 500)
	def(&c.MaxPerBrand, 3)
	def(&c.Probe, 8)
	def(&c.ScanBudget, 600)
	def(&c.SessionUsers, 1_000_000)
	if c.Relevance <= 0 || c.Relevance > 1 {
		c.Relevance = 0.8
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 6 * time.Hour
	}
	if c.LiveWindow <= 0 {
		c.LiveWindow = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Ranker serves feeds from the current Model and the real-time state.
type Ranker struct {
	cfg      Config
	model    atomic.Pointer[Model]
	sessions *Sessions
	lives    *Lives
	hot      *Hot
	m        *metrics
	seed     maphash.Seed
	// scratches pools request scratch for the current model's size.
	scratches sync.Pool
}

// scratch returns a cleared scratch sized for m.
func (r *Ranker) scratch(m *Model) *scratch {
	n := m.Data.NumItems()
	if s, ok := r.scratches.Get().(*scratch); ok && len(s.slot) == n {
		if len(s.touched) > 0 || len(s.ids) > 0 {
			s.reset() // pooled without release
		}
		return s
	}
	s := newScratch(n)
	s.reset()
	return s
}

// release clears what the request left in sc, while it is still in the
// core's cache (the neighbour scores are scattered over a catalog-sized
// array), and pools sc for the next request.
func (r *Ranker) release(sc *scratch) {
	sc.reset()
	r.scratches.Put(sc)
}

// New returns a Ranker without a model: until SetModel it serves the
// non-personal feed of what is hot in the event stream.
func New(cfg Config) *Ranker {
	cfg.defaults()
	r := &Ranker{
		cfg:      cfg,
		sessions: NewSessions(cfg.SessionUsers, cfg.SessionTTL),
		lives:    NewLives(cfg.LiveWindow),
		hot:      NewHot(time.Hour, 100_000),
		seed:     maphash.MakeSeed(),
	}
	r.m = newMetrics(cfg.Registerer, r)
	return r
}

// SetModel replaces the model atomically; requests in flight finish with
// the old one. It first warms the new model's memory (Model.Warm), so that
// requests do not pay for its first touches.
func (r *Ranker) SetModel(m *Model) {
	m.Warm()
	r.model.Store(m)
	r.m.trainedAt.Set(float64(m.TrainedAt.UnixNano()) / 1e9)
}

// Model returns the current model, nil before the first.
func (r *Ranker) Model() *Model { return r.model.Load() }

// Observe feeds one event of the stream into the real-time state.
func (r *Ranker) Observe(ev Event) {
	now := r.cfg.Now()
	r.sessions.Record(ev, now)
	if ev.LiveID != 0 {
		r.lives.Record(ev)
	}
	w := 1.0
	switch ev.Kind {
	case Chat:
		w = 2
	case Purchase:
		w = 6
	}
	if ev.ProductID != 0 {
		r.hot.Record(ev.ProductID, w, ev.Unix)
	}
	r.m.followed.WithLabelValues(ev.Kind.String()).Inc()
}

// Run sweeps idle sessions and lives off air until ctx is done.
func (r *Ranker) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := r.cfg.Now()
			r.sessions.Sweep(now)
			r.lives.Sweep(now)
		}
	}
}

// FeedRequest asks for one page of a user's feed.
type FeedRequest struct {
	UserID uint64
	Limit  int    // 0 → Config.DefaultLimit
	Cursor string // from the previous page's NextCursor; "" for the first page
}

// FeedItem is one product of a feed, with why it is there.
type FeedItem struct {
	ProductID uint64  `json:"product_id"`
	Title     string  `json:"title,omitempty"`
	Category  string  `json:"category,omitempty"`
	BrandID   uint64  `json:"brand_id,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Score     float64 `json:"score"`
	Reason    string  `json:"reason"`
}

// Feed is one page of a feed.
type Feed struct {
	UserID uint64     `json:"user_id"`
	Items  []FeedItem `json:"items"`
	// NextCursor fetches the next page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
	// Personalized is false for unknown users and while no model is trained.
	Personalized bool `json:"personalized"`
	// Model identifies the model that ranked the page ("" if none).
	Model string `json:"model,omitempty"`

	mem *feedMem // the pooled memory, for Release
}

// Errors callers branch on (the API maps them to 400 and 404).
var (
	ErrBadRequest     = errors.New("bad request")
	ErrUnknownProduct = errors.New("unknown product")
)

// grow returns (*buf)[:n] zeroed, growing *buf if needed: request memory
// reused from the scratch instead of fresh pages each time.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n, n+n/2)
	}
	out := (*buf)[:n]
	clear(out)
	return out
}

// EncodeCursor and DecodeCursor make the opaque page token of the feed
// (and of the API's other paged answers).
func EncodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func DecodeCursor(c string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, fmt.Errorf("%w: cursor %q is not one this API issued", ErrBadRequest, c)
	}
	off, err := strconv.Atoi(string(b[1:]))
	if err != nil || off < 0 {
		return 0, fmt.Errorf("%w: cursor %q is not one this API issued", ErrBadRequest, c)
	}
	return off, nil
}

// Feed returns one page of the user's feed. It fails only on bad requests
// (ErrBadRequest) and a cancelled ctx.
func (r *Ranker) Feed(ctx context.Context, req FeedRequest) (*Feed, error) {
	limit := req.Limit
	if limit == 0 {
		limit = r.cfg.DefaultLimit
	}
	if limit < 0 || limit > r.cfg.MaxLimit {
		return nil, fmt.Errorf("%w: limit %d is outside 1..%d", ErrBadRequest, limit, r.cfg.MaxLimit)
	}
	offset := 0
	if req.Cursor != "" {
		var err error
		if offset, err = DecodeCursor(req.Cursor); err != nil {
			return nil, err
		}
	}
	if offset >= r.cfg.MaxDepth {
		return nil, fmt.Errorf("%w: cursor is beyond the deepest page (%d items)", ErrBadRequest, r.cfg.MaxDepth)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	depth := min(offset+limit, r.cfg.MaxDepth)
	m := r.model.Load()
	var f *Feed
	if m == nil {
		f = r.hotFeed(req.UserID, depth)
		r.m.feeds.WithLabelValues("untrained").Inc()
	} else {
		f = r.modelFeed(m, req.UserID, depth, limit)
	}
	f.UserID = req.UserID
	if offset >= len(f.Items) {
		f.Items = []FeedItem{}
	} else {
		more := len(f.Items) > offset+limit || (len(f.Items) == offset+limit && depth < r.cfg.MaxDepth)
		f.Items = f.Items[offset:min(len(f.Items), offset+limit)]
		if more {
			f.NextCursor = EncodeCursor(offset + limit)
		}
	}
	return f, nil
}

// hotFeed is the feed without a model: what the stream shows is hot.
func (r *Ranker) hotFeed(user uint64, depth int) *Feed {
	bought := map[uint64]bool{}
	if evs, _, ok := r.sessions.view(user); ok {
		for _, ev := range evs {
			if ev.Kind == Purchase {
				bought[ev.ProductID] = true
			}
		}
	}
	ids, vals := r.hot.Top(depth+len(bought), r.cfg.Now().Unix())
	f := &Feed{Items: make([]FeedItem, 0, depth)}
	for k, id := range ids {
		if bought[id] || len(f.Items) == depth {
			continue
		}
		f.Items = append(f.Items, FeedItem{ProductID: id, Score: math.Log1p(vals[k]), Reason: "popular right now"})
	}
	return f
}

// modelFeed ranks the first depth items of the user's feed with m, in the
// request's scratch: candidate generation (feedCandidates), scoring
// (scoreCandidates), top-k selection (keepStrongest), then the diversity
// re-rank (rerank), bought products due for a restock (restockPicks) and
// fresh products spliced in (splice) and a reason for each item (reason).
func (r *Ranker) modelFeed(m *Model, userID uint64, depth, limit int) *Feed {
	now := r.cfg.Now()
	sc := r.scratch(m)
	defer r.release(sc)
	usr, kind := r.userState(m, userID, sc)
	r.m.feeds.WithLabelValues(kind).Inc()

	onAir, fresh := r.feedCandidates(m, usr, userID, now, sc)
	m.restockPicks(usr, now.Unix(), sc)
	cands := m.scoreCandidates(usr, onAir, sc)
	means := meanFeatures(cands) // over all candidates, before the cut
	cands = m.keepStrongest(cands, depth, sc)
	order := r.rerank(cands, depth, limit, sc)
	order = splice(order, fresh, sc, limit, depth)

	mem := feedMems.Get().(*feedMem)
	f := &mem.feed
	*f = Feed{Items: mem.items[:0], Personalized: kind != "cold", Model: m.id, mem: mem}
	ar := strArena{buf: mem.arena[:0]} // the page's reason strings
	for _, c := range order {
		it := m.Data.Items[c.item]
		fi := FeedItem{ProductID: it.ID, Title: it.Title, Category: it.Category, BrandID: it.Brand, Price: it.Price, Score: round3(c.score)}
		fi.Reason = m.reason(c, usr, sc, means, &ar)
		f.Items = append(f.Items, fi)
	}
	mem.items, mem.arena = f.Items, ar.buf
	return f
}

// feedMem is the memory of a feed that its caller gives back with
// Feed.Release, so that a busy server makes little garbage per request
// (each collection marks the whole model: fewer is a shorter tail).
type feedMem struct {
	feed  Feed
	items []FeedItem
	arena []byte // the reason strings
}

var feedMems = sync.Pool{New: func() any { return new(feedMem) }}

// Release gives f's memory back for later feeds: f, its items and their
// strings must not be used afterwards. Calling it is optional (a feed
// not released is garbage collected) and it does nothing twice.
func (f *Feed) Release() {
	mem := f.mem
	if mem == nil {
		return
	}
	f.mem = nil
	clear(mem.items[:cap(mem.items)]) // no references into the model kept
	mem.items = mem.items[:0]
	feedMems.Put(mem)
}

// userState returns what the model and the session know of the user, and
// the kind of request: "personal" (a trained user), "session" (the session
// adds events after the model's data or the user is new with a session),
// "cold" (nothing known).
func (r *Ranker) userState(m *Model, userID uint64, sc *scratch) (*user, string) {
	u, known := m.Data.UserIndex(userID)
	var items []int32
	var sigs []Signal
	if known {
		items, sigs = m.Data.UserRow(u) // shared with the model: copied before a change
	}
	evs, version, _ := r.sessions.view(userID)
	var bought []int32
	fresh := 0
	for _, ev := range evs {
		i, ok := m.Data.ItemIndex(ev.ProductID)
		if !ok || ev.Unix <= m.Reference && known {
			continue // unknown to the model, or already in its data
		}
		if fresh == 0 {
			items, sigs = slices.Clone(items), slices.Clone(sigs)
		}
		fresh++
		k := -1
		for j := range items {
			if items[j] == i {
				k = j
				break
			}
		}
		if k < 0 {
			items = append(items, i)
			sigs = append(sigs, Signal{})
			k = len(items) - 1
		}
		sigs[k].add(ev.Kind, ev.Unix, ev.DwellMS)
		if ev.Kind == Purchase {
			bought = append(bought, i)
		}
	}
	var x []float64
	kind := "cold"
	switch {
	case fresh > 0:
		kind = "session"
		if x = r.sessions.cachedFold(userID, m.Version, version); x == nil {
			fi, fs := items, sigs
			if len(fi) > 200 { // the most recent 200 are plenty for one solve
				fi, fs = recentPairs(fi, fs, 200)
			}
			x = m.Factors.FoldIn(fi, fs, nil)
			r.sessions.storeFold(userID, m.Version, version, x)
		}
	case known:
		kind = "personal"
		x = m.Factors.UserVec(u, sc.x)
		sc.x = x
	}
	usr := m.userInto(&sc.usr, items, sigs, x)
	for _, i := range bought {
		usr.buy(i)
	}
	return usr, kind
}

func recentPairs(items []int32, sigs []Signal, n int) ([]int32, []Signal) {
	idx := make([]float64, len(sigs))
	for k, s := range sigs {
		idx[k] = float64(s.Last)
	}
	top := topN(idx, n)
	oi, os := make([]int32, len(top)), make([]Signal, len(top))
	for k, j := range top {
		oi[k], os[k] = items[j], sigs[j]
	}
	return oi, os
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// metrics are the ranking's Prometheus metrics.
type metrics struct {
	feeds     *prometheus.CounterVec
	followed  *prometheus.CounterVec
	trainedAt prometheus.Gauge
	trainDur  prometheus.Gauge
	trainings *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, r *Ranker) *metrics {
	m := &metrics{
		feeds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vetrina_ranking_feeds_total",
			Help: "Feed pages served, by kind: personal (trained user), session (folded in from recent events), cold (unknown user, non-personal), untrained (no model yet)."}, []string{"kind"}),
		followed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vetrina_ranking_events_followed_total",
			Help: "Events read from the event topics into the real-time state, by kind."}, []string{"kind"}),
		trainedAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vetrina_ranking_model_trained_timestamp_seconds",
			Help: "When the model in use was trained (Unix time); 0 while none is."}),
		trainDur: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vetrina_ranking_training_duration_seconds",
			Help: "How long the last training took, reading ClickHouse included."}),
		trainings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vetrina_ranking_trainings_total",
			Help: "Trainings by outcome (ok, error)."}, []string{"outcome"}),
	}
	// Every known label is exported from the start, at 0: dashboards show
	// 0, not "no data", and rate() has a first point.
	for _, kind := range []string{"personal", "session", "cold", "untrained"} {
		m.feeds.WithLabelValues(kind)
	}
	for _, outcome := range []string{"ok", "error"} {
		m.trainings.WithLabelValues(outcome)
	}
	if reg != nil {
		age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vetrina_ranking_model_age_seconds",
			Help: "Age of the model in use; -1 while none is trained."}, func() float64 {
			if md := r.model.Load(); md != nil {
				return md.Age(r.cfg.Now()).Seconds()
			}
			return -1
		})
		sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vetrina_ranking_sessions",
			Help: "Users with a real-time session."}, func() float64 { return float64(r.sessions.Len()) })
		reg.MustRegister(m.feeds, m.followed, m.trainedAt, m.trainDur, m.trainings, age, sessions)
	}
	return m
}
