package event

import (
	"math/rand"
	"strconv"
	"testing"
)

// TestPlainRunMatchesTheTable checks the eight-bytes-at-a-time string scan
// against the byte-by-byte table on runs of plain bytes ending in every byte
// value at every position of a word, after every prefix length.
func TestPlainRunMatchesTheTable(t *testing.T) {
	byTable := func(b []byte, i int) int {
		for i < len(b) && plainASCII[b[i]] {
			i++
		}
		return i
	}
	r := rand.New(rand.NewSource(1))
	plain := make([]byte, 0, 40)
	for c := 0x20; c < 0x80; c++ {
		if plainASCII[c] {
			plain = append(plain, byte(c))
		}
	}
	for stop := 0; stop < 256; stop++ {
		for n := 0; n < 24; n++ {
			for start := 0; start < 3; start++ {
				b := make([]byte, start+n+1+r.Intn(9))
				for i := range b {
					b[i] = plain[r.Intn(len(plain))]
				}
				b[start+n] = byte(stop)
				if got, want := plainRun(b, start), byTable(b, start); got != want {
					t.Fatalf("plainRun(%q, %d) = %d, the table gives %d", b, start, got, want)
				}
			}
		}
	}
}

// TestPlainUintMatchesTheGeneralPath checks the one-pass integer reading
// against number and parseUint: the same value where it accepts, and it
// declines (leaving the position) whatever the general path must judge.
func TestPlainUintMatchesTheGeneralPath(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	tails := []string{"", ",", "}", " ", "\n", "]", ".5", "e3", "E+1", "x", "-", "\"", "0"}
	var cases []string
	for _, lit := range []string{"0", "00", "01", "7", "-1", "1844674407370955161", "9999999999999999999",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", ""} {
		for _, tail := range tails {
			cases = append(cases, lit+tail)
		}
	}
	for i := 0; i < 5000; i++ {
		lit := strconv.FormatUint(r.Uint64()>>uint(r.Intn(64)), 10)
		cases = append(cases, lit+tails[r.Intn(len(tails))])
	}
	for _, c := range cases {
		fast := scanner{data: []byte(c)}
		n, ok := fast.plainUint()
		general := scanner{data: []byte(c)}
		tok, err := general.number()
		var want uint64
		var perr *Error
		if err == nil && tok != nil {
			want, perr = general.parseUint(tok)
		}
		switch {
		case !ok && fast.pos != 0:
			t.Fatalf("%q: declined but moved to %d", c, fast.pos)
		case ok && (err != nil || tok == nil || perr != nil):
			t.Fatalf("%q: read %d where the general path fails (%v, %v)", c, n, err, perr)
		case ok && (n != want || fast.pos != general.pos):
			t.Fatalf("%q: read %d up to %d, the general path %d up to %d", c, n, fast.pos, want, general.pos)
		case !ok && err == nil && perr == nil && tok != nil && len(tok) <= 19 && tok[0] != '-' && validNumber(tok) &&
			strconv.FormatUint(want, 10) == string(tok):
			t.Fatalf("%q: declined a plain integer the general path reads as %d", c, want)
		}
	}
}
