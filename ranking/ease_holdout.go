package ranking

import (
	"context"
	"fmt"
	"slices"
)

// EASE settings the holdout chooses between (TrainConfig.ChooseEASE).
var (
	// easeLambdas are the ridge strengths tried, without decay first.
	easeLambdas = []float64{250, 1000, 4000}
	// easeHalfLives are the recency half-lives tried at the best λ, as
	// fractions of the training timeline (0: none).
	easeHalfLives = []float64{0, 0.2}
)

// EASEChoice is one EASE setting judged on the holdout.
type EASEChoice struct {
	Lambda float64
	// HalfLife is the recency half-life as a fraction of the training
	// timeline; 0: no decay.
	HalfLife float64
	// NDCG is EASE alone's NDCG@10 over the whole catalog for the judged
	// holdout users.
	NDCG float64
}

// config returns cfg with c's λ and half-life, the half-life in
// seconds of d's timeline.
func (c EASEChoice) config(cfg EASEConfig, d *Dataset) EASEConfig {
	cfg.Lambda = c.Lambda
	cfg.HalfLife = c.HalfLife * float64(max(d.MaxUnix-d.MinUnix, 1))
	return cfg
}

// chooseEASE fits EASE on d, the data m was trained on (the holdout's
// past, with its by-item arrays), for each setting
// and keeps in m the one whose lists, alone, rank the judge's users' future
// products best (NDCG@10 over the whole catalog, as the evaluation ranks):
// first λ (easeLambdas) without decay, then the half-life (easeHalfLives)
// at the best λ. m.EASE must hold the fit of cfg (the first one judged).
// It returns the choices in the order tried, the kept one first.
func chooseEASE(ctx context.Context, m *Model, d *Dataset, j *judge, cfg EASEConfig, prog Progress) ([]EASEChoice, error) {
	current := EASEChoice{Lambda: cfg.Lambda}
	if cfg.Lambda == 0 {
		current.Lambda = defaultEASELambda
	}
	if cfg.HalfLife > 0 {
		current.HalfLife = cfg.HalfLife / float64(max(d.MaxUnix-d.MinUnix, 1))
	}
	fitted := map[EASEChoice]*EASELists{current: m.EASE}
	alone := fixedCand(HowSingle, Features{FeatEASE: 1})
	var ones Features
	for k := range ones {
		ones[k] = 1
	}
	judgeOne := func(c EASEChoice) (EASEChoice, error) {
		key := EASEChoice{Lambda: c.Lambda, HalfLife: c.HalfLife}
		l, ok := fitted[key]
		if !ok {
			var err error
			if l, err = trainEASELists(ctx, d, c.config(cfg, d)); err != nil {
				return c, fmt.Errorf("EASE λ %g, half-life %g of the timeline: %w", c.Lambda, c.HalfLife, err)
			}
			fitted[key] = l
		}
		m.EASE = l
		c.NDCG = mean(j.perUser(ctx, []judged{alone}, ones, make([]uint8, len(j.users)))[0])
		return c, ctx.Err()
	}
	var tried []EASEChoice
	best := EASEChoice{NDCG: -1}
	steps := len(easeLambdas) + len(easeHalfLives) - 1
	try := func(c EASEChoice) error {
		prog.update("EASE settings", len(tried), steps)
		c, err := judgeOne(c)
		if err != nil {
			return err
		}
		tried = append(tried, c)
		if c.NDCG > best.NDCG {
			best = c
		}
		return nil
	}
	if err := try(current); err != nil {
		return nil, err
	}
	for _, lambda := range easeLambdas {
		if lambda != current.Lambda {
			if err := try(EASEChoice{Lambda: lambda, HalfLife: current.HalfLife}); err != nil {
				return nil, err
			}
		}
	}
	for _, hl := range easeHalfLives { // every λ was tried at current.HalfLife
		if hl != current.HalfLife {
			if err := try(EASEChoice{Lambda: best.Lambda, HalfLife: hl}); err != nil {
				return nil, err
			}
		}
	}
	prog.update("EASE settings", steps, steps)
	m.EASE = fitted[EASEChoice{Lambda: best.Lambda, HalfLife: best.HalfLife}]
	out := []EASEChoice{best}
	for _, c := range tried {
		if c != best {
			out = append(out, c)
		}
	}
	return out, nil
}

// judgeUsersOf returns up to judgeUsers users of the future with products
// that count as positives outside their history, for a judge.
func judgeUsersOf(m *Model, fut Future) []pool {
	var out []pool
	fut.each(m, func(u int32, pos map[int32]bool) bool {
		items, _ := m.Data.UserRow(u)
		for _, i := range items {
			delete(pos, i)
		}
		if len(pos) == 0 {
			return true
		}
		p := pool{u: u, hist: len(items)}
		for i := range pos {
			p.pos = append(p.pos, i)
		}
		slices.Sort(p.pos)
		out = append(out, p)
		return len(out) < judgeUsers
	})
	return out
}
