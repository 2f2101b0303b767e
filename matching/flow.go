package matching

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// errFlowInfeasible is returned by flowNetwork.solve when no flow meets the
// supplies.
var errFlowInfeasible = errors.New("supplies cannot be met")

// flowReducedCostTol is the reduced cost below which a residual arc counts as
// violating optimality after costs change. Smaller negative reduced costs are
// rounding noise and are read as zero by Dijkstra.
const flowReducedCostTol = 1e-9

// flowNetwork is a min-cost flow network with integer arc capacities, float64
// arc costs and integer node supplies (positive at sources, negative at
// sinks). solve finds a flow that meets every supply at minimum total cost.
//
// The algorithm is successive shortest paths on a pseudo-flow (Ahuja,
// Magnanti and Orlin, Network Flows, ch. 9): node potentials keep every
// residual arc's reduced cost non-negative, so each augmenting path is found
// by Dijkstra (a 4-ary heap with decrease-key). A search starts at one node
// with excess and stops as soon as no node in the heap is nearer than the
// nearest deficit node seen; only the settled nodes' potentials move. Initial
// potentials come from Bellman-Ford, so negative arc costs (values to
// maximise) need no flow pushed on them; if the network has a negative
// cycle, the negative arcs are saturated instead.
//
// In the b-matching of Solve, a cold solve from the zero flow is cheap: every
// search starts at a brand and ends at the sink, which is the only deficit
// and is never expanded, so it settles about a dozen nodes. The network can
// also be re-solved from its current flow after setCost (arcs whose reduced
// cost became negative are saturated or emptied and only that imbalance is
// routed), but there the sink is a hub in the middle of the paths and each
// search settled thousands of nodes: measured at 1000 brands × 10000
// influencers, the warm start was ten times slower than reset and a cold
// solve, so Solve resets.
//
// Arcs are added first; the residual graph is laid out in compressed rows on
// the first solve and the topology is fixed afterwards. The zero value is not
// usable; call newFlowNetwork.
type flowNetwork struct {
	n int

	// Arcs in the order added.
	arcFrom, arcTo []int32
	arcCap         []int32
	arcCost        []float64
	supply         []int64

	// Residual graph in compressed rows: slots start[v]..start[v+1]-1 are the
	// residual arcs leaving v. slot[a] is the slot of added arc a; its
	// reverse is rev[slot[a]].
	built bool
	start []int32
	head  []int32
	rev   []int32
	res   []int32
	cost  []float64
	slot  []int32

	excess []int64
	pot    []float64
	dirty  []int32 // arcs whose cost changed since the last solve
	cold   bool    // the next solve starts from the zero flow

	// Dijkstra scratch, reused across searches; stamp[v] == gen marks dist[v]
	// as set in the current search.
	dist    []float64
	parent  []int32 // slot of the arc that reached v
	stamp   []uint32
	settled []uint32
	gen     uint32
	heap    []int32
	hpos    []int32
	touched []int32
}

// newFlowNetwork returns a network of n nodes numbered 0..n-1, without arcs,
// with room for arcHint arcs.
func newFlowNetwork(n, arcHint int) *flowNetwork {
	return &flowNetwork{
		n:       n,
		supply:  make([]int64, n),
		arcFrom: make([]int32, 0, arcHint),
		arcTo:   make([]int32, 0, arcHint),
		arcCap:  make([]int32, 0, arcHint),
		arcCost: make([]float64, 0, arcHint),
	}
}

// addArc adds an arc from → to with the given capacity and cost per unit and
// returns its index for setCost and flow. It panics after the first solve.
func (g *flowNetwork) addArc(from, to, capacity int, cost float64) int {
	if g.built {
		panic("matching: flowNetwork.addArc after solve")
	}
	g.arcFrom = append(g.arcFrom, int32(from))
	g.arcTo = append(g.arcTo, int32(to))
	g.arcCap = append(g.arcCap, int32(capacity))
	g.arcCost = append(g.arcCost, cost)
	return len(g.arcFrom) - 1
}

// addSupply adds s units of supply at v (negative for demand). It panics
// after the first solve.
func (g *flowNetwork) addSupply(v, s int) {
	if g.built {
		panic("matching: flowNetwork.addSupply after solve")
	}
	g.supply[v] += int64(s)
}

// setCost changes the cost of arc a; the flow is kept and the next solve
// restores optimality from it (unless reset is called first).
func (g *flowNetwork) setCost(a int, cost float64) {
	if !g.built {
		g.arcCost[a] = cost
		return
	}
	s := g.slot[a]
	if g.cost[s] == cost {
		return
	}
	g.cost[s] = cost
	g.cost[g.rev[s]] = -cost
	g.dirty = append(g.dirty, int32(a))
}

// reset drops the flow, keeping the costs, so that the next solve starts
// from the zero flow instead of repairing the current one.
func (g *flowNetwork) reset() {
	if !g.built {
		return
	}
	for a, s := range g.slot {
		g.res[s] = g.arcCap[a]
		g.res[g.rev[s]] = 0
	}
	copy(g.excess, g.supply)
	clear(g.pot)
	g.cold = true
}

// flow returns the flow on arc a.
func (g *flowNetwork) flow(a int) int {
	if !g.built {
		return 0
	}
	return int(g.res[g.rev[g.slot[a]]])
}

// potential returns the node potential of v after solve: the reduced cost
// cost(u,v) + potential(u) - potential(v) of every residual arc is
// non-negative, so potentials are the node prices of an optimal dual.
func (g *flowNetwork) potential(v int) float64 {
	if !g.built {
		return 0
	}
	return g.pot[v]
}

// build lays the residual graph out in compressed rows.
func (g *flowNetwork) build() {
	n := g.n
	m := len(g.arcFrom)
	g.start = make([]int32, n+1)
	for a := 0; a < m; a++ {
		g.start[g.arcFrom[a]+1]++
		g.start[g.arcTo[a]+1]++
	}
	for v := 0; v < n; v++ {
		g.start[v+1] += g.start[v]
	}
	fill := make([]int32, n)
	copy(fill, g.start[:n])
	g.head = make([]int32, 2*m)
	g.rev = make([]int32, 2*m)
	g.res = make([]int32, 2*m)
	g.cost = make([]float64, 2*m)
	g.slot = make([]int32, m)
	for a := 0; a < m; a++ {
		u, v := g.arcFrom[a], g.arcTo[a]
		su, sv := fill[u], fill[v]
		fill[u]++
		fill[v]++
		g.head[su], g.head[sv] = v, u
		g.rev[su], g.rev[sv] = sv, su
		g.res[su] = g.arcCap[a]
		g.cost[su], g.cost[sv] = g.arcCost[a], -g.arcCost[a]
		g.slot[a] = su
	}
	g.excess = make([]int64, n)
	copy(g.excess, g.supply)
	g.pot = make([]float64, n)
	g.dist = make([]float64, n)
	g.parent = make([]int32, n)
	g.stamp = make([]uint32, n)
	g.settled = make([]uint32, n)
	g.hpos = make([]int32, n)
	for v := range g.hpos {
		g.hpos[v] = -1
	}
	// The input arrays are no longer needed except for resets.
	g.arcTo, g.arcCost = nil, nil
	g.built = true
}

// solve computes a minimum cost flow meeting all supplies, starting from the
// current flow (zero on the first call).
func (g *flowNetwork) solve(ctx context.Context) error {
	if !g.built {
		g.build()
		g.cold = true
	}
	if g.cold {
		g.cold = false
		g.dirty = g.dirty[:0]
		if !g.initPotentials() {
			// A negative cycle: no potentials exist for the empty flow.
			// Saturating every negative arc instead makes all residual
			// reduced costs non-negative at zero potentials.
			clear(g.pot)
			g.dirty = g.dirty[:0]
			for a := range g.slot {
				g.dirty = append(g.dirty, int32(a))
			}
		}
	}
	g.restoreOptimality()
	var searches int
	for s := 0; s < g.n; s++ {
		for g.excess[s] > 0 {
			if searches++; searches&63 == 0 {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("min-cost flow after %d augmentations: %w", searches, err)
				}
			}
			t := g.shortestPath(s)
			if t < 0 {
				return fmt.Errorf("min-cost flow from node %d: %w", s, errFlowInfeasible)
			}
			g.augment(s, t)
		}
	}
	return nil
}

// initPotentials sets potentials to shortest distances from a virtual root
// joined to every node by a zero-cost arc (Bellman-Ford with a queue), so
// that negative-cost arcs get non-negative reduced costs without pushing flow
// on them. On layered graphs such as a b-matching it converges in a few
// passes. It reports false if the network has a negative cycle.
func (g *flowNetwork) initPotentials() bool {
	n := g.n
	// A ring of n slots suffices: a node is queued at most once at a time.
	queue := make([]int32, n)
	inQueue := make([]bool, n)
	relaxed := make([]int32, n)
	for v := range queue {
		queue[v] = int32(v)
		inQueue[v] = true
	}
	head, size := 0, n
	for size > 0 {
		u := queue[head]
		head = (head + 1) % n
		size--
		inQueue[u] = false
		pu := g.pot[u]
		for s := g.start[u]; s < g.start[u+1]; s++ {
			if g.res[s] == 0 {
				continue
			}
			v := g.head[s]
			if d := pu + g.cost[s]; d < g.pot[v]-flowReducedCostTol {
				g.pot[v] = d
				if relaxed[v]++; int(relaxed[v]) > n {
					return false
				}
				if !inQueue[v] {
					inQueue[v] = true
					queue[(head+size)%n] = v
					size++
				}
			}
		}
	}
	return true
}

// restoreOptimality saturates every residual arc among the changed ones
// whose reduced cost became negative, moving their flow change into node
// imbalances for solve to route.
func (g *flowNetwork) restoreOptimality() {
	for _, a := range g.dirty {
		for _, s := range [2]int32{g.slot[a], g.rev[g.slot[a]]} {
			if g.res[s] == 0 {
				continue
			}
			r := g.rev[s]
			u, v := g.head[r], g.head[s]
			if g.cost[s]+g.pot[u]-g.pot[v] >= -flowReducedCostTol {
				continue
			}
			f := g.res[s]
			g.res[s] = 0
			g.res[r] += f
			g.excess[u] -= int64(f)
			g.excess[v] += int64(f)
		}
	}
	g.dirty = g.dirty[:0]
}

// shortestPath runs Dijkstra on reduced costs from s until it settles a node
// with a deficit, which it returns (-1 if none is reachable). It then moves
// the potentials of the settled nodes so that reduced costs stay
// non-negative and the path found has reduced cost zero.
func (g *flowNetwork) shortestPath(s int) int {
	g.gen++
	if g.gen == 0 {
		clear(g.stamp)
		clear(g.settled)
		g.gen = 1
	}
	gen := g.gen
	g.touched = g.touched[:0]
	g.heap = g.heap[:0]
	g.stamp[s] = gen
	g.dist[s] = 0
	g.parent[s] = -1
	g.heapPush(int32(s))
	// target is the nearest deficit node seen so far. The search stops as
	// soon as no node in the heap is strictly nearer: stopping on ties
	// matters, because zero reduced costs along the current flow make wide
	// plateaus of equally distant nodes.
	target, targetDist := -1, math.Inf(1)
	for len(g.heap) > 0 && g.dist[g.heap[0]] < targetDist {
		u := g.heapPop()
		g.settled[u] = gen
		g.touched = append(g.touched, u)
		du, pu := g.dist[u], g.pot[u]
		for e := g.start[u]; e < g.start[u+1]; e++ {
			if g.res[e] == 0 {
				continue
			}
			v := g.head[e]
			if g.settled[v] == gen {
				continue
			}
			rc := g.cost[e] + pu - g.pot[v]
			if rc < 0 {
				rc = 0
			}
			d := du + rc
			if g.stamp[v] != gen {
				g.stamp[v] = gen
				g.dist[v] = d
				g.parent[v] = e
				g.heapPush(v)
			} else if d < g.dist[v] {
				g.dist[v] = d
				g.parent[v] = e
				g.heapUp(g.hpos[v])
			} else {
				continue
			}
			if g.excess[v] < 0 && d < targetDist {
				target, targetDist = int(v), d
			}
		}
	}
	for _, v := range g.heap {
		g.hpos[v] = -1
	}
	if target < 0 {
		return -1
	}
	dt := g.dist[target]
	for _, v := range g.touched {
		g.pot[v] += g.dist[v] - dt
	}
	return target
}

// augment pushes as much flow as the path to t found by shortestPath, the
// excess at s and the deficit at t allow.
func (g *flowNetwork) augment(s, t int) {
	f := g.excess[s]
	if -g.excess[t] < f {
		f = -g.excess[t]
	}
	for v := int32(t); v != int32(s); {
		e := g.parent[v]
		if int64(g.res[e]) < f {
			f = int64(g.res[e])
		}
		v = g.head[g.rev[e]]
	}
	for v := int32(t); v != int32(s); {
		e := g.parent[v]
		g.res[e] -= int32(f)
		g.res[g.rev[e]] += int32(f)
		v = g.head[g.rev[e]]
	}
	g.excess[s] -= f
	g.excess[t] += f
}

// The heap is a 4-ary min-heap of nodes keyed by dist, with positions in hpos
// for decrease-key; four children per node halve the depth of a binary heap
// and keep siblings in one cache line.

func (g *flowNetwork) heapPush(v int32) {
	g.heap = append(g.heap, v)
	g.hpos[v] = int32(len(g.heap) - 1)
	g.heapUp(int32(len(g.heap) - 1))
}

func (g *flowNetwork) heapUp(i int32) {
	h := g.heap
	v := h[i]
	d := g.dist[v]
	for i > 0 {
		p := (i - 1) / 4
		if g.dist[h[p]] <= d {
			break
		}
		h[i] = h[p]
		g.hpos[h[i]] = i
		i = p
	}
	h[i] = v
	g.hpos[v] = i
}

func (g *flowNetwork) heapPop() int32 {
	h := g.heap
	top := h[0]
	g.hpos[top] = -1
	last := h[len(h)-1]
	h = h[:len(h)-1]
	g.heap = h
	if len(h) == 0 {
		return top
	}
	n := int32(len(h))
	d := g.dist[last]
	i := int32(0)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best, bd := c, g.dist[h[c]]
		end := c + 4
		if end > n {
			end = n
		}
		for j := c + 1; j < end; j++ {
			if dj := g.dist[h[j]]; dj < bd {
				best, bd = j, dj
			}
		}
		if bd >= d {
			break
		}
		h[i] = h[best]
		g.hpos[h[i]] = i
		i = best
	}
	h[i] = last
	g.hpos[last] = i
	return top
}
