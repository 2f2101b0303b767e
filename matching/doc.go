// Package matching profiles influencers and brands from the store, predicts
// the GMV of sponsored lives with its uncertainty, ranks influencers per
// brand and plans assignments under budgets and capacities.
package matching
