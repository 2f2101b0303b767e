package offline

import (
	"context"

	"github.com/vetrina/vetrina/ranking"
)

func init() { extraCandidates = append(extraCandidates, BlendCandidate()) }

// BlendCandidate is the served blend: ranking.Train with its blend learned
// on the last 15% of the training timeline (purchase labels when there are
// enough), scored over the whole catalog by Model.ScoreAll, the scoring
// the feed uses before its diversity re-rank.
func BlendCandidate() Candidate {
	return Candidate{
		Name: "blend",
		Grid: Grid(map[string][]float64{"factors": {32, 64}, "alpha": {2, 10}}),
		New: func(p Params) Recommender {
			return &blend{cfg: ranking.TrainConfig{
				ALS: ranking.ALSConfig{
					Factors:    int(p.Get("factors", 64)),
					Alpha:      p.Get("alpha", 4),
					Reg:        p.Get("reg", 0.1),
					Iterations: 8,
					Seed:       1,
				},
				BlendHoldout:  0.15,
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
	m, err := ranking.Train(ctx, train, b.cfg)
	if err != nil {
		return err
	}
	b.m = m
	return nil
}

func (b *blend) Score(u int32, dst []float64) { b.m.ScoreAll(u, dst) }
