// Package offline evaluates feed-ranking models on logged interactions, the
// way they would have been used: trained on the past, asked to rank the
// whole catalog for each user, and scored on what the user did next.
//
// Data enters as a Data (interactions sorted by time plus the catalog) read
// from the documented CSV (ReadInteractions), from MovieLens files
// (ReadMovieLens) or from the simulator (Simulate, whose World also knows
// every user's true tastes). Evaluate splits the timeline at several cut
// points (rolling origin); at each one it tunes every Candidate's
// hyper-parameters on the window just before the cut, refits on everything
// before the cut, ranks the full catalog for each warm test user and
// computes NDCG@10, Recall@20, reciprocal rank and catalog coverage. The
// per-user metrics of all cut points are pooled, and bootstrap confidence
// intervals (resampling users) say how sure the means are, and whether a
// model's lead over another is real. A Report leaves as a text table
// (Report.WriteTable) or JSON.
//
// See docs/ranking-eval.md for the CSV format and how to run
// `vetrina eval ranking`.
package offline
