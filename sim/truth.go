package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// WriteTruth writes the world's true parameters to out as one JSON object
// with the fields config, category_popularity, category_prices, users (with
// their full taste vectors), brands, products and influencers.
func (w *World) WriteTruth(out io.Writer) error {
	return writeJSON(out, w)
}

// Truth is the document Generator.WriteTruth writes: the world and the
// lives the generator has scheduled so far.
type Truth struct {
	*World
	Lives []Live `json:"lives"`
}

// WriteTruth writes the world's true parameters (see World.WriteTruth) plus
// a lives field with the lives scheduled so far and their true
// expectations.
func (g *Generator) WriteTruth(out io.Writer) error {
	return writeJSON(out, Truth{World: g.w, Lives: g.lives})
}

func writeJSON(out io.Writer, v any) error {
	bw := bufio.NewWriterSize(out, 1<<16)
	if err := json.NewEncoder(bw).Encode(v); err != nil {
		return fmt.Errorf("sim: write truth: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sim: write truth: %w", err)
	}
	return nil
}
