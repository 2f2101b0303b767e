package ranking

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends f as JSON to dst: the same document encoding/json
// writes (field names, omitempty, number forms), without reflection, for
// the hottest response of the API.
func (f *Feed) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"user_id":`...)
	dst = strconv.AppendUint(dst, f.UserID, 10)
	dst = append(dst, `,"items":[`...)
	for k := range f.Items {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = f.Items[k].appendJSON(dst)
	}
	dst = append(dst, ']')
	if f.NextCursor != "" {
		dst = append(dst, `,"next_cursor":`...)
		dst = appendJSONString(dst, f.NextCursor)
	}
	dst = append(dst, `,"personalized":`...)
	dst = strconv.AppendBool(dst, f.Personalized)
	if f.Model != "" {
		dst = append(dst, `,"model":`...)
		dst = appendJSONString(dst, f.Model)
	}
	return append(dst, '}')
}

func (it *FeedItem) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"product_id":`...)
	dst = strconv.AppendUint(dst, it.ProductID, 10)
	if it.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = appendJSONString(dst, it.Title)
	}
	if it.Category != "" {
		dst = append(dst, `,"category":`...)
		dst = appendJSONString(dst, it.Category)
	}
	if it.BrandID != 0 {
		dst = append(dst, `,"brand_id":`...)
		dst = strconv.AppendUint(dst, it.BrandID, 10)
	}
	if it.Price != 0 {
		dst = append(dst, `,"price":`...)
		dst = appendJSONFloat(dst, it.Price)
	}
	dst = append(dst, `,"score":`...)
	dst = appendJSONFloat(dst, it.Score)
	dst = append(dst, `,"reason":`...)
	dst = appendJSONString(dst, it.Reason)
	return append(dst, '}')
}

// appendJSONFloat writes v as encoding/json does; a value JSON cannot
// hold (NaN, ±Inf) is written as 0.
func appendJSONFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, '0')
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string: quotes, backslashes and
// control characters escaped, <, > and & escaped as encoding/json does for
// HTML safety, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
