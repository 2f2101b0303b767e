package sim

import (
	"math"
	"math/rand/v2"
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
			g.texts = append(g.texts, event.AppendJSONString(nil, s))
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
	p := liveBuyProb(in.Skill, w.affinity(ui, int(pi)))
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
	p := browseBuyProb(s, w.affinity(ui, pi))
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
