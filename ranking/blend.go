package ranking

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// The features of a (user, product) pair that the blend weighs.
const (
	// FeatFactor is x·y: the user's (folded-in) ALS vector against the
	// product's.
	FeatFactor = iota
	// FeatNeighbour is Σ sim(h, p)·0.85^rank(h) over the user's 20 most
	// recent products h: item neighbours of what the user just did.
	FeatNeighbour
	// FeatTrending is log(1 + trending score) of the product (half-life
	// TrainConfig.TrendingHalfLife, default 72h).
	FeatTrending
	// FeatRecent is log(1 + trending score) with the short half-life
	// TrainConfig.RecentHalfLife (default 3h): what is hot right now, e.g.
	// in lives.
	FeatRecent
	// FeatCategory is the share of the user's interaction strength that
	// falls in the product's category.
	FeatCategory
	// FeatConversion is log(conversion rate / catalog mean rate), the rate
	// Beta-smoothed towards the category prior.
	FeatConversion
	// FeatEASE is Σ Value(h)·B[h, p] over the user's 100 most recent
	// products h: EASE's item-item weights (TrainEASE), from each head
	// product's strongest weights (Model.EASE).
	FeatEASE
	// FeatPopularity is log(1 + distinct users) of the product over the
	// training data: plain popularity, the baseline the blend must not
	// lose to.
	FeatPopularity
	// FeatSeason is log(1 + strength of the product's interactions in the
	// weeks ahead of this date one year ago) (ItemStats.Season): the
	// seasonal peak a year's data has seen; 0 with less than a year.
	FeatSeason
	// NumFeatures is the number of features.
	NumFeatures
)

// FeatureNames name the features in documentation and metrics.
var FeatureNames = [NumFeatures]string{"factor", "neighbour", "trending", "recent", "category", "conversion", "ease", "popularity", "season"}

// Features holds one pair's features.
type Features [NumFeatures]float64

// Blend scores a pair as Bias + Σ Weights·Features, plus LiveBoost for a
// product shown in a live on air now. Weights are in units of each
// feature's standard deviation (equal blends) or learned (LearnBlend), so
// LiveBoost 1 is worth about one standard deviation of a feature.
type Blend struct {
	Weights   Features
	Bias      float64
	LiveBoost float64
	// Learned says the weights were fitted (LearnBlend), not defaults.
	Learned bool
	// Scale is each feature's standard deviation over candidate pools
	// (0 if unknown): Weights[k]·Scale[k] is how far feature k moves a
	// score, comparable across features (Shares).
	Scale Features
	// How says how learned weights were chosen (HowFitted, HowSegments,
	// HowEqual, HowSingle, HowPrior); "" when not learned.
	How string
	// Long, when LongFrom > 0, replaces Weights for users with at least
	// LongFrom products in their history (HowSegments).
	Long     Features
	LongFrom int
	// EASE lists the EASE settings the holdout judged, the one the model
	// uses first (nil: EASE's settings were given, TrainConfig.ChooseEASE off).
	EASE []EASEChoice
}

// isZero reports whether b is the zero Blend: none given.
func (b *Blend) isZero() bool {
	c := *b
	c.EASE = nil
	return len(b.EASE) == 0 && reflect.ValueOf(c).IsZero()
}

// For returns the weights for a user with hist products in their history.
func (b *Blend) For(hist int) *Features {
	if b.LongFrom > 0 && hist >= b.LongFrom {
		return &b.Long
	}
	return &b.Weights
}

// ScoreWith returns Bias + w·f.
func (b *Blend) ScoreWith(w, f *Features) float64 {
	s := b.Bias
	for k, x := range w {
		s += x * f[k]
	}
	return s
}

// Shares returns each feature's standardised weight w[k]·Scale[k] as a
// share of their absolute sum (signed; all 0 without Scale), for weights
// w (b.Weights or b.Long).
func (b *Blend) Shares(w *Features) Features {
	var s Features
	total := 0.0
	for k := range NumFeatures {
		s[k] = w[k] * b.Scale[k]
		total += math.Abs(s[k])
	}
	if total > 0 {
		for k := range s {
			s[k] /= total
		}
	}
	return s
}

// Score returns the blended score of f.
func (b *Blend) Score(f *Features) float64 {
	s := b.Bias
	for k, w := range b.Weights {
		s += w * f[k]
	}
	return s
}

// blendWire is how a snapshot stores a Blend: the weights by feature name,
// so that a model with other features reads it (names it does not know are
// dropped, features the snapshot does not name weigh 0).
type blendWire struct {
	Names     []string
	Weights   []float64
	Scale     []float64
	Long      []float64
	LongFrom  int
	How       string
	Bias      float64
	LiveBoost float64
	Learned   bool
}

// GobEncode implements gob.GobEncoder.
func (b Blend) GobEncode() ([]byte, error) {
	w := blendWire{Names: FeatureNames[:], Weights: b.Weights[:], Scale: b.Scale[:], Long: b.Long[:], LongFrom: b.LongFrom, How: b.How,
		Bias: b.Bias, LiveBoost: b.LiveBoost, Learned: b.Learned}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, fmt.Errorf("encode blend: %w", err)
	}
	return buf.Bytes(), nil
}

// GobDecode implements gob.GobDecoder.
func (b *Blend) GobDecode(data []byte) error {
	var w blendWire
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return fmt.Errorf("decode blend: %w", err)
	}
	n := len(w.Names)
	if len(w.Weights) != n || (len(w.Scale) != 0 && len(w.Scale) != n) || (len(w.Long) != 0 && len(w.Long) != n) {
		return fmt.Errorf("decode blend: %d names, %d weights, %d scales, %d long", n, len(w.Weights), len(w.Scale), len(w.Long))
	}
	*b = Blend{Bias: w.Bias, LiveBoost: w.LiveBoost, Learned: w.Learned, How: w.How, LongFrom: w.LongFrom}
	for k, name := range w.Names {
		if j := slices.Index(FeatureNames[:], name); j >= 0 {
			b.Weights[j] = w.Weights[k]
			if len(w.Scale) > 0 {
				b.Scale[j] = w.Scale[k]
			}
			if len(w.Long) > 0 {
				b.Long[j] = w.Long[k]
			}
		}
	}
	return nil
}

// ErrNoExamples is returned by LearnBlend when positives or negatives are
// missing.
var ErrNoExamples = errors.New("ranking: blend needs positive and negative examples")

// LearnBlend fits the blend as an L2-regularised logistic regression of
// label on features with gonum/optimize (L-BFGS). Features are standardised
// for the fit and the weights mapped back, so that l2 treats them alike.
func LearnBlend(x []Features, label []bool, l2 float64) (Blend, error) {
	n := len(x)
	if n != len(label) {
		return Blend{}, fmt.Errorf("learn blend: %d examples, %d labels", n, len(label))
	}
	pos := 0
	for _, l := range label {
		if l {
			pos++
		}
	}
	if pos == 0 || pos == n {
		return Blend{}, fmt.Errorf("learn blend on %d examples with %d positive: %w", n, pos, ErrNoExamples)
	}
	var mean, std Features
	col := make([]float64, n)
	for k := range NumFeatures {
		for i := range x {
			col[i] = x[i][k]
		}
		m, v := stat.MeanVariance(col, nil)
		mean[k], std[k] = m, math.Sqrt(v)
		if std[k] < 1e-12 {
			std[k] = 0 // constant feature: weight stays 0
		}
	}
	z := func(i, k int) float64 {
		if std[k] == 0 {
			return 0
		}
		return (x[i][k] - mean[k]) / std[k]
	}
	// Positives are rare: weigh classes equally so the fit is not just the
	// bias.
	wPos, wNeg := 0.5/float64(pos), 0.5/float64(n-pos)
	p := optimize.Problem{
		Func: func(w []float64) float64 {
			loss := 0.0
			for i := range n {
				s := w[NumFeatures]
				for k := range NumFeatures {
					s += w[k] * z(i, k)
				}
				if label[i] {
					loss += wPos * softplus(-s)
				} else {
					loss += wNeg * softplus(s)
				}
			}
			for k := range NumFeatures {
				loss += 0.5 * l2 * w[k] * w[k]
			}
			return loss
		},
		Grad: func(g, w []float64) {
			clear(g)
			for i := range n {
				s := w[NumFeatures]
				for k := range NumFeatures {
					s += w[k] * z(i, k)
				}
				var d float64
				if label[i] {
					d = -wPos * sigmoid(-s)
				} else {
					d = wNeg * sigmoid(s)
				}
				for k := range NumFeatures {
					g[k] += d * z(i, k)
				}
				g[NumFeatures] += d
			}
			for k := range NumFeatures {
				g[k] += l2 * w[k]
			}
		},
	}
	res, err := optimize.Minimize(p, make([]float64, NumFeatures+1), &optimize.Settings{}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return Blend{}, fmt.Errorf("learn blend: %w", err)
	}
	b := Blend{Bias: res.X[NumFeatures], LiveBoost: 1, Learned: true}
	for k := range NumFeatures {
		if std[k] == 0 {
			continue
		}
		b.Weights[k] = res.X[k] / std[k]
		b.Bias -= res.X[k] * mean[k] / std[k]
	}
	return b, nil
}

func sigmoid(s float64) float64 { return 1 / (1 + math.Exp(-s)) }

// softplus is log(1+e^s) without overflow.
func softplus(s float64) float64 {
	if s > 30 {
		return s
	}
	return math.Log1p(math.Exp(s))
}
