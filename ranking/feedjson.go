package ranking

import (
	"math"
	"strconv"

	"github.com/vetrina/vetrina/event"
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
		dst = event.AppendJSONString(dst, f.NextCursor)
	}
	dst = append(dst, `,"personalized":`...)
	dst = strconv.AppendBool(dst, f.Personalized)
	if f.Model != "" {
		dst = append(dst, `,"model":`...)
		dst = event.AppendJSONString(dst, f.Model)
	}
	return append(dst, '}')
}

func (it *FeedItem) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"product_id":`...)
	dst = strconv.AppendUint(dst, it.ProductID, 10)
	if it.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = event.AppendJSONString(dst, it.Title)
	}
	if it.Category != "" {
		dst = append(dst, `,"category":`...)
		dst = event.AppendJSONString(dst, it.Category)
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
	dst = event.AppendJSONString(dst, it.Reason)
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
