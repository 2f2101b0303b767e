package sim

import (
	"strconv"
	"time"

	"github.com/vetrina/vetrina/event"
)

// Messages are carved from slabs of slabSize bytes; maxEncoded bounds the
// size of an encoded event plus its key.
const (
	slabSize   = 64 << 10
	maxEncoded = 1 << 10
)

// emit encodes p as the next message.
func (g *Generator) emit(p *pending) Message {
	if p.kind == event.KindLive {
		return g.emitLive(p)
	}
	g.seq++
	g.now = p.t
	// Encode straight into the slab; a message that does not fit in what is
	// left of it would only make append move it to a fresh array.
	if cap(g.slab)-len(g.slab) < maxEncoded {
		g.slab = make([]byte, 0, slabSize)
	}
	off := len(g.slab)
	b := append(g.slab, `{"event_id":"`...)
	b = append(b, g.idPrefix...)
	b = strconv.AppendUint(b, g.seq, 36)
	b = append(b, `","ts":"`...)
	b = g.appendTS(b, p.t)
	switch p.kind {
	case event.KindView:
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"product_id":`...)
		b = strconv.AppendUint(b, p.product, 10)
		if p.live != 0 {
			b = append(b, `,"influencer_id":`...)
			b = strconv.AppendUint(b, p.infl, 10)
			b = append(b, `,"live_id":`...)
			b = strconv.AppendUint(b, p.live, 10)
		}
		b = append(b, `,"surface":"`...)
		b = append(b, surfaceName(p.surface)...)
		b = append(b, `","dwell_ms":`...)
		b = strconv.AppendUint(b, uint64(p.dwell), 10)
	case event.KindChat:
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"live_id":`...)
		b = strconv.AppendUint(b, p.live, 10)
		b = append(b, `,"influencer_id":`...)
		b = strconv.AppendUint(b, p.infl, 10)
		if p.product != 0 {
			b = append(b, `,"product_id":`...)
			b = strconv.AppendUint(b, p.product, 10)
		}
		b = append(b, `,"text":`...)
		b = append(b, g.texts[p.text]...)
	case event.KindPurchase:
		b = append(b, `","order_id":"`...)
		b = append(b, g.orderPrefix...)
		b = strconv.AppendUint(b, g.seq, 36)
		b = append(b, `","user_id":`...)
		b = strconv.AppendUint(b, p.user, 10)
		b = append(b, `,"product_id":`...)
		b = strconv.AppendUint(b, p.product, 10)
		if p.live != 0 {
			b = append(b, `,"influencer_id":`...)
			b = strconv.AppendUint(b, p.infl, 10)
			b = append(b, `,"live_id":`...)
			b = strconv.AppendUint(b, p.live, 10)
		}
		b = append(b, `,"quantity":`...)
		b = strconv.AppendUint(b, uint64(p.qty), 10)
		b = append(b, `,"unit_price":`...)
		b = appendPrice(b, g.w.Products[p.product-1].Price)
		b = append(b, `,"currency":"`+Currency+`"`...)
	}
	b = append(b, '}')
	value := b[off:len(b):len(b)]
	off = len(b)
	b = strconv.AppendUint(b, p.user, 10)
	key := b[off:len(b):len(b)]
	g.slab = b
	ms := g.millis(p.t)
	return Message{Kind: p.kind, Key: key, Value: value, Time: time.UnixMilli(ms).UTC()}
}

// emitLive encodes the live message p: the live's start, or (p.ended) a
// new version of it with ended_at. Lives are rare; their messages get
// their own small buffers.
func (g *Generator) emitLive(p *pending) Message {
	g.now = p.t
	l := &g.lives[p.live-1]
	ms := g.millis(p.t)
	if p.ended {
		// On the wall clock, which may step back, the end must still not
		// precede the start.
		ms = max(ms, g.liveStartMS[p.live-1])
	} else {
		g.liveStartMS[p.live-1] = ms
	}
	b := make([]byte, 0, 160+21*len(l.ProductIDs))
	b = append(b, `{"live_id":`...)
	b = strconv.AppendUint(b, l.ID, 10)
	b = append(b, `,"influencer_id":`...)
	b = strconv.AppendUint(b, l.InfluencerID, 10)
	if l.SponsorBrandID != 0 {
		b = append(b, `,"sponsor_brand_id":`...)
		b = strconv.AppendUint(b, l.SponsorBrandID, 10)
		b = append(b, `,"fee":`...)
		b = appendPrice(b, l.Fee)
	}
	b = append(b, `,"product_ids":[`...)
	for i, id := range l.ProductIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	b = append(b, `],"started_at":"`...)
	b = appendUnixMillis(b, g.liveStartMS[p.live-1])
	if p.ended {
		b = append(b, `","ended_at":"`...)
		b = appendUnixMillis(b, ms)
	}
	b = append(b, `","updated_at":"`...)
	b = appendUnixMillis(b, ms)
	b = append(b, `"}`...)
	return Message{Kind: event.KindLive, Key: strconv.AppendUint(nil, l.ID, 10), Value: b, Time: time.UnixMilli(ms).UTC()}
}

// appendTS appends the RFC 3339 millisecond UTC timestamp of simulated
// time t, caching the date and time of the current second.
func (g *Generator) appendTS(b []byte, t int64) []byte {
	ms := g.millis(t)
	sec := floorDiv(ms, 1000)
	if sec != g.tsSec {
		g.tsSec = sec
		g.tsDate = appendDateTime(g.tsDate[:0], sec)
	}
	b = append(b, g.tsDate...)
	return appendMillis(b, ms-sec*1000)
}

func surfaceName(s event.Surface) string {
	switch s {
	case event.SurfaceFeed:
		return "feed"
	case event.SurfaceLive:
		return "live"
	case event.SurfaceSearch:
		return "search"
	default:
		return "shop"
	}
}
