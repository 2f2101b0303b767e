package offline

import (
	"context"
	"math"
	"slices"
	"sync"

	"github.com/vetrina/vetrina/ranking"
)

// BuyAgainCandidate ranks first the products the user bought before, by
// how due a restock is (ranking.Repurchase.Due: the category's repurchase
// rate and interval, learned from the training data), then everything
// else by popularity. It measures, with Config.Repeats, what offering
// bought products again is worth. Params "window" (a fraction of the
// training timeline, tuned) makes the popularity recent, as in
// recent-popularity.
func BuyAgainCandidate(quick bool) Candidate {
	windows := []float64{0.03, 0.1, 0.3}
	if quick {
		windows = []float64{0.1}
	}
	return Candidate{
		Name: "buy-again",
		Grid: Grid(map[string][]float64{"window": windows}),
		New:  func(p Params) Recommender { return &buyAgain{pop: &recentPopularity{window: p.Get("window", 0.1)}} },
	}
}

type buyAgain struct {
	pop   *recentPopularity
	train *ranking.Dataset
	rep   *ranking.Repurchase
	now   int64
	top   float64
}

func (b *buyAgain) Fit(ctx context.Context, train *ranking.Dataset, now int64) error {
	if err := b.pop.Fit(ctx, train, now); err != nil {
		return err
	}
	b.train, b.now = train, now
	b.rep = ranking.BuildRepurchase(train)
	b.top = 1 + slices.Max(append(slices.Clone(b.pop.score), 0))
	return nil
}

func (b *buyAgain) Score(u int32, dst []float64) {
	for j, s := range b.pop.score {
		dst[j] = s / b.top // below 1
	}
	items, sigs := b.train.UserRow(u)
	for k, i := range items {
		if due := b.rep.Due(b.train.ItemCategory[i], sigs[k], b.now); due > 0 {
			dst[i] = 1 + due
		}
	}
}

// RestockCandidate is the served blend with restock slots: the products
// the user bought whose restock is due (Repurchase.Due at least Params
// "due", tuned), at most RestockSlots of them, come first, most due
// first, then the blend's ranking of
// everything the user has not touched; the rest of the history is left
// out, as the feed leaves it out. This is what the feed would do if it
// offered bought consumables again under a "time to restock" reason. The
// blend is the served one with alpha 2, learned (what its tuning mostly
// picks), fitted once per training set for all settings of "due".
func RestockCandidate(quick bool) Candidate {
	dues := []float64{0.05, 0.1, 0.2, 0.4}
	if quick {
		dues = []float64{0.1}
	}
	b := BlendCandidate()
	var mu sync.Mutex
	var last struct {
		train *ranking.Dataset
		now   int64
		b     *blend
	}
	fit := func(ctx context.Context, train *ranking.Dataset, now int64) (*blend, error) {
		mu.Lock()
		defer mu.Unlock()
		if last.train == train && last.now == now {
			return last.b, nil
		}
		bl := b.New(Params{"alpha": 2, "learn": 1}).(*blend)
		if err := bl.Fit(ctx, train, now); err != nil {
			return nil, err
		}
		last.train, last.now, last.b = train, now, bl
		return bl, nil
	}
	return Candidate{
		Name: "blend+restock",
		Grid: Grid(map[string][]float64{"due": dues}),
		New: func(p Params) Recommender {
			return &restock{fit: fit, due: p.Get("due", 0.1)}
		},
	}
}

type restock struct {
	*blend
	fit   func(context.Context, *ranking.Dataset, int64) (*blend, error)
	due   float64
	train *ranking.Dataset
	rep   *ranking.Repurchase
	now   int64
}

func (r *restock) Fit(ctx context.Context, train *ranking.Dataset, now int64) error {
	b, err := r.fit(ctx, train, now)
	if err != nil {
		return err
	}
	r.blend, r.train, r.now = b, train, now
	r.rep = ranking.BuildRepurchase(train)
	return nil
}

func (r *restock) Score(u int32, dst []float64) {
	r.blend.Score(u, dst)
	items, sigs := r.train.UserRow(u)
	var due []float64
	for k, i := range items {
		dst[i] = math.Inf(-1)
		if x := r.rep.Due(r.train.ItemCategory[i], sigs[k], r.now); x >= r.due {
			due = append(due, x)
		}
	}
	// As the feed: at most RestockSlots, the most due.
	slices.Sort(due)
	floor := math.Inf(-1)
	if len(due) > RestockSlots {
		floor = due[len(due)-RestockSlots]
	}
	for k, i := range items {
		if x := r.rep.Due(r.train.ItemCategory[i], sigs[k], r.now); x >= r.due && x >= floor {
			dst[i] = 1e9 + x
		}
	}
}

// RestockSlots is how many bought products the feed offers again at most
// (ranking's maxRestock).
const RestockSlots = 3

// withoutHistory makes c rank the user's history last, as the feed leaves
// it out: for evaluations that count items bought again.
func withoutHistory(c Candidate) Candidate {
	inner := c.New
	c.New = func(p Params) Recommender { return &noHistory{inner: inner(p)} }
	return c
}

type noHistory struct {
	inner Recommender
	train *ranking.Dataset
}

func (n *noHistory) Fit(ctx context.Context, train *ranking.Dataset, now int64) error {
	n.train = train
	return n.inner.Fit(ctx, train, now)
}

func (n *noHistory) Score(u int32, dst []float64) {
	n.inner.Score(u, dst)
	items, _ := n.train.UserRow(u)
	for _, i := range items {
		dst[i] = math.Inf(-1)
	}
}

// Explain passes the blend's explanation on.
func (n *noHistory) Explain() (string, []Weight) {
	if e, ok := n.inner.(Explainer); ok {
		return e.Explain()
	}
	return "", nil
}
