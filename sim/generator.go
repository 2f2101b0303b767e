package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/vetrina/vetrina/event"
)

// Message is one encoded message: a JSON object per the contract of package
// event, keyed by user ID (events) or entity ID (catalog and lives), as a
// decimal string. Key and Value are never modified after they are returned.
type Message struct {
	Kind  event.Kind
	Key   []byte
	Value []byte
	// Time is the simulated time of the event, as in its ts (millisecond
	// precision); for catalog and live messages, their updated_at.
	Time time.Time
}

// Live is one live-stream sale scheduled by a Generator, with the true
// expectations of what the generator will produce for it.
type Live struct {
	ID           uint64 `json:"id"`
	InfluencerID uint64 `json:"influencer_id"`
	// SponsorBrandID is the sponsoring brand, 0 for an organic live.
	SponsorBrandID uint64        `json:"sponsor_brand_id"`
	Start          time.Time     `json:"start"`
	Duration       time.Duration `json:"duration_ns"`
	// ProductIDs are showcased in order, each for an equal share of the
	// live. The slice must not be modified.
	ProductIDs []uint64 `json:"product_ids"`
	// Fee is what the sponsor pays the influencer (0 for organic lives).
	Fee float64 `json:"fee"`
	// ExpectedViewers is the expected number of live view events, bots
	// included.
	ExpectedViewers float64 `json:"expected_viewers"`
	// ExpectedPurchases is the expected number of purchase events
	// attributed to the live.
	ExpectedPurchases float64 `json:"expected_purchases"`
	// TrueExpectedGMV is the expected sum of quantity*unit_price over the
	// purchases attributed to the live, in EUR.
	TrueExpectedGMV float64 `json:"true_expected_gmv"`
}

// End returns when the live ends.
func (l Live) End() time.Time { return l.Start.Add(l.Duration) }

// Delays between a view and the events it causes.
const (
	second            = int64(time.Second)
	liveChatDelayMin  = 2 * second
	liveChatDelayMax  = 60 * second
	liveBuyDelayMin   = 10 * second
	liveBuyDelayMax   = 180 * second
	browseBuyDelayMin = 5 * second
	browseBuyDelayMax = 600 * second
)

// MaxPurchaseDelay bounds the time between a view and the purchase it leads
// to: all purchases of a live are emitted by its End() plus
// MaxPurchaseDelay.
const MaxPurchaseDelay = time.Duration(browseBuyDelayMax)

var liveMinutes = [...]int64{30, 45, 60, 60, 90, 120}

// pending is an event decided but not yet emitted.
type pending struct {
	t       int64  // nanoseconds since the generator start
	order   uint64 // tie-breaker: push order
	user    uint64
	product uint64
	infl    uint64
	live    uint64
	dwell   uint32
	text    uint16
	kind    event.Kind
	surface event.Surface
	qty     uint8
	ended   bool // a live message: the live's end (else its start)
}

// liveState is a live in progress.
type liveState struct {
	id       uint64
	infl     int
	start    int64 // nanoseconds since the generator start
	end      int64
	rate     float64 // views per simulated second
	products []uint32
	fake     float64
	burst    uint16
	audience aliasTable
}

// Generator produces the event stream of a World in simulated-time order.
// It is deterministic for a given world, seed and start time, and not safe
// for concurrent use (use one generator per goroutine, with distinct seeds
// so that event IDs stay unique).
type Generator struct {
	w       *World
	rng     *rand.Rand
	seed    int64
	start   time.Time
	startNS int64
	// wallClock stamps events with time.Now() instead of simulated time.
	wallClock bool

	clock      int64 // time of the latest primary event or boundary
	now        int64 // time of the last emitted event
	seq        uint64
	browseRate float64 // events per simulated second
	liveRate   float64
	nextLive   int64
	active     []*liveState
	free       []*liveState
	lives      []Live
	busyUntil  []int64
	// liveStartMS is the started_at, in Unix milliseconds, of each live
	// whose start message was emitted (by live ID - 1).
	liveStartMS []int64

	queue   []pending // min-heap on (t, order)
	order   uint64
	prim    pending
	hasPrim bool

	texts                         [][]byte // JSON-encoded chat texts
	firstReaction, ordered, burst int

	idPrefix, orderPrefix []byte
	slab                  []byte
	tsSec                 int64
	tsDate                []byte

	// aud holds the audience of the live being scheduled; work is scratch
	// for its alias table.
	aud                audienceScratch
	work, brandWeights []float64
}

// NewGenerator returns a generator of w's traffic starting at start (which
// is converted to UTC). Its random stream is derived from seed, which also
// prefixes event and order IDs.
func NewGenerator(w *World, seed int64, start time.Time) *Generator {
	g := &Generator{
		w:          w,
		rng:        newRand(seed, streamGenerator),
		seed:       seed,
		start:      start.UTC(),
		startNS:    start.UnixNano(),
		browseRate: w.idx.browseRate,
		busyUntil:  make([]int64, len(w.Influencers)),
		tsSec:      math.MinInt64,
		aud:        newAudienceScratch(w),
		work:       make([]float64, len(w.Users)),
	}
	g.idPrefix = strconv.AppendInt(append([]byte(nil), "e-"...), seed, 36)
	g.idPrefix = append(g.idPrefix, '-')
	g.orderPrefix = strconv.AppendInt(append([]byte(nil), "o-"...), seed, 36)
	g.orderPrefix = append(g.orderPrefix, '-')
	addTexts := func(ts ...string) {
		for _, s := range ts {
			g.texts = append(g.texts, appendJSONString(nil, s))
		}
	}
	addTexts(chatQuestions...)
	g.firstReaction = len(g.texts)
	addTexts(chatReactions...)
	g.ordered = len(g.texts)
	addTexts(chatOrdered)
	g.burst = len(g.texts)
	addTexts(chatBursts...)
	g.nextLive = g.drawLiveGap(0)
	return g
}

// World returns the world the generator simulates.
func (g *Generator) World() *World { return g.w }

// Start returns the simulated start time.
func (g *Generator) Start() time.Time { return g.start }

// UseWallClock makes the generator stamp events with the wall-clock time at
// which they are generated instead of its simulated clock. A paced run
// (`vetrina up`, `vetrina simulate --rate`) produces events far slower
// than the simulated clock advances; without it, event times would run
// ahead of real time and eventually be rejected as future timestamps.
// Simulated behaviour (who does what) is unchanged.
func (g *Generator) UseWallClock() { g.wallClock = true }

// millis is the Unix millisecond time stamped on an event at simulated
// time t.
func (g *Generator) millis(t int64) int64 {
	if g.wallClock {
		return time.Now().UnixMilli()
	}
	return floorDiv(g.startNS+t, int64(time.Millisecond))
}

// Now returns the simulated time of the last emitted message (Start before
// the first).
func (g *Generator) Now() time.Time { return g.start.Add(time.Duration(g.now)) }

// Emitted returns the number of events (views, chats and purchases) emitted
// so far; live messages are not counted.
func (g *Generator) Emitted() uint64 { return g.seq }

// Lives returns the lives started so far, in start order (Live.ID is the
// position plus one). Lives may start slightly ahead of Now, and the last
// ones may still be running.
func (g *Generator) Lives() []Live { return append([]Live(nil), g.lives...) }

// Next returns the next message of the stream in simulated-time order: an
// event (a view, chat or purchase), or a live message (event.KindLive,
// keyed by live ID) when a live starts and again when it ends. Live
// messages take no random draws and no event IDs: the events are the same
// with or without them.
func (g *Generator) Next() Message {
	if !g.hasPrim {
		g.drawPrimary()
		g.hasPrim = true
	}
	if len(g.queue) > 0 && g.queue[0].t <= g.prim.t {
		p := g.pop()
		return g.emit(&p)
	}
	g.hasPrim = false
	return g.emit(&g.prim)
}

// drawGap returns the time after `at` of the next arrival of a Poisson
// process of the given rate per simulated second (math.MaxInt64 if never).
func (g *Generator) drawGap(at int64, rate float64) int64 {
	if rate <= 0 {
		return math.MaxInt64
	}
	dt := g.rng.ExpFloat64() / rate * 1e9
	if dt >= float64(math.MaxInt64-at) {
		return math.MaxInt64
	}
	return at + int64(dt)
}

func (g *Generator) drawLiveGap(at int64) int64 {
	return g.drawGap(at, g.w.Config.LivesPerHour/3600)
}

// nextBoundary returns the next time the set of running lives changes.
func (g *Generator) nextBoundary() int64 {
	b := g.nextLive
	for _, ls := range g.active {
		b = min(b, ls.end)
	}
	return b
}

// drawPrimary draws the next view of the superposed Poisson processes
// (browsing and every running live) into g.prim, queueing the chats and
// purchases it causes.
func (g *Generator) drawPrimary() {
	for {
		total := g.browseRate + g.liveRate
		boundary := g.nextBoundary()
		if t := g.drawGap(g.clock, total); t < boundary {
			g.clock = t
			break
		}
		if boundary == math.MaxInt64 {
			panic("sim: no traffic: the world has no browsing users and no lives")
		}
		// The processes are memoryless: jump to the boundary, update the
		// rates and draw again.
		g.clock = boundary
		g.handleBoundary()
	}
	x := g.rng.Float64() * (g.browseRate + g.liveRate)
	if x < g.browseRate || len(g.active) == 0 {
		g.browseView()
		return
	}
	x -= g.browseRate
	for _, ls := range g.active {
		if x < ls.rate {
			g.liveView(ls)
			return
		}
		x -= ls.rate
	}
	g.liveView(g.active[len(g.active)-1])
}

func (g *Generator) handleBoundary() {
	if g.nextLive <= g.clock {
		g.nextLive = g.drawLiveGap(g.clock)
		g.startLive()
	}
	kept := g.active[:0]
	for _, ls := range g.active {
		if ls.end <= g.clock {
			g.free = append(g.free, ls)
			continue
		}
		kept = append(kept, ls)
	}
	clear(g.active[len(kept):])
	g.active = kept
	g.liveRate = 0
	for _, ls := range g.active {
		g.liveRate += ls.rate
	}
}

// startLive schedules a live at g.clock and computes its expectations.
func (g *Generator) startLive() {
	w := g.w
	ii := -1
	for range 8 {
		if c := g.rng.IntN(len(w.Influencers)); g.busyUntil[c] <= g.clock {
			ii = c
			break
		}
	}
	if ii < 0 {
		return // everyone we asked is already live
	}
	in := &w.Influencers[ii]
	sponsored := g.rng.Float64() < w.Config.SponsoredShare
	dur := liveMinutes[g.rng.IntN(len(liveMinutes))] * int64(time.Minute)
	k := 3 + g.rng.IntN(6)
	var (
		products []uint32
		sponsor  uint64
		fee      float64
	)
	if sponsored {
		bi := g.pickSponsor(ii)
		sponsor, fee = uint64(bi+1), in.Fee
		bp := w.idx.brandProducts[bi]
		appeal := make([]float64, len(bp))
		for j, pi := range bp {
			appeal[j] = w.Products[pi].Appeal
		}
		for _, j := range pickDistinct(g.rng, appeal, k) {
			products = append(products, bp[j])
		}
	} else {
		products = g.organicProducts(ii, k)
	}

	var ls *liveState
	if n := len(g.free); n > 0 {
		ls, g.free = g.free[n-1], g.free[:n-1]
	} else {
		ls = new(liveState)
	}
	perHour := w.LiveViewsPerHour(in.ID)
	*ls = liveState{
		id:       uint64(len(g.lives) + 1),
		infl:     ii,
		start:    g.clock,
		end:      g.clock + dur,
		rate:     perHour / 3600,
		products: products,
		fake:     in.FakeShare,
		burst:    uint16(g.burst + g.rng.IntN(len(chatBursts))),
		audience: ls.audience,
	}
	var cats []int
	for _, pi := range products {
		if c := int(w.idx.productCat[pi]); !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	total := g.audienceWeights(ii, cats)
	ls.audience.build(g.aud.weights, g.work)

	live := Live{
		ID:             ls.id,
		InfluencerID:   in.ID,
		SponsorBrandID: sponsor,
		Start:          g.start.Add(time.Duration(g.clock)),
		Duration:       time.Duration(dur),
		ProductIDs:     make([]uint64, len(products)),
		Fee:            fee,
	}
	for j, pi := range products {
		live.ProductIDs[j] = uint64(pi + 1)
	}
	live.ExpectedViewers, live.ExpectedPurchases, live.TrueExpectedGMV = w.expectLive(&g.aud, ii, products, time.Duration(dur), total)
	g.lives = append(g.lives, live)
	g.liveStartMS = append(g.liveStartMS, 0)
	g.active = append(g.active, ls)
	g.busyUntil[ii] = ls.end
	// Its catalog messages, in the stream at its start and end: the start
	// before any of its views, the end after all of them (views stop at
	// the boundary) and before the chats and purchases that trail it.
	g.push(pending{t: ls.start, live: ls.id, kind: event.KindLive})
	g.push(pending{t: ls.end, live: ls.id, kind: event.KindLive, ended: true})
}

// meanBuyProb is World.meanBuyProb over the audience of the live being
// scheduled (see audienceWeights).
func (g *Generator) meanBuyProb(a float64, c int, total float64, exact bool) float64 {
	return g.w.meanBuyProb(&g.aud, a, c, total, exact)
}

// audienceWeights fills the generator's audience scratch for a live of
// influencer ii (see World.audienceWeights) and returns the sum of the
// weights.
func (g *Generator) audienceWeights(ii int, cats []int) float64 {
	return g.w.audienceWeights(&g.aud, ii, cats)
}

// pickSponsor draws the sponsor brand of a live of influencer ii, favouring
// brands that share the influencer's categories.
func (g *Generator) pickSponsor(ii int) int {
	w := g.w
	if g.brandWeights == nil {
		g.brandWeights = make([]float64, len(w.Brands))
	}
	for bi, cats := range w.idx.brandCats {
		x := 0.1
		for _, c := range cats {
			for _, ic := range w.idx.inflCats[ii] {
				if c == ic {
					x++
				}
			}
		}
		g.brandWeights[bi] = x
	}
	return pickWeighted(g.rng, g.brandWeights)
}

// organicProducts draws k distinct products of influencer ii's categories,
// weighted like the browse surfaces.
func (g *Generator) organicProducts(ii, k int) []uint32 {
	w := g.w
	cats := w.idx.inflCats[ii]
	var out []uint32
	for range 4 * k {
		if len(out) == k {
			break
		}
		c := cats[g.rng.IntN(len(cats))]
		if len(w.idx.catProducts[c]) == 0 {
			c = w.idx.nonEmptyCats[g.rng.IntN(len(w.idx.nonEmptyCats))]
		}
		pi := w.idx.catProducts[c][w.catAlias[c].sample(g.rng)]
		dup := false
		for _, q := range out {
			dup = dup || q == pi
		}
		if !dup {
			out = append(out, pi)
		}
	}
	return out
}

// liveView draws a view of live ls at g.clock into g.prim.
func (g *Generator) liveView(ls *liveState) {
	w := g.w
	t := g.clock
	slot := int((t - ls.start) * int64(len(ls.products)) / (ls.end - ls.start))
	slot = min(slot, len(ls.products)-1)
	pi := ls.products[slot]
	in := &w.Influencers[ls.infl]
	g.prim = pending{t: t, product: uint64(pi + 1), infl: in.ID, live: ls.id, kind: event.KindView, surface: event.SurfaceLive}

	if ls.fake > 0 && g.rng.Float64() < ls.fake {
		bots := w.idx.bots
		g.prim.user = uint64(bots[g.rng.IntN(len(bots))] + 1)
		g.prim.dwell = uint32(500 + g.rng.IntN(3000))
		if g.rng.Float64() < fakeBurstProb {
			n := 5 + g.rng.IntN(16)
			at := t + second/2
			for range n {
				at += second/20 + g.rng.Int64N(second/2)
				g.push(pending{t: at, user: uint64(bots[g.rng.IntN(len(bots))] + 1),
					infl: in.ID, live: ls.id, kind: event.KindChat, text: ls.burst})
			}
		}
		return
	}

	ui := ls.audience.sample(g.rng)
	g.prim.user = uint64(ui + 1)
	g.prim.dwell = uint32(min(3_600_000, logNormal(g.rng, math.Log(45_000), 0.9)))
	if g.rng.Float64() < min(maxChatProb, in.ChatRate) {
		c := pending{t: t + liveChatDelayMin + g.rng.Int64N(liveChatDelayMax-liveChatDelayMin),
			user: g.prim.user, infl: in.ID, live: ls.id, kind: event.KindChat}
		if g.rng.IntN(2) == 0 {
			c.text = uint16(g.rng.IntN(g.firstReaction))
			c.product = g.prim.product
		} else {
			c.text = uint16(g.firstReaction + g.rng.IntN(g.ordered-g.firstReaction))
		}
		g.push(c)
	}
	p := min(maxBuyProb, liveBuyRate*in.Skill*w.affinity(ui, int(pi)))
	if g.rng.Float64() < p {
		at := t + liveBuyDelayMin + g.rng.Int64N(liveBuyDelayMax-liveBuyDelayMin)
		g.push(pending{t: at, user: g.prim.user, product: g.prim.product, infl: in.ID, live: ls.id,
			kind: event.KindPurchase, qty: g.quantity()})
		if g.rng.Float64() < 0.25 {
			g.push(pending{t: at + second + g.rng.Int64N(4*second), user: g.prim.user, infl: in.ID,
				live: ls.id, kind: event.KindChat, text: uint16(g.ordered)})
		}
	}
}

// browseView draws a feed, search or shop view at g.clock into g.prim.
func (g *Generator) browseView() {
	w := g.w
	t := g.clock
	ui := w.browse.sample(g.rng)
	u := &w.Users[ui]
	s := event.SurfaceShop
	switch x := g.rng.Float64(); {
	case x < 0.55:
		s = event.SurfaceFeed
	case x < 0.80:
		s = event.SurfaceSearch
	}
	c := -1
	if s != event.SurfaceFeed || g.rng.Float64() >= feedExplore {
		c = g.sampleTaste(u.Tastes)
	}
	if c < 0 || len(w.idx.catProducts[c]) == 0 {
		c = w.idx.nonEmptyCats[g.rng.IntN(len(w.idx.nonEmptyCats))]
	}
	pi := int(w.idx.catProducts[c][w.catAlias[c].sample(g.rng)])
	g.prim = pending{t: t, user: uint64(ui + 1), product: uint64(pi + 1), kind: event.KindView, surface: s,
		dwell: uint32(min(600_000, logNormal(g.rng, math.Log(4000), 0.8)*(0.6+2*u.Tastes[c])))}
	p := min(maxBuyProb, browseBuyRate*surfaceBoost(s)*w.affinity(ui, pi))
	if g.rng.Float64() < p {
		g.push(pending{t: t + browseBuyDelayMin + g.rng.Int64N(browseBuyDelayMax-browseBuyDelayMin),
			user: g.prim.user, product: g.prim.product, kind: event.KindPurchase, qty: g.quantity()})
	}
}

func (g *Generator) sampleTaste(tastes []float64) int {
	x := g.rng.Float64()
	for c, t := range tastes {
		if x < t {
			return c
		}
		x -= t
	}
	return len(tastes) - 1
}

func (g *Generator) quantity() uint8 {
	switch x := g.rng.Float64(); {
	case x < 0.8:
		return 1
	case x < 0.95:
		return 2
	default:
		return 3
	}
}

// push adds p to the queue of pending events.
func (g *Generator) push(p pending) {
	g.order++
	p.order = g.order
	g.queue = append(g.queue, p)
	q := g.queue
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q[i].before(&q[parent]) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// pop removes and returns the earliest pending event.
func (g *Generator) pop() pending {
	q := g.queue
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(&q[l]) {
			m = r
		}
		if !q[m].before(&q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	g.queue = q
	return top
}

func (p *pending) before(o *pending) bool {
	return p.t < o.t || (p.t == o.t && p.order < o.order)
}

// Messages are carved from slabs of slabSize bytes; maxEncoded bounds the
// size of an encoded event plus its key.
const (
	slabSize   = 64 << 10
	maxEncoded = 1 << 10
)

// emit encodes p as the next message.
func (g *Generator) emit(p *pending) Message {
	if p.kind == event.KindLive {
		return g.emitLive(p)
	}
	g.seq++
	g.now = p.t
	// Encode straight into the slab; a message that does not fit in what is
	// left of it would only make append move it to a fresh array.
	if cap(g.slab)-len(g.slab) < maxEncoded {
		g.slab = make([]byte, 0, slabSize)
	}
	off := len(g.slab)
	b := append(g.slab, `{"event_id":"`...)
	b = append(b, g.idPrefix...)
	b = strconv.AppendUint(b, g.seq, 36)
	b = append(b, `","ts":"`...)
	b = g.appendTS(b, p.t)
	switch p.kind {
	case event.KindView:
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"product_id":`...)
		b = strconv.AppendUint(b, p.product, 10)
		if p.live != 0 {
			b = append(b, `,"influencer_id":`...)
			b = strconv.AppendUint(b, p.infl, 10)
			b = append(b, `,"live_id":`...)
			b = strconv.AppendUint(b, p.live, 10)
		}
		b = append(b, `,"surface":"`...)
		b = append(b, surfaceName(p.surface)...)
		b = append(b, `","dwell_ms":`...)
		b = strconv.AppendUint(b, uint64(p.dwell), 10)
	case event.KindChat:
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"live_id":`...)
		b = strconv.AppendUint(b, p.live, 10)
		b = append(b, `,"influencer_id":`...)
		b = strconv.AppendUint(b, p.infl, 10)
		if p.product != 0 {
			b = append(b, `,"product_id":`...)
			b = strconv.AppendUint(b, p.product, 10)
		}
		b = append(b, `,"text":`...)
		b = append(b, g.texts[p.text]...)
	case event.KindPurchase:
		b = append(b, `","order_id":"`...)
		b = append(b, g.orderPrefix...)
		b = strconv.AppendUint(b, g.seq, 36)
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"product_id":`...)
		b = strconv.AppendUint(b, p.product, 10)
		if p.live != 0 {
			b = append(b, `,"influencer_id":`...)
			b = strconv.AppendUint(b, p.infl, 10)
			b = append(b, `,"live_id":`...)
			b = strconv.AppendUint(b, p.live, 10)
		}
		b = append(b, `,"quantity":`...)
		b = strconv.AppendUint(b, uint64(p.qty), 10)
		b = append(b, `,"unit_price":`...)
		b = appendPrice(b, g.w.Products[p.product-1].Price)
		b = append(b, `,"currency":"`+Currency+`"`...)
	}
	b = append(b, '}')
	value := b[off:len(b):len(b)]
	off = len(b)
	b = strconv.AppendUint(b, p.user, 10)
	key := b[off:len(b):len(b)]
	g.slab = b
	ms := g.millis(p.t)
	return Message{Kind: p.kind, Key: key, Value: value, Time: time.UnixMilli(ms).UTC()}
}

// emitLive encodes the live message p: the live's start, or (p.ended) a
// new version of it with ended_at. Lives are rare; their messages get
// their own small buffers.
func (g *Generator) emitLive(p *pending) Message {
	g.now = p.t
	l := &g.lives[p.live-1]
	ms := g.millis(p.t)
	if p.ended {
		// On the wall clock, which may step back, the end must still not
		// precede the start.
		ms = max(ms, g.liveStartMS[p.live-1])
	} else {
		g.liveStartMS[p.live-1] = ms
	}
	b := make([]byte, 0, 160+21*len(l.ProductIDs))
	b = append(b, `{"live_id":`...)
	b = strconv.AppendUint(b, l.ID, 10)
	b = append(b, `,"influencer_id":`...)
	b = strconv.AppendUint(b, l.InfluencerID, 10)
	if l.SponsorBrandID != 0 {
		b = append(b, `,"sponsor_brand_id":`...)
		b = strconv.AppendUint(b, l.SponsorBrandID, 10)
		b = append(b, `,"fee":`...)
		b = appendPrice(b, l.Fee)
	}
	b = append(b, `,"product_ids":[`...)
	for i, id := range l.ProductIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	b = append(b, `],"started_at":"`...)
	b = appendUnixMillis(b, g.liveStartMS[p.live-1])
	if p.ended {
		b = append(b, `","ended_at":"`...)
		b = appendUnixMillis(b, ms)
	}
	b = append(b, `","updated_at":"`...)
	b = appendUnixMillis(b, ms)
	b = append(b, `"}`...)
	return Message{Kind: event.KindLive, Key: strconv.AppendUint(nil, l.ID, 10), Value: b, Time: time.UnixMilli(ms).UTC()}
}

// appendTS appends the RFC 3339 millisecond UTC timestamp of simulated
// time t, caching the date and time of the current second.
func (g *Generator) appendTS(b []byte, t int64) []byte {
	ms := g.millis(t)
	sec := floorDiv(ms, 1000)
	if sec != g.tsSec {
		g.tsSec = sec
		g.tsDate = appendDateTime(g.tsDate[:0], sec)
	}
	b = append(b, g.tsDate...)
	return appendMillis(b, ms-sec*1000)
}

func surfaceName(s event.Surface) string {
	switch s {
	case event.SurfaceFeed:
		return "feed"
	case event.SurfaceLive:
		return "live"
	case event.SurfaceSearch:
		return "search"
	default:
		return "shop"
	}
}
