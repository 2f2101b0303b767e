// Package token holds Vetrina's API token files: their format, the hashing
// of tokens, validation, atomic edits and reloading a file while a server
// runs. Servers keep only each token's SHA-256; the token itself is shown
// once, when it is made.
//
// A token file is JSON:
//
//	{"tokens": [{"name": "acme", "sha256": "<64 hex digits>", "scopes": ["brand:42"], "rate": 50}]}
//
// Scopes:
//
//	feed        GET /v1/feed and GET /v1/products/{id}/similar
//	brand:<id>  that brand's ranked influencers, influencer profiles (with
//	            no other brand's sponsored lives) and plans for that brand
//	admin       every route
package token

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The scopes a token may hold.
const (
	ScopeFeed  = "feed"
	ScopeAdmin = "admin"
	// ScopeBrandPrefix starts a brand scope, e.g. "brand:42".
	ScopeBrandPrefix = "brand:"
)

// DefaultRate is the request rate a token gets when its entry names none:
// requests per second, with a burst of twice as many.
const DefaultRate = 100

// MaxRate bounds a token's rate (requests per second). A rate is finite and
// positive (0 in a file means DefaultRate); the burst, twice the rate, is
// at least 1 request, so a token below 0.5 requests per second still gets
// its requests through, one at a time.
const MaxRate = 1_000_000

// Entry is one token in a token file: its SHA-256 (hex), never the token
// itself.
type Entry struct {
	// Name identifies the holder in logs and errors (not secret).
	Name   string   `json:"name"`
	SHA256 string   `json:"sha256"`
	Scopes []string `json:"scopes"`
	// Rate is the token's limit in requests per second (burst: twice as
	// many); 0 means DefaultRate.
	Rate float64 `json:"rate,omitempty"`
}

// File is the document a token file (or $VETRINA_TOKENS_JSON) holds.
type File struct {
	Tokens []Entry `json:"tokens"`
}

// Grant is what a valid entry allows its holder.
type Grant struct {
	Name   string
	Admin  bool
	Feed   bool
	Brands []uint64 // sorted, no duplicates
	Rate   float64  // requests per second, DefaultRate when the entry says 0
	// Burst is how many requests may come at once: twice Rate, at least 1.
	Burst int
}

// Hash is a token's SHA-256.
type Hash [sha256.Size]byte

// Set is a validated token file: the grants by token hash.
type Set struct {
	byHash map[Hash]Grant
}

// Len returns the number of tokens.
func (s *Set) Len() int { return len(s.byHash) }

// All yields every token's hash and grant.
func (s *Set) All() iter.Seq2[Hash, Grant] {
	return func(yield func(Hash, Grant) bool) {
		for h, g := range s.byHash {
			if !yield(h, g) {
				return
			}
		}
	}
}

// Parse reads and validates a token file. Every problem is reported with
// the entry it is in.
func Parse(data []byte) (*Set, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	s := &Set{byHash: make(map[Hash]Grant, len(f.Tokens))}
	names := map[string]bool{}
	for i, e := range f.Tokens {
		where := fmt.Sprintf("tokens[%d] (%q)", i, e.Name)
		if e.Name == "" {
			return nil, fmt.Errorf("tokens[%d]: a name is required", i)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("%s: the name is used twice", where)
		}
		names[e.Name] = true
		var h Hash
		if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s: sha256 must be 64 hex digits (the hash of the token, from `vetrina token`)", where)
		} else {
			copy(h[:], b)
		}
		if _, dup := s.byHash[h]; dup {
			return nil, fmt.Errorf("%s: the same token hash appears twice", where)
		}
		if !(e.Rate >= 0) || math.IsInf(e.Rate, 0) || e.Rate > MaxRate {
			return nil, fmt.Errorf("%s: rate %v: want a number of requests per second above 0 and at most %d (0 or none: the default, %d)", where, e.Rate, MaxRate, DefaultRate)
		}
		g := Grant{Name: e.Name, Rate: e.Rate}
		if g.Rate == 0 {
			g.Rate = DefaultRate
		}
		g.Burst = Burst(g.Rate)
		if len(e.Scopes) == 0 {
			return nil, fmt.Errorf("%s: at least one scope is required (feed, admin or brand:<id>)", where)
		}
		for _, sc := range e.Scopes {
			switch {
			case sc == ScopeFeed:
				g.Feed = true
			case sc == ScopeAdmin:
				g.Admin = true
			case strings.HasPrefix(sc, ScopeBrandPrefix):
				id, err := strconv.ParseUint(strings.TrimPrefix(sc, ScopeBrandPrefix), 10, 64)
				if err != nil || id == 0 {
					return nil, fmt.Errorf("%s: scope %q: a brand id must be a positive integer", where, sc)
				}
				g.Brands = append(g.Brands, id)
			default:
				return nil, fmt.Errorf("%s: unknown scope %q (feed, admin or brand:<id>)", where, sc)
			}
		}
		slices.Sort(g.Brands)
		g.Brands = slices.Compact(g.Brands)
		s.byHash[h] = g
	}
	return s, nil
}

// Burst returns the burst of a token with the given rate: twice the rate,
// rounded up, and at least 1.
func Burst(rate float64) int {
	return int(max(1, math.Ceil(2*min(rate, MaxRate))))
}

// HashOf returns the SHA-256 of a token.
func HashOf(token string) Hash { return sha256.Sum256([]byte(token)) }

// HashHex returns the hex SHA-256 of a token, as token files hold it.
func HashHex(token string) string {
	h := HashOf(token)
	return hex.EncodeToString(h[:])
}

// New returns a new random token: "vt_" and 43 base64url characters (256
// bits).
func New() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return "vt_" + base64.RawURLEncoding.EncodeToString(b)
}

// Read reads and validates the token file at path; the FileInfo is what
// Watch compares later versions with.
func Read(path string) (*Set, os.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("token file: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, nil, fmt.Errorf("token file: %w: this process runs as uid %d; make the file readable to it "+
			"(chmod 0644 is safe: it holds only SHA-256 hashes of the tokens; or chown it to uid %d)", err, os.Getuid(), os.Getuid())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token file: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return s, info, nil
}

// Edit applies edit to the token file at path (an empty one if missing),
// checks that the result parses, and replaces the file atomically with
// mode 0600.
func Edit(path string, edit func(*File) error) error {
	var f File
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("token file: %w", err)
	default:
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("token file %s: %w", path, err)
		}
	}
	if err := edit(&f); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("token file %s: %w", path, err)
	}
	if _, err := Parse(buf.Bytes()); err != nil {
		return fmt.Errorf("token file %s would not parse: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic replaces path with data through a temporary file in the
// same directory and a rename. A new file gets mode 0600; a file that
// exists keeps its mode and, where this process may set it, its owner (an
// operator who made it readable to a server's user keeps it so).
func writeAtomic(path string, data []byte) error {
	mode, uid, gid := fs.FileMode(0o600), -1, -1
	if info, err := os.Stat(path); err == nil {
		mode = info.Mode().Perm()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if uid >= 0 && (uid != os.Getuid() || gid != os.Getgid()) {
		_ = tmp.Chown(uid, gid) // only root may give a file away; else it stays the editor's
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}
