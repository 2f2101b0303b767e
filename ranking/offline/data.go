package offline

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vetrina/vetrina/ranking"
)

// Data is an interaction log with its catalog.
type Data struct {
	// Interactions are sorted by time (stable: equal times keep their
	// input order).
	Interactions []ranking.Interaction
	// Items is the catalog: every item of Interactions and possibly more,
	// in order of first appearance. Its position is the item's dense index
	// in every Dataset Evaluate builds.
	Items []ranking.Item
}

// timeRange returns the first and last interaction times (0, 0 when
// empty).
func (d *Data) timeRange() (lo, hi int64) {
	if len(d.Interactions) == 0 {
		return 0, 0
	}
	return d.Interactions[0].Unix, d.Interactions[len(d.Interactions)-1].Unix
}

// Users returns the number of distinct users.
func (d *Data) Users() int {
	seen := make(map[uint64]struct{})
	for _, in := range d.Interactions {
		seen[in.User] = struct{}{}
	}
	return len(seen)
}

// catalog accumulates Items in order of first appearance.
type catalog struct {
	items []ranking.Item
	index map[uint64]int
}

func newCatalog() *catalog { return &catalog{index: map[uint64]int{}} }

func (c *catalog) item(id uint64) *ranking.Item {
	i, ok := c.index[id]
	if !ok {
		i = len(c.items)
		c.index[id] = i
		c.items = append(c.items, ranking.Item{ID: id, InStock: true})
	}
	return &c.items[i]
}

func sortByTime(in []ranking.Interaction) {
	slices.SortStableFunc(in, func(a, b ranking.Interaction) int {
		switch {
		case a.Unix < b.Unix:
			return -1
		case a.Unix > b.Unix:
			return 1
		}
		return 0
	})
}

// CSVHeader is the header line ReadInteractions accepts (and
// WriteInteractions writes).
const CSVHeader = "user_id,item_id,ts,kind,category,price"

// ReadInteractions reads the evaluation CSV: one interaction per line,
//
//	user_id,item_id,ts,kind[,category[,price]]
//
// user_id and item_id are unsigned 64-bit integers; ts is Unix seconds,
// Unix milliseconds (any integer above 1e11) or an RFC 3339 time; kind is
// view, chat or purchase. The optional category and price describe the
// item; a later non-empty value replaces an earlier one. Fields may be
// quoted as in RFC 4180; a first line starting with "user_id" is a header.
// Errors name the line.
func ReadInteractions(r io.Reader) (*Data, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cat := newCatalog()
	var out []ranking.Interaction
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read interactions: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")) == "user_id" {
				continue
			}
		}
		in, category, price, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("read interactions: line %d: %w", line, err)
		}
		it := cat.item(in.Item)
		if category != "" {
			it.Category = category
		}
		if !math.IsNaN(price) {
			it.Price = price
		}
		out = append(out, in)
	}
	sortByTime(out)
	return &Data{Interactions: out, Items: cat.items}, nil
}

// parseRow parses one record; price is NaN when absent.
func parseRow(rec []string) (in ranking.Interaction, category string, price float64, err error) {
	price = math.NaN()
	if len(rec) < 4 || len(rec) > 6 {
		return in, "", price, fmt.Errorf("%d fields, want user_id,item_id,ts,kind[,category[,price]]", len(rec))
	}
	if in.User, err = strconv.ParseUint(strings.TrimSpace(rec[0]), 10, 64); err != nil {
		return in, "", price, fmt.Errorf("user_id %q: want an unsigned integer", rec[0])
	}
	if in.Item, err = strconv.ParseUint(strings.TrimSpace(rec[1]), 10, 64); err != nil {
		return in, "", price, fmt.Errorf("item_id %q: want an unsigned integer", rec[1])
	}
	if in.Unix, err = parseTS(strings.TrimSpace(rec[2])); err != nil {
		return in, "", price, err
	}
	k, ok := ranking.ParseKind(strings.TrimSpace(rec[3]))
	if !ok {
		return in, "", price, fmt.Errorf("kind %q: want view, chat or purchase", rec[3])
	}
	in.Kind = k
	if len(rec) > 4 {
		category = strings.TrimSpace(rec[4])
	}
	if len(rec) > 5 {
		if s := strings.TrimSpace(rec[5]); s != "" {
			p, err := strconv.ParseFloat(s, 64)
			if err != nil || p < 0 || math.IsInf(p, 0) || math.IsNaN(p) {
				return in, "", price, fmt.Errorf("price %q: want a non-negative number", rec[5])
			}
			price = p
		}
	}
	return in, category, price, nil
}

// msThreshold separates Unix milliseconds from Unix seconds: 1e11 seconds
// is the year 5138, 1e11 milliseconds March 1973.
const msThreshold = 1e11

// parseTS parses Unix seconds, Unix milliseconds or RFC 3339 into Unix
// seconds (milliseconds are truncated). Times must lie between 1970 and
// msThreshold seconds (the year 5138), so that the seconds written back
// are not mistaken for milliseconds.
func parseTS(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		if n > msThreshold {
			n /= 1000
		}
	} else {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, fmt.Errorf("ts %q: want Unix seconds, Unix milliseconds or RFC 3339", s)
		}
		n = t.Unix()
	}
	if n <= 0 || n > msThreshold {
		return 0, fmt.Errorf("ts %q: want a time after 1970 and before the year 5138", s)
	}
	return n, nil
}

// WriteInteractions writes d in the format ReadInteractions reads, with a
// header and each row's item category and price from the catalog. Catalog
// items without interactions have no row, so they are not written.
func WriteInteractions(w io.Writer, d *Data) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	byID := make(map[uint64]*ranking.Item, len(d.Items))
	for i := range d.Items {
		byID[d.Items[i].ID] = &d.Items[i]
	}
	if _, err := bw.WriteString(CSVHeader + "\n"); err != nil {
		return fmt.Errorf("write interactions: %w", err)
	}
	rec := make([]string, 6)
	for _, in := range d.Interactions {
		rec[0] = strconv.FormatUint(in.User, 10)
		rec[1] = strconv.FormatUint(in.Item, 10)
		rec[2] = strconv.FormatInt(in.Unix, 10)
		rec[3] = in.Kind.String()
		rec[4], rec[5] = "", ""
		if it := byID[in.Item]; it != nil {
			rec[4] = it.Category
			if it.Price != 0 {
				rec[5] = strconv.FormatFloat(it.Price, 'f', -1, 64)
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write interactions: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write interactions: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write interactions: %w", err)
	}
	return nil
}

// MovieLensPurchaseRating is the lowest MovieLens rating read as a
// purchase (a strong signal); lower ratings are views.
const MovieLensPurchaseRating = 4.0

// ReadMovieLens reads a MovieLens "latest" directory (ml-latest-small and
// its kin): ratings.csv (userId,movieId,rating,timestamp) and movies.csv
// (movieId,title,genres). Every rating is an interaction at its time, a
// purchase if the rating is at least MovieLensPurchaseRating and a view
// otherwise; a movie's first genre is its category ("" for "(no genres
// listed)"). Every movie of movies.csv is in the catalog.
func ReadMovieLens(dir string) (*Data, error) {
	cat := newCatalog()
	if err := readCSVFile(filepath.Join(dir, "movies.csv"), "movieId", func(rec []string) error {
		if len(rec) != 3 {
			return fmt.Errorf("%d fields, want movieId,title,genres", len(rec))
		}
		id, err := strconv.ParseUint(rec[0], 10, 64)
		if err != nil {
			return fmt.Errorf("movieId %q: want an unsigned integer", rec[0])
		}
		genre, _, _ := strings.Cut(rec[2], "|")
		if genre == "(no genres listed)" {
			genre = ""
		}
		cat.item(id).Category = genre
		return nil
	}); err != nil {
		return nil, err
	}
	var out []ranking.Interaction
	if err := readCSVFile(filepath.Join(dir, "ratings.csv"), "userId", func(rec []string) error {
		if len(rec) != 4 {
			return fmt.Errorf("%d fields, want userId,movieId,rating,timestamp", len(rec))
		}
		var in ranking.Interaction
		var err error
		if in.User, err = strconv.ParseUint(rec[0], 10, 64); err != nil {
			return fmt.Errorf("userId %q: want an unsigned integer", rec[0])
		}
		if in.Item, err = strconv.ParseUint(rec[1], 10, 64); err != nil {
			return fmt.Errorf("movieId %q: want an unsigned integer", rec[1])
		}
		rating, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			return fmt.Errorf("rating %q: want a number", rec[2])
		}
		if in.Unix, err = parseTS(rec[3]); err != nil {
			return err
		}
		in.Kind = ranking.View
		if rating >= MovieLensPurchaseRating {
			in.Kind = ranking.Purchase
		}
		cat.item(in.Item)
		out = append(out, in)
		return nil
	}); err != nil {
		return nil, err
	}
	sortByTime(out)
	return &Data{Interactions: out, Items: cat.items}, nil
}

// readCSVFile calls row for every record of a CSV file, skipping a header
// whose first field is header.
func readCSVFile(path, header string, row func(rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if first && strings.TrimPrefix(rec[0], "\ufeff") == header {
			continue
		}
		if err := row(rec); err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("read %s: line %d: %w", path, line, err)
		}
	}
}
