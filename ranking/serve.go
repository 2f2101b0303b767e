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
	"strings"
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
		s.reset()
		return s
	}
	s := newScratch(n)
	s.reset()
	return s
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

// Candidates per request from the user's vector and from item neighbours.
const (
	personalCandidates  = 100
	neighbourCandidates = 100
	trendingPerCategory = 40 // from each trending list, per top category
	trendingGlobal      = 60 // from each trending list, overall
)

// cand is one candidate product of a request.
type cand struct {
	item   int32
	cat    int32
	brand  uint64
	f      Features
	score  float64
	live   uint64 // influencer, if on air
	fresh  bool
	taken  bool    // placed by rerank
	rel    float64 // normalised score for MMR
	maxSim float64
}

func (r *Ranker) modelFeed(m *Model, userID uint64, depth, limit int) *Feed {
	now := r.cfg.Now()
	sc := r.scratch(m)
	defer r.scratches.Put(sc)
	usr, kind := r.userState(m, userID, sc)
	r.m.feeds.WithLabelValues(kind).Inc()
	// The history is marked first: from then on one lookup says "already
	// a candidate or excluded".
	for _, i := range usr.exclude {
		sc.see(i)
	}
	m.neighbourScores(usr, sc)

	add := func(i int32) {
		if !m.item[i].inStock || !sc.see(i) {
			return
		}
		sc.slot[i].cand = int32(len(sc.ids))
		sc.ids = append(sc.ids, i)
	}
	if usr.x != nil {
		for _, i := range m.Index.search(m.Factors, usr.x, personalCandidates, r.cfg.Probe, r.cfg.ScanBudget, sc.seen, &sc.search) {
			add(i)
		}
	}
	if len(sc.touched) > 0 {
		sc.top.reset(neighbourCandidates)
		for _, i := range sc.touched {
			sc.top.offer(i, sc.nb[i].score)
		}
		sc.sorted = sc.top.appendSorted(sc.sorted[:0])
		for _, i := range sc.sorted {
			add(i)
		}
	}
	cats := usr.topCats
	if len(cats) == 0 {
		cats = m.topCats
	}
	cats = cats[:min(3, len(cats))]
	for _, t := range []*Trending{m.Trending, m.Recent} {
		for _, c := range cats {
			if int(c) < len(t.ByCategory) {
				bc := t.ByCategory[c]
				for _, i := range bc[:min(trendingPerCategory, len(bc))] {
					add(i)
				}
			}
		}
		for _, i := range t.Global[:min(trendingGlobal, len(t.Global))] {
			add(i)
		}
	}
	onAir := r.lives.OnAir(now)
	for id := range onAir {
		if i, ok := m.Data.ItemIndex(id); ok {
			add(i)
		}
	}
	var fresh []int32
	h := maphash.Comparable(r.seed, userID) // per-user rotation through the fresh products
	for _, c := range cats[:min(2, len(cats))] {
		fl := m.fresh[c]
		for k := range min(3, len(fl)) {
			fresh = append(fresh, fl[(int(h%uint64(len(fl)))+k)%len(fl)])
		}
	}

	var x32 []float32
	if m.Index != nil && usr.x != nil {
		x32 = grow(&sc.x32, len(usr.x))
		for j, v := range usr.x {
			x32[j] = float32(v)
		}
	}
	cands := grow(&sc.cands, len(sc.ids))
	for k := range cands {
		c := &cands[k]
		*c = cand{item: sc.ids[k]}
		if x32 != nil {
			// The index's float32 copy: half the memory traffic of x·y.
			m.fill(usr, c.item, float64(dot32(x32, m.Index.vec(c.item))), sc.nb[c.item].score, &c.f)
		} else {
			m.features(usr, c.item, sc, &c.f)
		}
		c.score = m.Blend.Score(&c.f)
	}
	for id, inf := range onAir {
		if i, ok := m.Data.ItemIndex(id); ok && sc.seen(i) {
			if k := sc.slot[i].cand; int(k) < len(cands) && cands[k].item == i {
				cands[k].live = inf
				cands[k].score += m.Blend.LiveBoost
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := range cands {
		lo, hi = math.Min(lo, cands[k].score), math.Max(hi, cands[k].score)
	}
	for k := range cands {
		c := &cands[k]
		c.rel = 1
		if hi > lo {
			c.rel = (c.score - lo) / (hi - lo)
		}
	}
	means := meanFeatures(cands)
	// Diversity only reorders the strongest: keep 3× the depth for MMR.
	if keep := max(3*depth, 60); len(cands) > keep {
		sc.top.reset(keep)
		for k := range cands {
			sc.top.offer(int32(k), cands[k].score)
		}
		sc.sorted = sc.top.appendSorted(sc.sorted[:0])
		kept := grow(&sc.kept, len(sc.sorted))
		for k, j := range sc.sorted {
			kept[k] = cands[j]
		}
		cands = kept
	}
	for k := range cands {
		c := &cands[k]
		c.cat, c.brand = m.item[c.item].cat, m.Data.Items[c.item].Brand
	}
	order := r.rerank(cands, depth, limit, sc)
	order = spliceFresh(order, fresh, sc, limit, depth)

	f := &Feed{Items: make([]FeedItem, 0, len(order)), Personalized: kind != "cold", Model: strconv.FormatInt(m.Version, 36)}
	for _, c := range order {
		it := m.Data.Items[c.item]
		fi := FeedItem{ProductID: it.ID, Title: it.Title, Category: it.Category, BrandID: it.Brand, Price: it.Price, Score: round3(c.score)}
		fi.Reason = m.reason(c, usr, sc, means)
		f.Items = append(f.Items, fi)
	}
	return f
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

// rerank orders candidates by maximal marginal relevance, at most
// MaxPerBrand products of a brand per page, down to depth.
// The result lives in sc until the request is done.
func (r *Ranker) rerank(cands []cand, depth, limit int, sc *scratch) []*cand {
	out := sc.order[:0]
	// Each candidate's brand gets a small slot number once, so that the
	// page's count of a brand is an array read in the loops below.
	slots := grow(&sc.slots, len(cands))
	brands := sc.brands[:0]
	for k := range cands {
		j := slices.Index(brands, cands[k].brand)
		if j < 0 {
			j = len(brands)
			brands = append(brands, cands[k].brand)
		}
		slots[k] = int32(j)
	}
	sc.brands = brands
	onPage := grow(&sc.onPage, len(brands))
	maxPer := int32(r.cfg.MaxPerBrand)
	lambda := r.cfg.Relevance
	for len(out) < depth && len(out) < len(cands) {
		if len(out)%limit == 0 {
			clear(onPage) // a new page
		}
		best, bestV, capped, cappedV := -1, math.Inf(-1), -1, math.Inf(-1)
		for k := range cands {
			c := &cands[k]
			if c.taken {
				continue
			}
			v := lambda*c.rel - (1-lambda)*c.maxSim
			if onPage[slots[k]] >= maxPer {
				if v > cappedV {
					capped, cappedV = k, v
				}
			} else if v > bestV {
				best, bestV = k, v
			}
		}
		if best < 0 {
			best = capped // only capped brands left
		}
		c := &cands[best]
		c.taken = true
		out = append(out, c)
		onPage[slots[best]]++
		for k := range cands {
			o := &cands[k]
			if o.taken || o.maxSim == 1 {
				continue
			}
			sim := 0.0
			if c.cat >= 0 && o.cat == c.cat {
				sim += 0.5
			}
			if slots[k] == slots[best] {
				sim += 0.5
			}
			o.maxSim = max(o.maxSim, sim)
		}
	}
	sc.order = out
	return out
}

// spliceFresh puts one fresh product (nobody has interacted with it yet)
// at the last position of each page: exploration, so new products get seen.
func spliceFresh(order []*cand, fresh []int32, sc *scratch, limit, depth int) []*cand {
	if len(fresh) == 0 || limit < 5 {
		return order
	}
	out := make([]*cand, 0, len(order)+len(fresh))
	fk := 0
	for _, c := range order {
		if len(out)%limit == limit-1 && fk < len(fresh) {
			i := fresh[fk]
			fk++
			if !sc.seen(i) {
				out = append(out, &cand{item: i, fresh: true, score: math.Inf(-1)})
			}
		}
		out = append(out, c)
	}
	if len(out) > depth {
		out = out[:depth]
	}
	for _, c := range out {
		if c.fresh {
			c.score = 0
		}
	}
	return out
}

func meanFeatures(cands []cand) Features {
	var mean Features
	if len(cands) == 0 {
		return mean
	}
	for k := range cands {
		for j := range NumFeatures {
			mean[j] += cands[k].f[j]
		}
	}
	for j := range NumFeatures {
		mean[j] /= float64(len(cands))
	}
	return mean
}

// reason says in a few words why c is in the feed: the live it is on, or
// the feature contributing most above the candidates' average.
func (m *Model) reason(c *cand, usr *user, sc *scratch, mean Features) string {
	cr := m.catReasons(c.item)
	if c.fresh {
		return cr[reasonNew]
	}
	if c.live != 0 {
		h := m.Handles[c.live]
		if h == "" {
			h = "influencer " + strconv.FormatUint(c.live, 10)
		}
		return "live now with @" + strings.TrimPrefix(h, "@")
	}
	best, bestV := -1, 0.0
	var contrib Features
	for k := range NumFeatures {
		contrib[k] = m.Blend.Weights[k] * (c.f[k] - mean[k])
		if contrib[k] > bestV {
			best, bestV = k, contrib[k]
		}
	}
	// "Because you viewed X" names the product behind it: preferred when
	// it explains at least half as much as the strongest feature.
	if best >= 0 && contrib[FeatNeighbour] >= bestV/2 {
		best = FeatNeighbour
	}
	switch best {
	case FeatNeighbour:
		if sc.nb[c.item].score > 0 {
			h := sc.nb[c.item].from
			verb := "viewed"
			if usr.bought[h] {
				verb = "bought"
			}
			t := m.Data.Items[h].Title
			if t == "" {
				t = "product " + strconv.FormatUint(m.Data.Items[h].ID, 10)
			}
			return "because you " + verb + " " + t
		}
	case FeatFactor, FeatCategory:
		return cr[reasonTaste]
	case FeatConversion:
		return "often bought after a look"
	case FeatRecent:
		return cr[reasonRecent]
	}
	return cr[reasonTrending]
}

// The reasons that name a category, made once per category (catReasons).
const (
	reasonNew = iota
	reasonTaste
	reasonRecent
	reasonTrending
	numCatReasons
)

func categoryReasons(cat string) [numCatReasons]string {
	return [...]string{reasonNew: "new in " + cat, reasonTaste: "matches your taste in " + cat,
		reasonRecent: "popular right now in " + cat, reasonTrending: "trending in " + cat}
}

// catReasons returns the category reasons of item i.
func (m *Model) catReasons(i int32) *[numCatReasons]string {
	if c := m.item[i].cat; c >= 0 && int(c) < len(m.reasons)-1 {
		return &m.reasons[c]
	}
	return &m.reasons[len(m.reasons)-1] // no category
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Similar is the answer to "products like this one".
type Similar struct {
	ProductID uint64     `json:"product_id"`
	Items     []FeedItem `json:"items"`
}

// Similar returns up to limit in-stock products similar to productID: its
// item neighbours, then trending products of its category.
func (r *Ranker) Similar(ctx context.Context, productID uint64, limit int) (*Similar, error) {
	if limit == 0 {
		limit = r.cfg.DefaultLimit
	}
	if limit < 0 || limit > r.cfg.MaxLimit {
		return nil, fmt.Errorf("%w: limit %d is outside 1..%d", ErrBadRequest, limit, r.cfg.MaxLimit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &Similar{ProductID: productID, Items: []FeedItem{}}
	m := r.model.Load()
	if m == nil {
		return out, nil // nothing known yet: an empty list, not an error
	}
	i, ok := m.Data.ItemIndex(productID)
	if !ok {
		return nil, fmt.Errorf("%w: product %d", ErrUnknownProduct, productID)
	}
	seen := map[int32]bool{i: true}
	addItem := func(j int32, score float64, reason string) {
		it := m.Data.Items[j]
		if seen[j] || !it.InStock || len(out.Items) >= limit {
			return
		}
		seen[j] = true
		out.Items = append(out.Items, FeedItem{ProductID: it.ID, Title: it.Title, Category: it.Category, BrandID: it.Brand, Price: it.Price, Score: round3(score), Reason: reason})
	}
	items, sims := m.Neighbours.Of(i)
	for k, j := range items {
		addItem(j, float64(sims[k]), "often viewed together")
	}
	if c := m.Data.ItemCategory[i]; c >= 0 && int(c) < len(m.Trending.ByCategory) {
		for _, j := range m.Trending.ByCategory[c] {
			addItem(j, 0, "trending in "+m.Data.Categories[c])
		}
	}
	return out, nil
}

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
