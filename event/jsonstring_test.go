package event

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonStringCases are strings whose encoding has traps.
var jsonStringCases = []string{
	"",
	"plain",
	`is this the "limited" edition?`,
	`back\slash \\ and \"`,
	"tab\tnew\nline\rret",
	"\b\f\x00\x01\x1f\x7f",
	"<script>alert(1)</script> & &amp; <b>",
	"café 😍 ❤️ ünïcødé ✓ 🛍",
	"sep\u2028par\u2029 \u2027\u202a",
	"bad \xff byte", "bad \xff\xfe utf8", "é\xc3", "\xc3", "\xe2\x80", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 too big",
	"\xc0\xaf overlong",
	"\ufffd real replacement char",
	"\U0010ffff last rune",
	`\u0041 is not an escape here`,
	"</script><!--",
}

// checkJSONString checks AppendJSONString(s) against encoding/json: the
// same bytes as json.Marshal, and valid JSON that decodes to what
// encoding/json decodes from its own output (invalid UTF-8 as U+FFFD).
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got := AppendJSONString([]byte("prefix"), s)
	if !strings.HasPrefix(string(got), "prefix") {
		t.Fatalf("AppendJSONString(%q) lost dst: %q", s, got)
	}
	got = got[len("prefix"):]
	if string(got) != string(want) {
		t.Errorf("AppendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
	}
	if !json.Valid(got) {
		t.Errorf("AppendJSONString(%q) = %s is not valid JSON", s, got)
		return
	}
	var back, wantBack string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Errorf("AppendJSONString(%q): %v", s, err)
	}
	if err := json.Unmarshal(want, &wantBack); err != nil {
		t.Fatal(err)
	}
	if back != wantBack {
		t.Errorf("AppendJSONString(%q) decodes to %q, encoding/json's output to %q", s, back, wantBack)
	}
	if want := replaceInvalidUTF8(s); back != want {
		t.Errorf("AppendJSONString(%q) decodes to %q, want %q", s, back, want)
	}
}

// replaceInvalidUTF8 replaces each byte of s that is not part of valid
// UTF-8 by U+FFFD, as encoding/json does.
func replaceInvalidUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStringCases {
		checkJSONString(t, s)
	}
	// Every byte alone and amid text, and every rune around the ones that
	// are escaped.
	for c := range 256 {
		checkJSONString(t, string([]byte{byte(c)}))
		checkJSONString(t, "a"+string([]byte{byte(c)})+"z")
	}
	for r := rune(0x2000); r < 0x2100; r++ {
		checkJSONString(t, "x"+string(r)+"y")
	}
	// Random mixes of the traps.
	pieces := []string{"a", "é", "😍", `"`, `\`, "\n", "\b", "\x00", "\x1f", "\x7f", "<", ">", "&", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "\ufffd", "plain text "}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 5000 {
		b.Reset()
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkJSONString(t, b.String())
	}
}

// TestAppendJSONStringNoAlloc: with room in dst, encoding allocates
// nothing (the API's feed encoder relies on it).
func TestAppendJSONStringNoAlloc(t *testing.T) {
	dst := make([]byte, 0, 1024)
	for _, s := range jsonStringCases {
		if n := testing.AllocsPerRun(100, func() { dst = AppendJSONString(dst[:0], s) }); n != 0 {
			t.Errorf("AppendJSONString(%q) allocates %v times", s, n)
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii", "Maison Lumière Linen Shirt, relaxed fit, size M"},
		{"escapes", `a "quoted" <title> & more\n` + "\t\x01"},
		{"unicode", "café 😍 ❤️ ünïcødé ✓ 🛍 Gemütlichkeit"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				dst = AppendJSONString(dst[:0], bc.s)
			}
		})
	}
}
