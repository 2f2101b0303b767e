package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/ranking"
)

// panicky is a feed that fails the way a bug would: by panicking.
type panicky struct{}

func (panicky) Feed(context.Context, ranking.FeedRequest) (*ranking.Feed, error) {
	panic("index out of range in a scorer")
}

func (panicky) Similar(context.Context, uint64, int) (*ranking.Similar, error) {
	return nil, nil
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPanic_500WithRequestID_LoggedWithoutPersonalData(t *testing.T) {
	var logs syncBuffer
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: panicky{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	req, _ := http.NewRequest("GET", base+"/v1/feed?user_id=987654321", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
		Detail    string `json:"detail"`
	}
	decodeProblemBody(t, resp, &doc)
	if resp.StatusCode != 500 || doc.Status != 500 || doc.RequestID != "trace-42" || !strings.Contains(doc.Detail, "trace-42") || resp.Header.Get("X-Request-Id") != "trace-42" {
		t.Errorf("panic answered %d %+v, X-Request-Id %q", resp.StatusCode, doc, resp.Header.Get("X-Request-Id"))
	}
	log := logs.String()
	if !strings.Contains(log, "handler panicked") || !strings.Contains(log, "request_id=trace-42") || !strings.Contains(log, "index out of range") {
		t.Errorf("panic not logged with its request id:\n%s", log)
	}
	if !strings.Contains(log, `msg="api: request"`) || !strings.Contains(log, "status=500") {
		t.Errorf("the 500 is not in the access log:\n%s", log)
	}
	if strings.Contains(log, "987654321") {
		t.Errorf("the user id reached the log:\n%s", log)
	}

	// The server lives on; a hostile request id is replaced, not echoed.
	req, _ = http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Request-Id", "evil\"id with spaces")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-Id"); resp.StatusCode != 200 || id == "" || strings.Contains(id, "evil") {
		t.Errorf("after the panic: %d, request id %q", resp.StatusCode, id)
	}
}

func decodeProblemBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
