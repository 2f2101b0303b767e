package sim

import (
	"github.com/vetrina/vetrina/event"
)

// pending is an event decided but not yet emitted.
type pending struct {
	t       int64  // nanoseconds since the generator start
	order   uint64 // tie-breaker: push order
	user    uint64
	product uint64
	infl    uint64
	live    uint64
	dwell   uint32
	text    uint16
	kind    event.Kind
	surface event.Surface
	qty     uint8
	ended   bool // a live message: the live's end (else its start)
}

// push adds p to the queue of pending events.
func (g *Generator) push(p pending) {
	g.order++
	p.order = g.order
	g.queue = append(g.queue, p)
	q := g.queue
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q[i].before(&q[parent]) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// pop removes and returns the earliest pending event.
func (g *Generator) pop() pending {
	q := g.queue
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(&q[l]) {
			m = r
		}
		if !q[m].before(&q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	g.queue = q
	return top
}

func (p *pending) before(o *pending) bool {
	return p.t < o.t || (p.t == o.t && p.order < o.order)
}
