// Package sim is a seeded, reproducible simulator of live-commerce traffic
// for Vetrina. It builds a World of users, brands, products and influencers
// whose true (normally hidden) parameters stay accessible, generates the
// stream those parameters imply (views, chats and purchases, and a live
// message as each live starts and ends, in simulated-time order, encoded per
// the wire contract of package event), and can produce it to Kafka after
// the catalog (brands, products, influencers with their fee).
//
// Everything is deterministic: NewWorld with the same Config builds the same
// world, and NewGenerator with the same world, seed and start time emits
// byte-identical messages. Each entity family is drawn from its own PCG
// stream, so e.g. changing Config.Users does not reshuffle the brands.
//
// # The model
//
// IDs of users, brands, products, influencers and lives are their index in
// the corresponding slice plus one; 0 means "none".
//
// Users have per-category Tastes (summing to 1, concentrated on one to three
// categories) and an Activity: their browsing rate in events per simulated
// hour, log-normal (heavy-tailed) with mean Config.MeanActivity. About 2% of
// users are bots (User.Bot): they never browse or buy, and they are the fake
// viewers of influencers with a non-zero FakeShare.
//
// Products have a latent Appeal (log-normal, mean 1) and a PriceFactor,
// sqrt(reference category price / price) clamped to [0.3, 3], so cheaper
// products of a category convert better. The true preference of user u for
// product p is World.Affinity:
//
//	affinity(u, p) = Tastes_u[category_p] * Appeal_p * PriceFactor_p
//
// Browsing (surfaces feed, search and shop) is a Poisson process per user at
// rate Activity. A browse view picks the surface (feed 55%, search 25%, shop
// 20%), a category from the user's tastes (the feed explores a uniformly
// random category 15% of the time) and a product of that category with
// probability proportional to Appeal*sqrt(PriceFactor). The view leads to a
// purchase with probability min(0.5, 0.014 * surfaceBoost * affinity), where
// surfaceBoost is 0.7 (feed), 1.5 (search) or 1.1 (shop).
//
// Lives start as a Poisson process at Config.LivesPerHour. Each picks an
// influencer uniformly among those not already live, a duration between 30
// and 120 minutes and, with probability Config.SponsoredShare, a sponsor
// brand (weighted towards brands sharing the influencer's categories); a
// sponsored live shows three to eight of the sponsor's products, an organic
// live products of the influencer's categories. The products are showcased
// one after the other in equal time slots. Live views arrive as a Poisson
// process at rate
//
//	Config.LiveViewsPerHour * (Followers / 20000)^0.7
//
// and Live.ExpectedViewers is that rate times the duration. A share
// FakeShare of live views comes from bots; the other viewers are users
// drawn with probability proportional to
//
//	Activity_u * (Tastes_u · AudienceTastes_i)^2 * (1 if same country else 0.3)
//
// A real viewer of product p in a live of influencer i buys with probability
// World.LivePurchaseProb = min(0.5, 0.055 * affinity(u, p) * Skill_i) and
// chats with probability min(0.9, ChatRate_i). Bot viewers never buy; now
// and then they post a burst of 5 to 20 identical messages within seconds.
// Quantities are 1, 2 or 3 with probabilities 0.8, 0.15 and 0.05 (mean
// 1.25). Live.TrueExpectedGMV is the exact expectation of the GMV of the
// purchases the generator attributes to the live, computed from these
// parameters when the live starts. World.NewOracle answers the same
// question for lives that did not happen (Oracle.Live for given products,
// Oracle.SponsoredGMV for a brand and an influencer, averaged over the
// products the generator would draw), with the same code; back-tests use it
// to value plans at their true expected GMV. Purchases follow their view
// by up to a few minutes, so a live's purchases are complete a few minutes
// after it ends.
//
// Each live is also announced in the stream, as a catalog update of kind
// event.KindLive keyed by its ID: a message when it starts (live_id,
// influencer_id, sponsor_brand_id and fee when sponsored, product_ids,
// started_at, updated_at = started_at) and a second version when it ends,
// with ended_at (= updated_at), after its last view and before the chats and
// purchases that trail it. The fee is the influencer's Fee, which
// CatalogMessages also sends as the influencer's rate card. Live messages
// take no random draws and no event IDs, so the events are the same with or
// without them; RunConfig.Count counts events only.
//
// With DefaultConfig the stream has roughly 100 views for 5 chats and 1.5
// purchases, about a third of the views in lives, and advances simulated
// time by about 60 ms per event.
package sim
