package ranking

import (
	"strconv"
	"strings"
	"testing"
)

// TestStrArena_StringsSurviveNewChunks makes more strings than a chunk
// holds and checks every one afterwards: a full chunk is left to the
// strings made in it, never written again.
func TestStrArena_StringsSurviveNewChunks(t *testing.T) {
	var a strArena
	var got, want []string
	long := strings.Repeat("x", arenaChunk+5) // larger than a chunk
	for k := range 200 {
		title := "item " + strconv.Itoa(k)
		got = append(got, a.concat("because you viewed ", title), a.concatID("because you bought ", "product ", uint64(k)))
		want = append(want, "because you viewed "+title, "because you bought product "+strconv.Itoa(k))
		if k == 100 {
			got, want = append(got, a.concat(long, "!")), append(want, long+"!")
		}
	}
	for k := range got {
		if got[k] != want[k] {
			t.Fatalf("string %d is %q, want %q", k, got[k], want[k])
		}
	}
	if s := a.concat("", ""); s != "" {
		t.Errorf("empty concat %q", s)
	}
}
