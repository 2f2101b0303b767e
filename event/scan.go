package event

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a minimal JSON reader for the flat objects of the contract. It
// never allocates except to unescape strings that contain escapes; string
// results alias the input or the scanner's scratch buffer and are valid until
// the next call.
type scanner struct {
	data    []byte
	pos     int
	scratch []byte
	field   string // member being decoded, for error messages
}

func (s *scanner) reset(data []byte) {
	s.data = data
	s.pos = 0
	s.field = ""
}

func (s *scanner) ws() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return // the common case: compact JSON
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) malformed(msg string) *Error {
	return &Error{Reason: ReasonMalformed, Field: s.field, Msg: msg + " at byte " + strconv.Itoa(s.pos)}
}

func (s *scanner) wrongType(want string) *Error {
	return &Error{Reason: ReasonWrongType, Field: s.field, Msg: "want " + want}
}

// inData reports whether b (not empty) lies in the input rather than in
// the scratch buffer.
func (s *scanner) inData(b []byte) bool {
	if len(s.data) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&s.data[0]))
	return p >= lo && p < lo+uintptr(len(s.data))
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// object iterates the members of a top-level object, calling member with
// each key (valid only during the call). member must consume the value.
func (s *scanner) object(member func(key []byte) *Error) *Error {
	if s.peek() != '{' {
		return s.malformed("want a JSON object")
	}
	s.pos++
	if s.peek() == '}' {
		s.pos++
		return s.end()
	}
	for {
		if s.peek() != '"' {
			return s.malformed("want a member name")
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.malformed("want ':'")
		}
		s.pos++
		s.ws()
		s.field = ""
		if err := member(key); err != nil {
			return err
		}
		s.field = ""
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return s.end()
		default:
			return s.malformed("want ',' or '}'")
		}
	}
}

func (s *scanner) end() *Error {
	s.ws()
	if s.pos != len(s.data) {
		return s.malformed("trailing data after the object")
	}
	return nil
}

// isNull consumes a null literal if one is next.
func (s *scanner) isNull() bool {
	s.ws()
	if len(s.data)-s.pos >= 4 && string(s.data[s.pos:s.pos+4]) == "null" {
		s.pos += 4
		return true
	}
	return false
}

// plainASCII marks the bytes a string may hold as they are and that need no
// UTF-8 validation: printable ASCII but the quote and the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns the index of the first byte at or after i that is not
// plainASCII (len(b) if none), eight bytes at a time while it can: a word
// of printable ASCII without a quote or a backslash has no byte below
// 0x20, none at or above 0x80, and none equal to either.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(ones*'"'), x^(ones*'\\')
		special := (x - ones*0x20) | (q - ones) | (bs - ones) | x
		if special&highs != 0 {
			break
		}
	}
	for i < len(b) && plainASCII[b[i]] {
		i++
	}
	return i
}

// rawString reads a string token and returns its unescaped bytes.
func (s *scanner) rawString() ([]byte, *Error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, s.wrongType("a string")
	}
	s.pos++
	start := s.pos
	// Fast path: printable ASCII without escapes (every key and most
	// values) needs neither the checks below nor UTF-8 validation.
	i := plainRun(s.data, start)
	if i < len(s.data) && s.data[i] == '"' {
		s.pos = i + 1
		return s.data[start:i], nil
	}
	s.pos = i
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			out := s.data[start:s.pos]
			s.pos++
			if !utf8.Valid(out) {
				return nil, &Error{Reason: ReasonMalformed, Field: s.field, Msg: "string is not valid UTF-8"}
			}
			return out, nil
		case c == '\\':
			return s.escapedString(start)
		case c < 0x20:
			return nil, s.malformed("control character in string")
		}
		s.pos++
	}
	return nil, s.malformed("unterminated string")
}

func (s *scanner) escapedString(start int) ([]byte, *Error) {
	buf := append(s.scratch[:0], s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			s.scratch = buf
			if !utf8.Valid(buf) {
				return nil, &Error{Reason: ReasonMalformed, Field: s.field, Msg: "string is not valid UTF-8"}
			}
			return buf, nil
		case c < 0x20:
			return nil, s.malformed("control character in string")
		case c != '\\':
			buf = append(buf, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.data) {
			break
		}
		e := s.data[s.pos+1]
		s.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.malformed("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one makes a
				// pair; otherwise r is U+FFFD and the next escape stands alone.
				r2 := rune(-1)
				if r < 0xdc00 && len(s.data)-s.pos >= 2 && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					save := s.pos
					s.pos += 2
					if r2, ok = s.hex4(); !ok || r2 < 0xdc00 || r2 > 0xdfff {
						s.pos, r2 = save, -1
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, s.malformed("bad escape")
		}
	}
	s.scratch = buf
	return nil, s.malformed("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.pos += 4
	return r, true
}

// number returns the raw bytes of a JSON number token, nil if none starts
// here, or an error if the token is not a JSON number (01, +1, .5, 1., 0x1).
func (s *scanner) number() ([]byte, *Error) {
	start := s.pos
	if s.pos < len(s.data) && s.data[s.pos] == '-' {
		s.pos++
	}
	digits := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			s.pos++
			continue
		}
		break
	}
	if s.pos == digits && s.pos == start {
		return nil, nil
	}
	if !validNumber(s.data[start:s.pos]) || (s.pos < len(s.data) && !delimiter(s.data[s.pos])) {
		return nil, s.malformed("bad number")
	}
	return s.data[start:s.pos], nil
}

// validNumber reports whether b is -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := skipDigits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := skipDigits(b, i); j > i {
			i = j
		} else {
			return false
		}
	}
	return i == len(b)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// delimiter reports whether c may follow a scalar value.
func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}

// uint reads an unsigned integer given as a JSON number or a decimal string.
func (s *scanner) uint() (uint64, *Error) {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		str, err := s.rawString()
		if err != nil {
			return 0, err
		}
		return s.parseUint(str)
	}
	if n, ok := s.plainUint(); ok {
		return n, nil
	}
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	if tok == nil {
		if err := s.skip(); err != nil {
			return 0, err
		}
		return 0, s.wrongType("an unsigned integer")
	}
	return s.parseUint(tok)
}

// plainUint reads, in one pass, the common case of an unsigned integer: 1
// to 19 digits, no leading zero unless alone, then a delimiter or the end.
// Anything else (a sign, a fraction, an exponent, 20 digits or more, bad
// input) leaves the position as it was and reports false, for the general
// path and its errors.
func (s *scanner) plainUint() (uint64, bool) {
	b, i := s.data, s.pos
	var n uint64
	for ; i < len(b) && i-s.pos < 19; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		n = n*10 + uint64(d)
	}
	digits := i - s.pos
	if digits == 0 || (digits > 1 && b[s.pos] == '0') || (i < len(b) && !delimiter(b[i])) {
		return 0, false
	}
	s.pos = i
	return n, true
}

func (s *scanner) parseUint(tok []byte) (uint64, *Error) {
	if len(tok) == 0 {
		return 0, s.wrongType("an unsigned integer")
	}
	var n uint64
	for i, c := range tok {
		if c < '0' || c > '9' {
			if i == 0 && c == '-' && len(tok) > 1 {
				return 0, &Error{Reason: ReasonOutOfRange, Field: s.field, Msg: "must not be negative"}
			}
			return 0, s.wrongType("an unsigned integer")
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, &Error{Reason: ReasonOutOfRange, Field: s.field, Msg: "does not fit in 64 bits"}
		}
		n = n*10 + d
	}
	return n, nil
}

// int reads a signed integer JSON number (no strings).
func (s *scanner) int() (int64, *Error) {
	s.ws()
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	if tok == nil {
		if err := s.skip(); err != nil {
			return 0, err
		}
		return 0, s.wrongType("an integer")
	}
	n, perr := strconv.ParseInt(string(tok), 10, 64)
	if perr != nil {
		return 0, s.wrongType("an integer")
	}
	return n, nil
}

// float reads a finite JSON number.
func (s *scanner) float() (float64, *Error) {
	s.ws()
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	if tok == nil {
		if err := s.skip(); err != nil {
			return 0, err
		}
		return 0, s.wrongType("a number")
	}
	f, perr := strconv.ParseFloat(string(tok), 64)
	if perr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, s.wrongType("a finite number")
	}
	return f, nil
}

func (s *scanner) bool() (bool, *Error) {
	s.ws()
	rest := s.data[s.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.pos += 4
		return true, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.pos += 5
		return false, nil
	case len(rest) > 0 && (rest[0] == 't' || rest[0] == 'f'):
		// Not a literal; skip would call bool again, without end.
		return false, s.malformed("bad literal")
	}
	if err := s.skip(); err != nil {
		return false, err
	}
	return false, s.wrongType("true or false")
}

func (s *scanner) string() ([]byte, *Error) {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		return s.rawString()
	}
	if err := s.skip(); err != nil {
		return nil, err
	}
	return nil, s.wrongType("a string")
}

// time reads an RFC 3339 string or integer Unix milliseconds.
func (s *scanner) time() (time.Time, *Error) {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		str, err := s.rawString()
		if err != nil {
			return time.Time{}, err
		}
		t, ok := parseRFC3339(str)
		if !ok {
			return time.Time{}, &Error{Reason: ReasonBadTimestamp, Field: s.field, Msg: "want RFC 3339, e.g. 2026-11-25T16:15:00Z"}
		}
		return t, nil
	}
	tok, err := s.number()
	if err != nil {
		return time.Time{}, err
	}
	if tok == nil {
		if err := s.skip(); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, s.wrongType("an RFC 3339 string or Unix milliseconds")
	}
	ms, perr := strconv.ParseInt(string(tok), 10, 64)
	if perr != nil {
		return time.Time{}, &Error{Reason: ReasonBadTimestamp, Field: s.field, Msg: "want integer Unix milliseconds"}
	}
	return time.UnixMilli(ms).UTC(), nil
}

// strings reads an array of strings, appending copies to dst.
func (s *scanner) strings(dst []string) ([]string, *Error) {
	if s.peek() != '[' {
		if err := s.skip(); err != nil {
			return nil, err
		}
		return nil, s.wrongType("an array of strings")
	}
	s.pos++
	if s.peek() == ']' {
		s.pos++
		return dst, nil
	}
	for {
		str, err := s.string()
		if err != nil {
			return nil, err
		}
		dst = append(dst, string(str))
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return dst, nil
		default:
			return nil, s.malformed("want ',' or ']'")
		}
	}
}

// ids reads an array of positive ids (numbers or decimal strings, as
// uint reads them), appending them to dst.
func (s *scanner) ids(dst []uint64) ([]uint64, *Error) {
	isArray := s.peek() == '['
	start := s.pos
	// Check the syntax of the whole value first: invalid JSON is reported
	// as such even when an element before the fault is wrong too.
	if err := s.skip(); err != nil {
		return nil, err
	}
	if !isArray {
		return nil, s.wrongType("an array of ids")
	}
	s.pos = start + 1
	if s.peek() == ']' {
		s.pos++
		return dst, nil
	}
	for {
		id, err := s.uint()
		if err != nil {
			return nil, err
		}
		if id == 0 {
			return nil, &Error{Reason: ReasonOutOfRange, Field: s.field, Msg: "ids must be positive"}
		}
		dst = append(dst, id)
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return dst, nil
		default:
			return nil, s.malformed("want ',' or ']'")
		}
	}
}

// skip consumes any JSON value, checking its syntax.
func (s *scanner) skip() *Error {
	return s.skipDepth(0)
}

func (s *scanner) skipDepth(depth int) *Error {
	if depth > 64 {
		return s.malformed("nesting too deep")
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.rawString()
		if err != nil && err.Reason == ReasonWrongType {
			return s.malformed("bad string")
		}
		return err
	case c == '{':
		s.pos++
		if s.peek() == '}' {
			s.pos++
			return nil
		}
		for {
			if s.peek() != '"' {
				return s.malformed("want a member name")
			}
			if _, err := s.rawString(); err != nil {
				return err
			}
			if s.peek() != ':' {
				return s.malformed("want ':'")
			}
			s.pos++
			if err := s.skipDepth(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				return nil
			default:
				return s.malformed("want ',' or '}'")
			}
		}
	case c == '[':
		s.pos++
		if s.peek() == ']' {
			s.pos++
			return nil
		}
		for {
			if err := s.skipDepth(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return s.malformed("want ',' or ']'")
			}
		}
	case c == 't' || c == 'f':
		if _, err := s.bool(); err != nil {
			return s.malformed("bad literal")
		}
		return nil
	case c == 'n':
		if !s.isNull() {
			return s.malformed("bad literal")
		}
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		tok, _ := s.number()
		if _, err := strconv.ParseFloat(string(tok), 64); err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return s.malformed("bad number")
			}
		}
		return nil
	default:
		return s.malformed("want a JSON value")
	}
}
