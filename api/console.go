package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"

	"strings"
	"time"

	"github.com/vetrina/vetrina/api/token"
)

// The brand console: a static page (HTML, CSS and vanilla JavaScript, no
// build step, no external URL) served at /console/. The page holds no data:
// it asks for an API token, keeps it in the tab's sessionStorage and calls
// the JSON API with it, so the API's scopes are what protect the data.
//
//go:embed console
var consoleFS embed.FS

// consoleAsset is one embedded file with what its answer needs.
type consoleAsset struct {
	body  []byte
	ctype string
	etag  string
}

// consoleAssets are the console's files by name ("" is index.html).
var consoleAssets = func() map[string]consoleAsset {
	out := map[string]consoleAsset{}
	entries, err := fs.ReadDir(consoleFS, "console")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := consoleFS.ReadFile("console/" + e.Name())
		if err != nil {
			panic(err)
		}
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = consoleAsset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	out[""] = out["index.html"]
	return out
}()

// consoleCSP allows the page its own scripts, styles and API calls only.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// console serves GET /console/ and the console's assets under it.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/console/")
	a, ok := consoleAssets[name]
	if !ok || strings.Contains(name, "/") {
		problem(w, r, http.StatusNotFound, "not found", "the console has no file "+strconv.Quote(name)+"; open /console/")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	// Revalidated on every load (a 304 when unchanged): a new server's
	// console is never mixed with an old one's cached script.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "" || name == "index.html" {
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// Me is the body of GET /v1/me: who the token is and what it may see.
type Me struct {
	// Name is the token's holder, as its token entry names it.
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Admin tokens see every brand; Brands lists the brands of a brand
	// token's scopes (empty for feed and admin tokens).
	Admin  bool     `json:"admin"`
	Brands []uint64 `json:"brands"`
}

// me serves GET /v1/me. With authentication off there is no token: the
// caller is an anonymous admin.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p == nil {
		s.writeJSON(w, r, http.StatusOK, Me{Name: "anonymous (authentication off)", Scopes: []string{token.ScopeAdmin}, Admin: true, Brands: []uint64{}})
		return
	}
	out := Me{Name: p.Name, Scopes: []string{}, Admin: p.Admin, Brands: append([]uint64{}, p.Brands...)}
	if sc := p.scopes(); sc != "" {
		out.Scopes = strings.Split(sc, ", ")
	}
	s.writeJSON(w, r, http.StatusOK, out)
}
