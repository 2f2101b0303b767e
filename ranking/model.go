package ranking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/floats"
)

// TrainConfig configures Train. Zero values select the defaults.
type TrainConfig struct {
	ALS        ALSConfig
	Neighbours NeighbourConfig
	// EASE configures the EASE part (FeatEASE); its lists keep
	// EASEPerItem weights per head product.
	EASE EASEConfig
	// TrendingHalfLife is the half-life of trending scores; default 72h.
	TrendingHalfLife time.Duration
	// RecentHalfLife is the half-life of the short-term trending feature;
	// default 3h.
	RecentHalfLife time.Duration
	// SeasonWindow is the window, starting one year before the data's
	// newest interaction, whose sales make FeatSeason; default 28 days.
	SeasonWindow time.Duration
	// RestockDue is the restock score (Repurchase.Due) from which a
	// product the user bought is offered again, "time to restock", at the
	// top of the feed's first page (at most maxRestock); default
	// DefaultRestockDue, negative: never.
	RestockDue float64
	// Blend weighs the features; the zero value selects equal weights of
	// the standardised features (computed from the data, no labels).
	Blend Blend
	// BlendHoldout, if positive, learns the blend (LearnBlend) on the last
	// fraction of the data's timeline: the parts are trained on the data
	// before it, examples drawn from the holdout, then the parts retrained
	// on everything. Costs a second training.
	BlendHoldout float64
	// ChooseBlend lets the holdout replace the pairwise blend by one
	// feature alone, equal weights, or weights fitted by coordinate ascent
	// (also per history length) when one is clearly better in two-fold
	// cross-validation over time (chooseBlend). Off by default: on the
	// simulator it chose blends that the following window did not reward,
	// and on the real logs it kept the pairwise blend (docs/ranking-eval.md).
	ChooseBlend bool
	// ChooseEASE lets the holdout, when the blend is learned
	// (BlendHoldout), choose EASE's λ and half-life instead of keeping
	// them as given (EASE alone judged on the whole catalog): λ among 250,
	// 1000 and 4000, then a half-life of none or 20% of the timeline;
	// three more EASE fits on the holdout's data (Blend.EASE lists what
	// was judged). Off by default: the blend scored lower with the choice
	// than without it on the Complete Journey logs and the simulator
	// (docs/ranking-eval.md), and it costs about a minute at the
	// benchmark's scale.
	ChooseEASE bool
	// IndexClusters is the number of clusters of the retrieval index;
	// default √items, none below 20,000 items; negative: none (exact scan).
	IndexClusters int
	Seed          int64
	// Progress, if set, hears how far the training is.
	Progress Progress
}

// Progress hears how far a long step is: step names what runs, done of
// total units (total 0: unknown).
type Progress func(step string, done, total int)

func (p Progress) update(step string, done, total int) {
	if p != nil {
		p(step, done, total)
	}
}

// prefixed reports the steps of a sub-task under a common prefix.
func (p Progress) prefixed(prefix string) Progress {
	if p == nil {
		return nil
	}
	return func(step string, done, total int) { p(prefix+step, done, total) }
}

// Model is a trained ranking: immutable, shared by concurrent requests.
type Model struct {
	Version   int64  // Unix nanoseconds of training
	id        string // Version in base 36, as feeds name the model
	TrainedAt time.Time
	// Reference is the Unix second of the newest interaction: trending is
	// measured from it.
	Reference  int64
	Data       *Dataset // interactions by user (the by-item copy dropped)
	Factors    *Factors
	Neighbours *Neighbours
	// EASE holds the strongest EASE weights of every head product (nil in
	// a model converted from a snapshot older than format 4: FeatEASE is
	// then 0).
	EASE       *EASELists
	Trending   *Trending
	Recent     *Trending // short half-life
	Conversion *Conversion
	// Stats are the items' user counts and seasonal sales (nil in a model
	// converted from a snapshot older than format 4: FeatPopularity and
	// FeatSeason are then 0).
	Stats *ItemStats
	// Repurchase and RestockDue choose the bought products offered again
	// (nil, or RestockDue ≤ 0: none; nil in a model converted from a
	// snapshot older than format 4).
	Repurchase *Repurchase
	RestockDue float64
	Blend      Blend
	Index      *Index
	// Handles maps influencer ids to handles, for reasons.
	Handles map[uint64]string

	derived
}

// derived is recomputed from the exported fields after training or loading.
type derived struct {
	trendFeat  []float64 // FeatTrending per item
	recentFeat []float64 // FeatRecent per item
	popFeat    []float64 // FeatPopularity per item
	seasonFeat []float64 // FeatSeason per item
	seasonTop  []int32   // the items of largest FeatSeason (> 0), best first
	convFeat   []float64 // FeatConversion per item
	// item packs what a request reads per candidate into one 32-byte
	// record: one cache miss per candidate instead of one per array.
	item    []itemInfo
	fresh   [][]int32 // per category: in-stock items nobody interacted with
	topCats []int32   // categories by trending mass, for users without history
	// reasons holds each category's reasons, and last those of items
	// without a category.
	reasons [][numCatReasons]string
}

// itemInfo is an item's per-request data; see derived.item.
type itemInfo struct {
	trend, recent, conv, pop, season float32
	cat                              int32
	inStock                          bool
	_                                [7]byte // 32 bytes: never across two cache lines
}

// Train builds a Model from d. The model shares d's arrays, so d must not be
// changed afterwards.
func Train(ctx context.Context, d *Dataset, cfg TrainConfig) (*Model, error) {
	if cfg.TrendingHalfLife <= 0 {
		cfg.TrendingHalfLife = 72 * time.Hour
	}
	if cfg.RecentHalfLife <= 0 {
		cfg.RecentHalfLife = 3 * time.Hour
	}
	if cfg.SeasonWindow <= 0 {
		cfg.SeasonWindow = 28 * 24 * time.Hour
	}
	if cfg.BlendHoldout > 0 && cfg.BlendHoldout < 1 && d.MaxUnix > d.MinUnix {
		cut := d.MaxUnix - int64(float64(d.MaxUnix-d.MinUnix)*cfg.BlendHoldout)
		b, err := learnBlendOnHoldout(ctx, d, cut, cfg)
		switch {
		case err == nil:
			cfg.Blend = b
			if len(b.EASE) > 0 {
				cfg.EASE = b.EASE[0].config(cfg.EASE, d)
			}
		case errors.Is(err, ErrNoExamples):
			// Too little holdout to learn from: keep the given blend
			// (Model.Blend.Learned says which one serves).
		default:
			return nil, err
		}
	}
	return trainParts(ctx, d, cfg)
}

func trainParts(ctx context.Context, d *Dataset, cfg TrainConfig) (*Model, error) {
	start := time.Now()
	m := &Model{Version: start.UnixNano(), TrainedAt: start.UTC(), Reference: d.MaxUnix, Data: d, Blend: cfg.Blend}
	if cfg.ALS.Seed == 0 {
		cfg.ALS.Seed = cfg.Seed
	}
	var err error
	if m.Factors, err = trainALS(ctx, d, cfg.ALS, cfg.Progress); err != nil {
		return nil, fmt.Errorf("train ranking model: %w", err)
	}
	cfg.Progress.update("item neighbours", 0, 1)
	if m.Neighbours, err = BuildNeighbours(ctx, d, cfg.Neighbours); err != nil {
		return nil, fmt.Errorf("train ranking model: %w", err)
	}
	cfg.Progress.update("item neighbours", 1, 1)
	cfg.Progress.update("EASE", 0, 1)
	if m.EASE, err = trainEASELists(ctx, d, cfg.EASE); err != nil {
		return nil, fmt.Errorf("train ranking model: %w", err)
	}
	cfg.Progress.update("EASE", 1, 1)
	cfg.Progress.update("trending and conversion", 0, 1)
	m.Trending = BuildTrending(d, d.MaxUnix, cfg.TrendingHalfLife, cfg.ALS.Weights)
	m.Recent = BuildTrending(d, d.MaxUnix, cfg.RecentHalfLife, cfg.ALS.Weights)
	m.Conversion = BuildConversion(d)
	m.Stats = BuildItemStats(d, d.MaxUnix, cfg.SeasonWindow, cfg.ALS.Weights)
	m.Repurchase = BuildRepurchase(d)
	m.RestockDue = cfg.RestockDue
	if m.RestockDue == 0 {
		m.RestockDue = DefaultRestockDue
	}
	cfg.Progress.update("trending and conversion", 1, 1)
	clusters := cfg.IndexClusters
	if clusters == 0 && d.NumItems() >= 20000 {
		clusters = int(math.Sqrt(float64(d.NumItems())))
	}
	if clusters > 0 {
		cfg.Progress.update("retrieval index", 0, 1)
		m.Index = BuildIndex(m.Factors, clusters, cfg.Seed)
		cfg.Progress.update("retrieval index", 1, 1)
	}
	// The model keeps the by-user arrays only; d itself is left intact.
	md := *d
	md.dropItemMajor()
	m.Data = &md
	m.derive()
	if m.Blend.isZero() {
		m.Blend = equalBlend(m, cfg.Seed)
	}
	return m, nil
}

// derive fills the derived fields.
func (m *Model) derive() {
	m.id = strconv.FormatInt(m.Version, 36)
	d := m.Data
	n := d.NumItems()
	m.trendFeat = make([]float64, n)
	m.recentFeat = make([]float64, n)
	for i := range n {
		m.trendFeat[i] = math.Log1p(m.Trending.Score[i])
		m.recentFeat[i] = math.Log1p(m.Recent.Score[i])
	}
	m.convFeat = make([]float64, n)
	mean := 0.0
	for _, r := range m.Conversion.Rate {
		mean += r
	}
	if n > 0 {
		mean /= float64(n)
	}
	for i, r := range m.Conversion.Rate {
		if r > 0 && mean > 0 {
			m.convFeat[i] = math.Log(r / mean)
		}
	}
	m.item = make([]itemInfo, n)
	m.popFeat, m.seasonFeat = make([]float64, n), make([]float64, n)
	for i := range m.item {
		if s := m.Stats; s != nil && i < len(s.Users) && i < len(s.Season) {
			m.popFeat[i], m.seasonFeat[i] = math.Log1p(float64(s.Users[i])), math.Log1p(float64(s.Season[i]))
		}
		// The served record holds them in float32; the arrays the offline
		// scoring reads are rounded alike, so both rank the same.
		it := &m.item[i]
		*it = itemInfo{cat: d.ItemCategory[i], inStock: d.Items[i].InStock}
		for _, x := range []struct {
			dst *float32
			src *float64
		}{{&it.trend, &m.trendFeat[i]}, {&it.recent, &m.recentFeat[i]}, {&it.conv, &m.convFeat[i]}, {&it.pop, &m.popFeat[i]}, {&it.season, &m.seasonFeat[i]}} {
			*x.dst = float32(*x.src)
			*x.src = float64(*x.dst)
		}
	}
	m.seasonTop = m.seasonTop[:0]
	for _, i := range topN(m.seasonFeat, seasonCandidates) {
		if m.seasonFeat[i] > 0 {
			m.seasonTop = append(m.seasonTop, i)
		}
	}
	if m.Index != nil {
		m.Index.prepare(m.Factors)
	}
	m.reasons = make([][numCatReasons]string, len(d.Categories)+1)
	for c, name := range d.Categories {
		m.reasons[c] = categoryReasons(name)
	}
	m.reasons[len(d.Categories)] = categoryReasons("the shop")
	m.fresh = make([][]int32, len(d.Categories))
	interacted := make([]bool, n)
	for _, i := range d.UserItems {
		interacted[i] = true
	}
	for i := range n {
		if c := d.ItemCategory[i]; c >= 0 && !interacted[i] && d.Items[i].InStock {
			m.fresh[c] = append(m.fresh[c], int32(i))
		}
	}
	mass := make([]float64, len(d.Categories))
	for i, s := range m.Trending.Score {
		if c := d.ItemCategory[i]; c >= 0 {
			mass[c] += s
		}
	}
	m.topCats = make([]int32, len(d.Categories))
	for c := range m.topCats {
		m.topCats[c] = int32(c)
	}
	slices.SortStableFunc(m.topCats, func(a, b int32) int { return cmp.Compare(mass[b], mass[a]) })
}

// Age returns how long ago the model was trained.
func (m *Model) Age(now time.Time) time.Duration { return now.Sub(m.TrainedAt) }

// recentHistory is how many of a user's most recent products drive the
// neighbour feature, easeHistory the EASE feature: as many as the EASE fit
// counts per user (EASEConfig.MaxUserItems' default); 50 scored 0.0505
// where 100 scored 0.0539 (EASE from the lists alone, full Complete
// Journey log at origin 0.7).
const (
	recentHistory = 20
	easeHistory   = 100
)

// user is what a request knows of its user: the vector, recent products
// (most recent first), category shares and what to leave out.
type user struct {
	x      []float64
	sigs   []Signal // the history's signals, aligned with exclude until sortExclude
	recent []int32  // up to max(recentHistory, easeHistory), most recent first
	// easeVal is the EASE value of each of recent (EASELists.Value).
	easeVal  []float64
	catShare []float64
	exclude  []int32        // the history, sorted
	bought   map[int32]bool // nil (or empty, when reused) until the user bought something
	topCats  []int32
	top      topK // userInto's working memory
}

// userFrom builds a user from a history of dense items with signals. x is
// the user's vector (trained or folded in), possibly nil.
func (m *Model) userFrom(items []int32, sigs []Signal, x []float64) *user {
	return m.userInto(&user{}, items, sigs, x)
}

// userInto is userFrom into u, reusing u's memory (a request's scratch).
func (m *Model) userInto(u *user, items []int32, sigs []Signal, x []float64) *user {
	u.x, u.exclude, u.sigs = x, items, sigs
	u.catShare = grow(&u.catShare, len(m.Data.Categories))
	u.recent, u.topCats, u.easeVal = u.recent[:0], u.topCats[:0], u.easeVal[:0]
	clear(u.bought)
	w := m.Factors.Weights
	total := 0.0
	recent := &u.top // the most recent, by last event time
	recent.reset(max(recentHistory, easeHistory))
	for k, i := range items {
		recent.offer(int32(k), float64(sigs[k].Last))
		if sigs[k].Purchases > 0 {
			u.buy(i)
		}
		if c := m.Data.ItemCategory[i]; c >= 0 {
			s := w.Strength(sigs[k])
			u.catShare[c] += s
			total += s
		}
	}
	if total > 0 {
		for c := range u.catShare {
			u.catShare[c] /= total
		}
	}
	n := len(u.recent)
	u.recent = recent.appendSorted(u.recent)
	for k, j := range u.recent[n:] {
		u.recent[n+k] = items[j]
		if m.EASE != nil {
			u.easeVal = append(u.easeVal, m.EASE.Value(sigs[j]))
		}
	}
	for c, s := range u.catShare {
		if s > 0 {
			u.topCats = append(u.topCats, int32(c))
		}
	}
	share := u.catShare
	slices.SortFunc(u.topCats, func(a, b int32) int { return cmp.Compare(share[b], share[a]) })
	return u
}

// sortExclude sorts a private copy of the history for excludes (sigs no
// longer aligned).
func (u *user) sortExclude() {
	u.sigs = nil
	u.exclude = slices.Clone(u.exclude)
	slices.Sort(u.exclude)
}

// excludes reports whether i is in the user's history; sortExclude first.
func (u *user) excludes(i int32) bool {
	_, ok := slices.BinarySearch(u.exclude, i)
	return ok
}

// buy notes that the user bought i.
func (u *user) buy(i int32) {
	if u.bought == nil {
		u.bought = map[int32]bool{}
	}
	u.bought[i] = true
}

// scratch is a request's working memory, sized to the model's items and
// reused across requests (Ranker pools them): dense neighbour scores and a
// set of items, each cleared by generation or by the list of what was
// touched, so a request costs nothing per catalog item.
type scratch struct {
	nb      []nbScore
	slot    []slot
	touched []int32 // items with a neighbour score
	gen     uint32
	ids     []int32
	// factor is each candidate's x·y where the index search already
	// computed it (aligned with ids), else NaN.
	factor     []float32
	cands      []cand
	kept       []cand
	x          []float64 // a trained user's vector (Factors.UserVec)
	x32        []float32
	prefetched float32 // Index.prefetch's result, kept so its loads stay
	fresh      []int32 // feedCandidates' fresh products, for splice
	restock    [maxRestock]cand
	nRestock   int
	search     searchScratch
	top        topK
	// selNb and selEase are feedCandidates' working memory: the touched
	// items' neighbour and EASE scores, for selectTop.
	selNb, selEase []scored
	selCand        []scored // keepStrongest's
	rr             rerankScratch
	order          []*cand
	usr            user // the request's user
}

// nbScore is an item's neighbour and EASE features and the recent product
// contributing most to either.
type nbScore struct {
	score, ease, best float32 // float32: half the cache lines of a catalog-sized array
	// from is 1 + the recent product contributing best (when best > 0),
	// and 0 while the item is not in scratch.touched: 16 bytes in all,
	// four to a cache line.
	from int32
}

// slot marks an item as taken by this request (mark == gen) and where it
// is among the candidates.
type slot struct {
	mark uint32
	cand int32
}

func newScratch(n int) *scratch {
	return &scratch{nb: make([]nbScore, n), slot: make([]slot, n)}
}

// reset clears what the previous request left.
func (s *scratch) reset() {
	for _, i := range s.touched {
		s.nb[i] = nbScore{}
	}
	s.touched = s.touched[:0]
	s.ids, s.factor = s.ids[:0], s.factor[:0]
	if s.gen++; s.gen == 0 {
		clear(s.slot)
		s.gen = 1
	}
}

// see marks i and reports whether it was unmarked.
func (s *scratch) see(i int32) bool {
	if s.slot[i].mark == s.gen {
		return false
	}
	s.slot[i].mark = s.gen
	return true
}

func (s *scratch) seen(i int32) bool { return s.slot[i].mark == s.gen }

// neighbourScores fills s with the items near the user's recent products:
// FeatNeighbour, FeatEASE and the recent product contributing most to
// each.
func (m *Model) neighbourScores(u *user, s *scratch) {
	w := float32(1)
	for _, h := range u.recent[:min(len(u.recent), recentHistory)] {
		items, sims := m.Neighbours.Of(h)
		for k, j := range items {
			c := w * sims[k]
			e := &s.nb[j]
			if e.from == 0 {
				e.from = h + 1
				s.touched = append(s.touched, j)
			}
			e.score += c
			if c > e.best {
				e.best, e.from = c, h+1
			}
		}
		w *= 0.85
	}
	if m.EASE == nil {
		return
	}
	for r, h := range u.recent[:min(len(u.recent), easeHistory)] {
		v := float32(u.easeVal[r])
		items, ws := m.EASE.Of(h)
		for k, j := range items {
			c := v * ws[k]
			e := &s.nb[j]
			if e.from == 0 {
				e.from = h + 1
				s.touched = append(s.touched, j)
			}
			e.ease += c
			if c > e.best {
				e.best, e.from = c, h+1
			}
		}
	}
}

// features fills f for item i.
func (m *Model) features(u *user, i int32, s *scratch, f *Features) {
	factor := 0.0
	if u.x != nil {
		factor = floats.Dot(u.x, m.Factors.ItemVec(i))
	}
	m.fill(u, i, factor, float64(s.nb[i].score), float64(s.nb[i].ease), f)
}

// fill fills f for item i given its factor, neighbour and EASE features.
func (m *Model) fill(u *user, i int32, factor, nb, ease float64, f *Features) {
	it := &m.item[i]
	f[FeatFactor] = factor
	f[FeatNeighbour] = nb
	f[FeatEASE] = ease
	f[FeatTrending] = float64(it.trend)
	f[FeatRecent] = float64(it.recent)
	f[FeatCategory] = 0
	if it.cat >= 0 {
		f[FeatCategory] = u.catShare[it.cat]
	}
	f[FeatConversion] = float64(it.conv)
	f[FeatPopularity] = float64(it.pop)
	f[FeatSeason] = float64(it.season)
}

// ScoreAll writes the blend's score of every item for training user u into
// dst (len NumItems), as the offline evaluation ranks the whole catalog.
// Items in the user's history are scored too; callers exclude them.
func (m *Model) ScoreAll(u int32, dst []float64) {
	items, sigs := m.Data.UserRow(u)
	usr := m.userFrom(items, sigs, m.Factors.UserVec(u, nil))
	df := m.denseFeatures(usr, dst)
	b := &m.Blend
	w := b.For(len(items))
	for i := range dst {
		var f Features
		m.fillDense(usr, int32(i), df, &f)
		dst[i] = b.ScoreWith(w, &f)
	}
}

// dense holds a user's personal features of every item.
type dense struct {
	factor, nb, ease []float64
	x                []float64 // the user's vector, for factor scores when factor is nil
}

// denseFeatures writes FeatFactor of every item into factor and returns it
// with FeatNeighbour and FeatEASE of every item. With factor nil, fillDense
// computes FeatFactor per item instead: cheaper for a few items per user.
func (m *Model) denseFeatures(usr *user, factor []float64) dense {
	n := m.Data.NumItems()
	switch {
	case factor == nil:
		// Computed per item by fillDense: for a few items of a user.
	case usr.x != nil:
		m.Factors.ScoreAll(usr.x, factor)
	default:
		clear(factor)
	}
	df := dense{factor: factor, x: usr.x, nb: make([]float64, n), ease: make([]float64, n)}
	w := 1.0
	for _, h := range usr.recent[:min(len(usr.recent), recentHistory)] {
		js, sims := m.Neighbours.Of(h)
		for k, j := range js {
			df.nb[j] += w * float64(sims[k])
		}
		w *= 0.85
	}
	if m.EASE != nil {
		for r, h := range usr.recent[:min(len(usr.recent), easeHistory)] {
			js, ws := m.EASE.Of(h)
			for k, j := range js {
				df.ease[j] += usr.easeVal[r] * float64(ws[k])
			}
		}
	}
	return df
}

// fillDense fills f for item i from dense personal features.
func (m *Model) fillDense(usr *user, i int32, df dense, f *Features) {
	factor := 0.0
	switch {
	case df.factor != nil:
		factor = df.factor[i]
	case df.x != nil:
		factor = floats.Dot(df.x, m.Factors.ItemVec(i))
	}
	m.fill(usr, i, factor, df.nb[i], df.ease[i], f)
}
