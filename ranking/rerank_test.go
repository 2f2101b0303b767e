package ranking

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rerankExhaustive is rerank as first written: every step reads every
// candidate, and every candidate's maxSim is updated after every step.
// rerank must give exactly its order.
func rerankExhaustive(cands []cand, depth, limit, maxPerBrand int, lambda float64) []int {
	slots := make([]int, len(cands))
	slotOf := map[uint64]int{}
	for k := range cands {
		j, ok := slotOf[cands[k].brand]
		if !ok {
			j = len(slotOf)
			slotOf[cands[k].brand] = j
		}
		slots[k] = j
	}
	onPage := make([]int, len(slotOf))
	var out []int
	for len(out) < depth && len(out) < len(cands) {
		if len(out)%limit == 0 {
			clear(onPage)
		}
		best, bestV, capped, cappedV := -1, math.Inf(-1), -1, math.Inf(-1)
		for k := range cands {
			c := &cands[k]
			if c.taken {
				continue
			}
			v := lambda*c.rel - (1-lambda)*c.maxSim
			if onPage[slots[k]] >= maxPerBrand {
				if v > cappedV {
					capped, cappedV = k, v
				}
			} else if v > bestV {
				best, bestV = k, v
			}
		}
		if best < 0 {
			best = capped
		}
		c := &cands[best]
		c.taken = true
		out = append(out, best)
		onPage[slots[best]]++
		for k := range cands {
			o := &cands[k]
			if o.taken {
				continue
			}
			sim := 0.0
			if c.cat >= 0 && o.cat == c.cat {
				sim += 0.5
			}
			if slots[k] == slots[best] {
				sim += 0.5
			}
			o.maxSim = max(o.maxSim, sim)
		}
	}
	return out
}

func TestRerank_SameOrderAsExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sc := newScratch(10)
	for trial := range 3000 {
		n := 1 + rng.IntN(200)
		brands, cats := 1+rng.IntN(12), 1+rng.IntN(8)
		cands := make([]cand, n)
		for k := range cands {
			c := &cands[k]
			c.item = int32(k)
			c.brand = uint64(rng.IntN(brands)) * 0x1000_0000_0001 // keys far apart and colliding in low bits
			c.cat = int32(rng.IntN(cats+1)) - 1                   // -1: no category
			c.score = math.Round(rng.Float64()*20) / 20           // ties
		}
		if trial%2 == 0 { // as keepStrongest hands them over: highest first
			sortByScore(cands)
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, c := range cands {
			lo, hi = min(lo, c.score), max(hi, c.score)
		}
		for k := range cands {
			cands[k].rel = 1
			if hi > lo {
				cands[k].rel = (cands[k].score - lo) / (hi - lo)
			}
		}
		limit := 1 + rng.IntN(25)
		depth := min(n, limit*(1+rng.IntN(4)))
		r := &Ranker{cfg: Config{MaxPerBrand: 1 + rng.IntN(4), Relevance: []float64{0.8, 0.5, 1, 0.05}[rng.IntN(4)]}}
		want := rerankExhaustive(clone(cands), depth, limit, r.cfg.MaxPerBrand, r.cfg.Relevance)
		got := r.rerank(cands, depth, limit, sc)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d products, want %d", trial, len(got), len(want))
		}
		for k, c := range got {
			if int(c.item) != want[k] {
				t.Fatalf("trial %d (n %d, depth %d, limit %d, %+v): position %d is candidate %d, want %d", trial, n, depth, limit, r.cfg, k, c.item, want[k])
			}
		}
	}
}

func clone(cands []cand) []cand { return append([]cand(nil), cands...) }

func sortByScore(cands []cand) {
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && cands[j].score > cands[j-1].score; j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	for k := range cands {
		cands[k].item = int32(k)
	}
}

func TestSlotTable_NumbersDistinctKeys(t *testing.T) {
	var tab slotTable
	for _, n := range []int{0, 1, 7, 8, 9, 100, 1000} {
		tab.reset(n)
		seen := map[uint64]int32{}
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		for range 3 * n {
			k := rng.Uint64N(uint64(n)+1) << (rng.IntN(3) * 20)
			got := tab.slot(k)
			if want, ok := seen[k]; ok {
				if got != want {
					t.Fatalf("n %d: key %d numbered %d, then %d", n, k, want, got)
				}
				continue
			}
			if got != int32(len(seen)) {
				t.Fatalf("n %d: new key %d numbered %d, want %d", n, k, got, len(seen))
			}
			seen[k] = got
			if len(seen) == n {
				break // the table is sized for n keys
			}
		}
	}
}
