package sim

import (
	"math"
	"strconv"
	"time"
)

// appendPrice appends a non-negative amount rounded to cents, e.g. 19.99.
func appendPrice(b []byte, v float64) []byte {
	if !(v >= 0 && v < 1e15) {
		return strconv.AppendFloat(b, v, 'f', 2, 64)
	}
	cents := int64(math.Round(v * 100))
	b = strconv.AppendInt(b, cents/100, 10)
	c := cents % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// appendDateTime appends the UTC date and time of a Unix second as
// "2006-01-02T15:04:05" (19 bytes).
func appendDateTime(b []byte, sec int64) []byte {
	days := floorDiv(sec, 86400)
	rem := sec - days*86400
	// Civil-from-days (H. Hinnant), proleptic Gregorian calendar.
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	if y < 0 || y > 9999 {
		return time.Unix(sec, 0).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	}
	hh, mm, ss := rem/3600, rem/60%60, rem%60
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
}

// appendTimestamp appends t as an RFC 3339 UTC timestamp with milliseconds,
// e.g. 2025-03-01T12:00:00.250Z (without quotes).
func appendTimestamp(b []byte, t time.Time) []byte {
	return appendUnixMillis(b, t.UnixMilli())
}

// appendUnixMillis appends Unix milliseconds ms as appendTimestamp does.
func appendUnixMillis(b []byte, ms int64) []byte {
	sec := floorDiv(ms, 1000)
	b = appendDateTime(b, sec)
	return appendMillis(b, ms-sec*1000)
}

func appendMillis(b []byte, ms int64) []byte {
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
