// Package ranking decides which products each user sees in the feed.
//
// Data enters two ways. In batch, Train builds a Model from a Dataset of
// per-(user, product) interaction aggregates (read from ClickHouse by the
// store, or from a CSV for offline evaluation): implicit ALS factors
// (TrainALS), item-item neighbours (BuildNeighbours), time-decayed trending
// per category (BuildTrending), Beta-smoothed conversion rates with category
// priors (BuildConversion), an inverted-file index over the item factors for
// fast retrieval, and the weights of the blend that scores candidates. A
// Model is immutable; the Ranker swaps it atomically and can save and load it
// as a snapshot. In real time, the Ranker's Sessions hold each user's recent
// events (from the event topics, see Follower) and Lives the lives on air, so
// that a view changes the user's next feed: the user vector is folded in from
// training history plus session events (one K×K solve).
//
// A feed request goes candidates → score → re-rank: candidates are the
// user's nearest items by the folded vector, neighbours of the recent items,
// trending items of the user's categories, products in lives on air and a
// few fresh products; each is scored by the blend of its features (see
// Features); the list is re-ranked for diversity (maximal marginal
// relevance over category and brand, at most MaxPerBrand per page), bought
// and out-of-stock products are removed, and each product gets a short
// reason. Unknown users and an untrained ranker get a non-personal feed,
// never an error.
package ranking
