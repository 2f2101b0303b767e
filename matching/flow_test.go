package matching

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

type testArc struct {
	from, to, capacity int
	cost               float64
}

// bruteMinCostFlow enumerates every integer flow of a tiny network and
// returns the least cost of one meeting the supplies; ok is false if none
// does.
func bruteMinCostFlow(n int, arcs []testArc, supply []int) (best float64, ok bool) {
	best = math.Inf(1)
	flow := make([]int, len(arcs))
	var rec func(a int)
	rec = func(a int) {
		if a == len(arcs) {
			balance := make([]int, n)
			copy(balance, supply)
			cost := 0.0
			for k, arc := range arcs {
				balance[arc.from] -= flow[k]
				balance[arc.to] += flow[k]
				cost += float64(flow[k]) * arc.cost
			}
			for _, x := range balance {
				if x != 0 {
					return
				}
			}
			if cost < best {
				best, ok = cost, true
			}
			return
		}
		for f := 0; f <= arcs[a].capacity; f++ {
			flow[a] = f
			rec(a + 1)
		}
	}
	rec(0)
	return best, ok
}

func newTestNetwork(n int, arcs []testArc, supply []int) *flowNetwork {
	g := newFlowNetwork(n, len(arcs))
	for _, a := range arcs {
		g.addArc(a.from, a.to, a.capacity, a.cost)
	}
	for v, s := range supply {
		g.addSupply(v, s)
	}
	return g
}

// checkFlow verifies conservation, capacities and non-negative reduced
// costs on residual arcs, and returns the flow's cost.
func checkFlow(t *testing.T, g *flowNetwork, n int, arcs []testArc, supply []int) float64 {
	t.Helper()
	balance := make([]int, n)
	copy(balance, supply)
	for k, a := range arcs {
		f := g.flow(k)
		if f < 0 || f > a.capacity {
			t.Fatalf("arc %d: flow %d outside [0, %d]", k, f, a.capacity)
		}
		balance[a.from] -= f
		balance[a.to] += f
		rc := a.cost + g.potential(a.from) - g.potential(a.to)
		if f < a.capacity && rc < -1e-6 {
			t.Fatalf("arc %d: unsaturated with reduced cost %g", k, rc)
		}
		if f > 0 && rc > 1e-6 {
			t.Fatalf("arc %d: carries flow with reduced cost %g", k, rc)
		}
	}
	for v, x := range balance {
		if x != 0 {
			t.Fatalf("node %d: imbalance %d", v, x)
		}
	}
	return totalCost(g)
}

// totalCost returns Σ flow·cost over all arcs of g.
func totalCost(g *flowNetwork) float64 {
	var c float64
	for a := range g.arcFrom {
		if f := g.flow(a); f > 0 {
			c += float64(f) * g.cost[g.slot[a]]
		}
	}
	return c
}

func TestFlowNetwork_KnownGraphs(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		arcs   []testArc
		supply []int
		want   float64
	}{
		{
			name:   "cheaper of two parallel paths first",
			n:      4,
			arcs:   []testArc{{0, 1, 2, 1}, {0, 2, 2, 3}, {1, 3, 1, 1}, {2, 3, 2, 1}},
			supply: []int{3, 0, 0, -3},
			want:   2 + 4 + 4, // 1 unit via node 1 (cost 2), 2 via node 2 (cost 4 each)
		},
		{
			name: "augmentation reroutes an earlier unit",
			// 2×2 assignment where the greedy first choice must be undone:
			// brand 0 prefers influencer 2, but brand 1 needs it more.
			n: 5,
			arcs: []testArc{
				{0, 2, 1, -10}, {0, 3, 1, -9},
				{1, 2, 1, -10}, {1, 3, 1, -1},
				{2, 4, 1, 0}, {3, 4, 1, 0},
			},
			supply: []int{1, 1, 0, 0, -2},
			want:   -19,
		},
		{
			name:   "negative cycle is cancelled",
			n:      3,
			arcs:   []testArc{{0, 1, 2, 1}, {1, 2, 2, -3}, {2, 0, 1, 1}},
			supply: []int{0, 0, 0},
			want:   -1,
		},
		{
			name:   "no arcs, no supply",
			n:      2,
			supply: []int{0, 0},
			want:   0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestNetwork(tt.n, tt.arcs, tt.supply)
			if err := g.solve(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := checkFlow(t, g, tt.n, tt.arcs, tt.supply); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("cost %g, want %g", got, tt.want)
			}
		})
	}
}

func TestFlowNetwork_Infeasible(t *testing.T) {
	g := newTestNetwork(3, []testArc{{0, 1, 1, 1}, {1, 2, 1, 1}}, []int{2, 0, -2})
	if err := g.solve(context.Background()); !errors.Is(err, errFlowInfeasible) {
		t.Fatalf("err = %v, want errFlowInfeasible", err)
	}
}

// TestFlowNetwork_RandomAgainstBruteForce solves random tiny networks, then
// changes some costs and re-solves from the previous flow (warm start), then
// again after reset (the cold restart the Lagrangian loop uses), comparing
// each with enumeration.
func TestFlowNetwork_RandomAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	solved := 0
	for trial := 0; trial < 400; trial++ {
		n := 3 + rng.IntN(3)
		m := 3 + rng.IntN(5)
		arcs := make([]testArc, m)
		for k := range arcs {
			u := rng.IntN(n)
			v := (u + 1 + rng.IntN(n-1)) % n
			arcs[k] = testArc{u, v, rng.IntN(3), math.Round(rng.Float64()*150-50) / 10}
		}
		supply := make([]int, n)
		for range 1 + rng.IntN(3) {
			supply[rng.IntN(n)]++
			supply[rng.IntN(n)]--
		}
		want, feasible := bruteMinCostFlow(n, arcs, supply)
		g := newTestNetwork(n, arcs, supply)
		err := g.solve(context.Background())
		if !feasible {
			if !errors.Is(err, errFlowInfeasible) {
				t.Fatalf("trial %d: err = %v, want errFlowInfeasible", trial, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if got := checkFlow(t, g, n, arcs, supply); math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: cost %g, want %g (arcs %v, supply %v)", trial, got, want, arcs, supply)
		}
		solved++

		for k := range arcs {
			if rng.IntN(2) == 0 {
				arcs[k].cost = math.Round(rng.Float64()*150-50) / 10
				g.setCost(k, arcs[k].cost)
			}
		}
		want, _ = bruteMinCostFlow(n, arcs, supply)
		if err := g.solve(context.Background()); err != nil {
			t.Fatalf("trial %d, warm start: %v", trial, err)
		}
		if got := checkFlow(t, g, n, arcs, supply); math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d, warm start: cost %g, want %g (arcs %v, supply %v)", trial, got, want, arcs, supply)
		}

		g.reset()
		for k := range arcs {
			if rng.IntN(2) == 0 {
				arcs[k].cost = math.Round(rng.Float64()*150-50) / 10
				g.setCost(k, arcs[k].cost)
			}
		}
		want, _ = bruteMinCostFlow(n, arcs, supply)
		if err := g.solve(context.Background()); err != nil {
			t.Fatalf("trial %d, after reset: %v", trial, err)
		}
		if got := checkFlow(t, g, n, arcs, supply); math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d, after reset: cost %g, want %g (arcs %v, supply %v)", trial, got, want, arcs, supply)
		}
	}
	if solved < 100 {
		t.Fatalf("only %d feasible trials; the generator needs tuning", solved)
	}
}

func TestFlowNetwork_Cancelled(t *testing.T) {
	// A chain of 200 units each needing its own augmentation.
	n := 202
	g := newFlowNetwork(n, 400)
	for v := 1; v <= 200; v++ {
		g.addArc(0, v, 1, float64(v))
		g.addArc(v, n-1, 1, 0)
	}
	g.addSupply(0, 200)
	g.addSupply(n-1, -200)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.solve(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
