package offline

import (
	"fmt"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ranking"
	"github.com/vetrina/vetrina/sim"
)

// SimStart is the simulated time at which Simulate's traffic starts; fixed
// so that the same seed gives the same data.
var SimStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// Simulate builds the world of cfg and decodes the first events of its
// traffic (generator seeded with seed) into Data: views, chats that name a
// product, and purchases. The catalog is every product of the world. The
// World is returned too: its Affinity is the ground truth the models are
// trying to recover.
func Simulate(seed int64, events int, cfg sim.Config) (*Data, *sim.World, error) {
	w, err := sim.NewWorld(cfg)
	if err != nil {
		return nil, nil, err
	}
	d := &Data{Items: make([]ranking.Item, len(w.Products))}
	for i, p := range w.Products {
		d.Items[i] = ranking.Item{ID: p.ID, Category: p.Category, Brand: p.BrandID, Price: p.Price, InStock: true}
	}
	g := sim.NewGenerator(w, seed, SimStart)
	// The decoder rejects times far from its clock; the simulated clock is
	// the only one that matters here.
	var now time.Time
	dec := event.NewDecoder(event.Limits{Now: func() time.Time { return now }})
	var (
		view event.View
		chat event.Chat
		buy  event.Purchase
	)
	d.Interactions = make([]ranking.Interaction, 0, events)
	for made := 0; made < events; {
		m := g.Next()
		now = m.Time
		if !m.Kind.IsEvent() {
			continue // a live's start or end: no interaction
		}
		made++
		in := ranking.Interaction{Unix: m.Time.Unix()}
		switch m.Kind {
		case event.KindView:
			if err := dec.View(m.Value, &view); err != nil {
				return nil, nil, fmt.Errorf("simulate: decode view: %w", err)
			}
			in.User, in.Item, in.Kind, in.DwellMS = view.UserID, view.ProductID, ranking.View, view.DwellMS
		case event.KindChat:
			if err := dec.Chat(m.Value, &chat); err != nil {
				return nil, nil, fmt.Errorf("simulate: decode chat: %w", err)
			}
			if chat.ProductID == 0 {
				continue
			}
			in.User, in.Item, in.Kind = chat.UserID, chat.ProductID, ranking.Chat
		case event.KindPurchase:
			if err := dec.Purchase(m.Value, &buy); err != nil {
				return nil, nil, fmt.Errorf("simulate: decode purchase: %w", err)
			}
			in.User, in.Item, in.Kind = buy.UserID, buy.ProductID, ranking.Purchase
		default:
			continue
		}
		d.Interactions = append(d.Interactions, in)
	}
	// The generator emits in simulated-time order; sorting is a no-op
	// that keeps the Data invariant explicit.
	sortByTime(d.Interactions)
	return d, w, nil
}
