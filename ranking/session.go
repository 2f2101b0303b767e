package ranking

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one user event as the real-time path sees it.
type Event struct {
	UserID, ProductID    uint64
	LiveID, InfluencerID uint64
	Kind                 Kind
	Unix                 int64 // event time, Unix seconds
	DwellMS              uint32
}

// sessionEvents is how many recent events a session keeps.
const sessionEvents = 64

// session is one user's recent events, newest last.
type session struct {
	events  []Event
	version uint64 // bumped by every event
	touched int64  // wall-clock Unix seconds of the last event

	// The folded-in vector for (model version, session version), cached.
	foldModel   int64
	foldVersion uint64
	fold        []float64
}

// Sessions holds the recent events of active users, sharded by user.
// Memory is bounded: at most MaxUsers sessions of sessionEvents events.
type Sessions struct {
	shards   [64]sessionShard
	maxUsers int
	ttl      time.Duration
	n        atomic.Int64
}

type sessionShard struct {
	mu sync.Mutex
	m  map[uint64]*session
}

// NewSessions returns an empty store that forgets users idle for ttl and
// keeps at most maxUsers.
func NewSessions(maxUsers int, ttl time.Duration) *Sessions {
	s := &Sessions{maxUsers: maxUsers, ttl: ttl}
	for i := range s.shards {
		s.shards[i].m = map[uint64]*session{}
	}
	return s
}

func (s *Sessions) shard(user uint64) *sessionShard {
	return &s.shards[(user*0x9E3779B97F4A7C15)>>58]
}

// Record appends an event to its user's session.
func (s *Sessions) Record(ev Event, now time.Time) {
	sh := s.shard(ev.UserID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ss := sh.m[ev.UserID]
	if ss == nil {
		if int(s.n.Load()) >= s.maxUsers {
			return // full until the next sweep; the feed still works from the model
		}
		ss = &session{}
		sh.m[ev.UserID] = ss
		s.n.Add(1)
	}
	if len(ss.events) == sessionEvents {
		copy(ss.events, ss.events[1:])
		ss.events = ss.events[:sessionEvents-1]
	}
	ss.events = append(ss.events, ev)
	ss.version++
	ss.touched = now.Unix()
}

// Len returns the number of sessions held.
func (s *Sessions) Len() int { return int(s.n.Load()) }

// Sweep forgets sessions idle for longer than the TTL.
func (s *Sessions) Sweep(now time.Time) {
	limit := now.Add(-s.ttl).Unix()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for u, ss := range sh.m {
			if ss.touched < limit {
				delete(sh.m, u)
				s.n.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}

// view returns a copy of the user's events and the session version; ok is
// false without a session.
func (s *Sessions) view(user uint64) (events []Event, version uint64, ok bool) {
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ss := sh.m[user]
	if ss == nil {
		return nil, 0, false
	}
	return append([]Event(nil), ss.events...), ss.version, true
}

// cachedFold returns the cached folded vector if it is for this model and
// session version.
func (s *Sessions) cachedFold(user uint64, model int64, version uint64) []float64 {
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ss := sh.m[user]; ss != nil && ss.foldModel == model && ss.foldVersion == version {
		return ss.fold
	}
	return nil
}

func (s *Sessions) storeFold(user uint64, model int64, version uint64, x []float64) {
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ss := sh.m[user]; ss != nil {
		ss.foldModel, ss.foldVersion, ss.fold = model, version, x
	}
}

// Lives tracks which products are shown in lives on air: a product is on air
// while live views of it keep arriving (within the window).
type Lives struct {
	mu     sync.RWMutex
	window int64
	onAir  map[uint64]liveShow // by product
	// snap is the products on air at the last second asked, reused within
	// that second unless a product came on air since (added).
	snap  atomic.Pointer[onAirSnap]
	added atomic.Bool
}

type onAirSnap struct {
	sec int64
	m   map[uint64]uint64
	// resolved is m as items of a model, made once per snapshot and model
	// rather than looked up in the model's item index by every request.
	resolved atomic.Pointer[onAirItems]
}

// onAirItem is a product on air as an item of a model, with its influencer.
type onAirItem struct {
	item       int32
	influencer uint64
}

type onAirItems struct {
	model *Model
	items []onAirItem
}

type liveShow struct {
	influencer uint64
	last       int64 // event time, Unix seconds
}

// NewLives returns a tracker with the given on-air window.
func NewLives(window time.Duration) *Lives {
	return &Lives{window: int64(window / time.Second), onAir: map[uint64]liveShow{}}
}

// Record notes a live event.
func (l *Lives) Record(ev Event) {
	if ev.LiveID == 0 || ev.ProductID == 0 {
		return
	}
	l.mu.Lock()
	cur, ok := l.onAir[ev.ProductID]
	if !ok || ev.Unix >= cur.last {
		l.onAir[ev.ProductID] = liveShow{influencer: ev.InfluencerID, last: ev.Unix}
	}
	l.mu.Unlock()
	if !ok || cur.influencer != ev.InfluencerID {
		l.added.Store(true)
	}
}

// onAirItems returns the products on air at now that m knows, as its
// items, with their influencer. The slice is shared between the calls of
// one second: callers must not change it.
func (l *Lives) onAirItems(now time.Time, m *Model) []onAirItem {
	s := l.snapAt(now)
	if r := s.resolved.Load(); r != nil && r.model == m {
		return r.items
	}
	items := make([]onAirItem, 0, len(s.m))
	for id, inf := range s.m {
		if i, ok := m.Data.ItemIndex(id); ok {
			items = append(items, onAirItem{i, inf})
		}
	}
	s.resolved.Store(&onAirItems{model: m, items: items})
	return items
}

func (l *Lives) snapAt(now time.Time) *onAirSnap {
	sec := now.Unix()
	if s := l.snap.Load(); s != nil && s.sec == sec && !l.added.Load() {
		return s
	}
	l.added.Store(false)
	s := &onAirSnap{sec: sec, m: l.onAirAt(sec)}
	l.snap.Store(s)
	return s
}

func (l *Lives) onAirAt(sec int64) map[uint64]uint64 {
	limit := sec - l.window
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[uint64]uint64, len(l.onAir))
	for p, s := range l.onAir {
		if s.last >= limit {
			out[p] = s.influencer
		}
	}
	return out
}

// Sweep forgets products off air.
func (l *Lives) Sweep(now time.Time) {
	limit := now.Unix() - l.window
	l.mu.Lock()
	for p, s := range l.onAir {
		if s.last < limit {
			delete(l.onAir, p)
		}
	}
	l.mu.Unlock()
}

// Hot counts recent events per product with exponential decay: the
// non-personal feed while no model is trained.
type Hot struct {
	mu       sync.Mutex
	halfLife float64
	score    map[uint64]hotScore
	max      int
}

type hotScore struct {
	v    float64
	unix int64
}

// NewHot returns a counter with the given half-life, holding at most max
// products (the weakest are dropped when it is full).
func NewHot(halfLife time.Duration, max int) *Hot {
	return &Hot{halfLife: halfLife.Seconds(), score: map[uint64]hotScore{}, max: max}
}

func (h *Hot) decayed(s hotScore, unix int64) float64 {
	return s.v * math.Exp2(-float64(unix-s.unix)/h.halfLife)
}

// Record counts one event with weight w.
func (h *Hot) Record(product uint64, w float64, unix int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.score[product]
	if !ok && len(h.score) >= h.max {
		h.pruneLocked(unix)
	}
	if unix > s.unix {
		s.v = h.decayed(s, unix)
		s.unix = unix
	}
	s.v += w
	h.score[product] = s
}

// pruneLocked drops the weaker half.
func (h *Hot) pruneLocked(unix int64) {
	vals := make([]float64, 0, len(h.score))
	for _, s := range h.score {
		vals = append(vals, h.decayed(s, unix))
	}
	med := quickMedian(vals)
	for p, s := range h.score {
		if h.decayed(s, unix) <= med {
			delete(h.score, p)
		}
	}
}

// Top returns up to n products by decayed score at unix, best first.
func (h *Hot) Top(n int, unix int64) ([]uint64, []float64) {
	h.mu.Lock()
	ids := make([]uint64, 0, len(h.score))
	vals := make([]float64, 0, len(h.score))
	for p, s := range h.score {
		ids = append(ids, p)
		vals = append(vals, h.decayed(s, unix))
	}
	h.mu.Unlock()
	idx := topN(vals, n)
	outIDs := make([]uint64, len(idx))
	outVals := make([]float64, len(idx))
	for k, i := range idx {
		outIDs[k], outVals[k] = ids[i], vals[i]
	}
	return outIDs, outVals
}

func quickMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	lo, hi, k := 0, len(v)-1, len(v)/2
	for lo < hi {
		p := v[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
