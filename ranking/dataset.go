package ranking

import (
	"math"
	"slices"
	"sort"
)

// Kind is the kind of a user's interaction with a product.
type Kind uint8

// Kinds of interaction, weakest signal first.
const (
	View Kind = iota
	Chat
	Purchase
)

// String returns view, chat or purchase.
func (k Kind) String() string {
	switch k {
	case View:
		return "view"
	case Chat:
		return "chat"
	case Purchase:
		return "purchase"
	}
	return "unknown"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "view":
		return View, true
	case "chat":
		return Chat, true
	case "purchase":
		return Purchase, true
	}
	return 0, false
}

// Interaction is one event of a user with a product.
type Interaction struct {
	User, Item uint64
	Kind       Kind
	Unix       int64 // event time, Unix seconds
	DwellMS    uint32
}

// Item is a product of the catalog as the ranking sees it.
type Item struct {
	ID       uint64
	Category string
	Brand    uint64
	Price    float64
	InStock  bool
	Title    string
}

// Signal aggregates everything one user did with one product. A served
// model holds one per user-product pair (20M at the benchmark's scale), so
// it is 16 bytes: the counts saturate at 65,535, far beyond what Strength
// tells apart (it takes the log of views and caps dwell at five minutes).
type Signal struct {
	Views, Chats, Purchases uint16
	DwellSec                uint16
	First, Last             uint32 // Unix seconds of the first and last interaction
}

// add folds one interaction into the signal.
func (s *Signal) add(k Kind, unix int64, dwellMS uint32) {
	switch k {
	case View:
		s.Views = addSat16(s.Views, 1)
	case Chat:
		s.Chats = addSat16(s.Chats, 1)
	case Purchase:
		s.Purchases = addSat16(s.Purchases, 1)
	}
	s.DwellSec = addSat16(s.DwellSec, uint64(dwellMS/1000))
	t := clampUnix(unix)
	if s.First == 0 || t < s.First {
		s.First = t
	}
	if t > s.Last {
		s.Last = t
	}
}

// merge folds o into s.
func (s *Signal) merge(o Signal) {
	s.Views = addSat16(s.Views, uint64(o.Views))
	s.Chats = addSat16(s.Chats, uint64(o.Chats))
	s.Purchases = addSat16(s.Purchases, uint64(o.Purchases))
	s.DwellSec = addSat16(s.DwellSec, uint64(o.DwellSec))
	if s.First == 0 || (o.First != 0 && o.First < s.First) {
		s.First = o.First
	}
	if o.Last > s.Last {
		s.Last = o.Last
	}
}

// sat16 is v, or 65,535 if v is larger.
func sat16(v uint64) uint16 { return uint16(min(v, math.MaxUint16)) }

// addSat16 is a+b, or 65,535 if that is larger.
func addSat16(a uint16, b uint64) uint16 { return sat16(uint64(a) + min(b, math.MaxUint16)) }

func clampUnix(unix int64) uint32 {
	if unix < 1 {
		return 1
	}
	if unix > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(unix)
}

// Weights turn a Signal into the strength of the preference it shows
// (view < chat < purchase, longer dwell stronger).
type Weights struct {
	View, Chat, Purchase float64
	DwellPerMinute       float64 // added per minute of dwell, capped at 5 minutes
}

// DefaultWeights are the event-kind weights used unless tuned.
func DefaultWeights() Weights {
	return Weights{View: 1, Chat: 2, Purchase: 6, DwellPerMinute: 0.5}
}

// Strength is the weighted amount of interaction in s. Repeated views count
// with diminishing returns (log), chats and purchases linearly.
func (w Weights) Strength(s Signal) float64 {
	dwell := math.Min(float64(s.DwellSec)/60, 5)
	return w.View*math.Log1p(float64(s.Views)) + w.Chat*float64(s.Chats) +
		w.Purchase*float64(s.Purchases) + w.DwellPerMinute*dwell
}

// Dataset is an interaction matrix over dense user and item indexes, with
// the catalog, stored twice (by user and by item) for the models.
//
// User u's pairs are UserItems[UserPtr[u]:UserPtr[u+1]] with signals
// Signals[UserPtr[u]:UserPtr[u+1]], sorted by item. Item i's pairs are
// ItemUsers[ItemPtr[i]:ItemPtr[i+1]] with the index of each pair into
// Signals in ItemPairs (same range), sorted by user.
type Dataset struct {
	Users []uint64 // dense user index → user id
	Items []Item   // dense item index → catalog entry (Category "" if unknown)

	Categories   []string // distinct categories, sorted
	ItemCategory []int32  // dense item index → index into Categories, -1 if none

	UserPtr   []int64
	UserItems []int32
	Signals   []Signal

	ItemPtr   []int64
	ItemUsers []int32
	ItemPairs []int64

	// MinUnix and MaxUnix bound the interaction times (0 when empty).
	MinUnix, MaxUnix int64

	userIndex map[uint64]int32
	itemIndex map[uint64]int32
}

// NumUsers is the number of users with at least one interaction.
func (d *Dataset) NumUsers() int { return len(d.Users) }

// NumItems is the number of items (catalog and interacted).
func (d *Dataset) NumItems() int { return len(d.Items) }

// NumPairs is the number of distinct (user, item) pairs.
func (d *Dataset) NumPairs() int { return len(d.Signals) }

// UserIndex returns the dense index of a user id.
func (d *Dataset) UserIndex(id uint64) (int32, bool) {
	u, ok := d.userIndex[id]
	return u, ok
}

// ItemIndex returns the dense index of an item id.
func (d *Dataset) ItemIndex(id uint64) (int32, bool) {
	i, ok := d.itemIndex[id]
	return i, ok
}

// UserRow returns the items of user u and their signals.
func (d *Dataset) UserRow(u int32) ([]int32, []Signal) {
	lo, hi := d.UserPtr[u], d.UserPtr[u+1]
	return d.UserItems[lo:hi], d.Signals[lo:hi]
}

// ItemColumn returns the users of item i and their pairs' indexes into
// Signals.
func (d *Dataset) ItemColumn(i int32) ([]int32, []int64) {
	lo, hi := d.ItemPtr[i], d.ItemPtr[i+1]
	return d.ItemUsers[lo:hi], d.ItemPairs[lo:hi]
}

// reindex rebuilds the id → index maps (after a snapshot is decoded).
func (d *Dataset) reindex() {
	d.userIndex = make(map[uint64]int32, len(d.Users))
	for u, id := range d.Users {
		d.userIndex[id] = int32(u)
	}
	d.itemIndex = make(map[uint64]int32, len(d.Items))
	for i, it := range d.Items {
		d.itemIndex[it.ID] = int32(i)
	}
}

// dropItemMajor frees the by-item copy, which only training needs.
func (d *Dataset) dropItemMajor() {
	d.ItemPtr, d.ItemUsers, d.ItemPairs = nil, nil, nil
}

// Builder collects interactions and catalog entries into a Dataset. The
// zero value is not usable; call NewBuilder.
type Builder struct {
	users     []uint64
	userIndex map[uint64]int32
	items     []Item
	itemIndex map[uint64]int32
	// chunks hold the pairs as they come, in fixed-size chunks: no
	// re-allocation as they grow, and no per-user slices (a million users'
	// small slices cost more than their pairs).
	chunks  [][]upair
	perUser []int32 // pairs added per dense user
	minUnix int64
	maxUnix int64
}

// upair is a pair as added; pair is one in a user's row.
type upair struct {
	user int32
	pair
}

type pair struct {
	item int32
	sig  Signal
}

const chunkPairs = 1 << 18

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{userIndex: map[uint64]int32{}, itemIndex: map[uint64]int32{}}
}

// AddItem records (or replaces) a catalog entry.
func (b *Builder) AddItem(it Item) {
	if i, ok := b.itemIndex[it.ID]; ok {
		b.items[i] = it
		return
	}
	b.itemIndex[it.ID] = int32(len(b.items))
	b.items = append(b.items, it)
}

func (b *Builder) item(id uint64) int32 {
	i, ok := b.itemIndex[id]
	if !ok {
		i = int32(len(b.items))
		b.itemIndex[id] = i
		b.items = append(b.items, Item{ID: id, InStock: true})
	}
	return i
}

func (b *Builder) user(id uint64) int32 {
	u, ok := b.userIndex[id]
	if !ok {
		u = int32(len(b.users))
		b.userIndex[id] = u
		b.users = append(b.users, id)
		b.perUser = append(b.perUser, 0)
	}
	return u
}

func (b *Builder) seen(unix int64) {
	if b.minUnix == 0 || unix < b.minUnix {
		b.minUnix = unix
	}
	if unix > b.maxUnix {
		b.maxUnix = unix
	}
}

// Add records one interaction. Items not in the catalog are added with an
// unknown category, in stock.
func (b *Builder) Add(in Interaction) {
	var s Signal
	s.add(in.Kind, in.Unix, in.DwellMS)
	b.AddSignal(in.User, in.Item, s)
}

// AddSignal records an aggregate of interactions of one user with one item
// (as the training query reads them from ClickHouse).
func (b *Builder) AddSignal(user, item uint64, s Signal) {
	u, i := b.user(user), b.item(item)
	if len(b.chunks) == 0 || len(b.chunks[len(b.chunks)-1]) == chunkPairs {
		b.chunks = append(b.chunks, make([]upair, 0, chunkPairs))
	}
	last := &b.chunks[len(b.chunks)-1]
	*last = append(*last, upair{user: u, pair: pair{item: i, sig: s}})
	b.perUser[u]++
	if s.First != 0 {
		b.seen(int64(s.First))
	}
	if s.Last != 0 {
		b.seen(int64(s.Last))
	}
}

// Build returns the Dataset. The Builder must not be used afterwards.
func (b *Builder) Build() *Dataset {
	d := &Dataset{
		Users:     b.users,
		Items:     b.items,
		userIndex: b.userIndex,
		itemIndex: b.itemIndex,
		MinUnix:   b.minUnix,
		MaxUnix:   b.maxUnix,
	}
	// Categories.
	cats := map[string]int32{}
	for _, it := range d.Items {
		if it.Category != "" {
			cats[it.Category] = 0
		}
	}
	for c := range cats {
		d.Categories = append(d.Categories, c)
	}
	sort.Strings(d.Categories)
	for i, c := range d.Categories {
		cats[c] = int32(i)
	}
	d.ItemCategory = make([]int32, len(d.Items))
	for i, it := range d.Items {
		d.ItemCategory[i] = -1
		if it.Category != "" {
			d.ItemCategory[i] = cats[it.Category]
		}
	}
	// By user: scatter the chunks into rows (counting sort), then sort each
	// row by item and merge duplicates, compacting in place.
	ptr := make([]int64, len(d.Users)+1)
	for u, n := range b.perUser {
		ptr[u+1] = ptr[u] + int64(n)
	}
	total := ptr[len(d.Users)]
	rows := make([]pair, total)
	next := append([]int64(nil), ptr[:len(d.Users)]...)
	for ci, c := range b.chunks {
		for _, p := range c {
			rows[next[p.user]] = p.pair
			next[p.user]++
		}
		b.chunks[ci] = nil // free as we go
	}
	b.chunks, b.perUser, next = nil, nil, nil
	d.UserPtr = make([]int64, len(d.Users)+1)
	w := int64(0)
	for u := range d.Users {
		row := rows[ptr[u]:ptr[u+1]]
		slices.SortFunc(row, func(a, b pair) int { return int(a.item) - int(b.item) })
		start := w
		for _, p := range row {
			if w > start && rows[w-1].item == p.item {
				rows[w-1].sig.merge(p.sig)
				continue
			}
			rows[w] = p
			w++
		}
		d.UserPtr[u+1] = w
	}
	n := int(w)
	d.UserItems = make([]int32, n)
	d.Signals = make([]Signal, n)
	itemCount := make([]int64, len(d.Items)+1)
	for k, p := range rows[:n] {
		d.UserItems[k] = p.item
		d.Signals[k] = p.sig
		itemCount[p.item+1]++
	}
	rows = nil
	// By item: counting sort over the user-major pairs keeps users sorted.
	for i := 1; i < len(itemCount); i++ {
		itemCount[i] += itemCount[i-1]
	}
	d.ItemPtr = append([]int64(nil), itemCount...)
	d.ItemUsers = make([]int32, n)
	d.ItemPairs = make([]int64, n)
	next = itemCount[:len(d.Items)]
	for u := range d.Users {
		for k := d.UserPtr[u]; k < d.UserPtr[u+1]; k++ {
			i := d.UserItems[k]
			d.ItemUsers[next[i]] = int32(u)
			d.ItemPairs[next[i]] = k
			next[i]++
		}
	}
	return d
}
