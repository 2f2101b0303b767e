package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDecode is the package's only fuzz target (the Makefile runs
// `-fuzz FuzzDecode`, which must match exactly one). kind selects the
// message kind (modulo the number of kinds). It checks that:
//   - nothing panics;
//   - errors are *Error with a known Reason, a message, and a Field that is
//     empty or a field of the kind;
//   - we never accept what encoding/json says is not valid JSON;
//   - an accepted message re-encoded with encoding/json decodes to the same
//     value, and its fields agree with encoding/json's own reading of data;
//   - a Decoder that has seen other messages decodes like a fresh one.
func FuzzDecode(f *testing.F) {
	for _, c := range validCases() {
		f.Add(uint8(c.kind), []byte(c.data))
	}
	// A sample of the bad cases: all of them (~3500) would make the
	// baseline-coverage phase eat most of the Makefile's 10s fuzz time.
	for i, c := range badCases() {
		if i%7 == 0 && len(c.data) < 1024 {
			f.Add(uint8(c.kind), []byte(c.data))
		}
	}
	used := testDecoder() // shared across inputs, to catch state leaking between calls
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		k := Kinds[int(kind)%len(Kinds)]
		got, err := decodeAs(testDecoder(), k, data)
		got2, err2 := decodeAs(used, k, data)
		if (err == nil) != (err2 == nil) || (err != nil && *err.(*Error) != *err2.(*Error)) {
			t.Fatalf("fresh decoder: %v; used decoder: %v", err, err2)
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e == nil {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if !knownReasons[e.Reason] {
				t.Fatalf("unknown reason %q in %v", e.Reason, err)
			}
			if e.Field != "" && !knownField(k, e.Field) {
				t.Fatalf("field %q is not a %s field: %v", e.Field, k, err)
			}
			if e.Msg == "" {
				t.Fatalf("no message: %#v", e)
			}
			return
		}
		if ok, diff := sameEvent(got, got2); !ok {
			t.Fatalf("fresh and used decoders differ: %s", diff)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q as %+v", data, got)
		}
		enc, merr := json.Marshal(got)
		if merr != nil {
			t.Fatalf("encoding/json cannot marshal %+v: %v", got, merr)
		}
		again, err := decodeAs(testDecoder(), k, enc)
		if err != nil {
			t.Fatalf("accepted %q as %+v, but not its re-encoding %s: %v", data, got, enc, err)
		}
		if ok, diff := sameEvent(got, again); !ok {
			t.Fatalf("round trip of %q via %s: %s", data, enc, diff)
		}
		agreeWithStdlib(t, k, data, got)
	})
}

// agreeWithStdlib decodes data with encoding/json into a generic map and
// checks each field of the kind against our decoded value v.
func agreeWithStdlib(t *testing.T, k Kind, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("accepted %q, which encoding/json cannot read as an object: %v", data, err)
	}
	rv := reflect.ValueOf(v).Elem()
	for _, f := range schema[k] {
		raw, present := m[f.name]
		if f.required() && (!present || raw == nil) {
			t.Fatalf("accepted %q without required field %s", data, f.name)
		}
		if raw == nil {
			continue // absent, or null (which does not reset an earlier duplicate everywhere)
		}
		ours := fieldByTag(rv, f.name)
		bad := func() {
			t.Helper()
			t.Fatalf("%s: decoded %#v, encoding/json reads %#v, from %q", f.name, ours, raw, data)
		}
		switch f.typ {
		case tStr, tNEStr, tCur, tSurface:
			if s, ok := raw.(string); !ok || s != ours.(string) {
				bad()
			}
		case tID, tOptID, tUint, tDwell:
			var n uint64
			switch x := raw.(type) {
			case json.Number:
				n = parseU64(x.String(), bad)
			case string:
				n = parseU64(x, bad)
			default:
				bad()
			}
			var o uint64
			if u, ok := ours.(uint64); ok {
				o = u
			} else {
				o = uint64(ours.(uint32))
			}
			if n != o {
				bad()
			}
		case tQty:
			x, ok := raw.(json.Number)
			if !ok {
				bad()
			}
			if n, err := strconv.ParseInt(x.String(), 10, 64); err != nil || n != int64(ours.(uint32)) {
				bad()
			}
		case tMoney, tOptFee:
			x, ok := raw.(json.Number)
			if !ok {
				bad()
			}
			if n, err := strconv.ParseFloat(x.String(), 64); err != nil || n != ours.(float64) {
				bad()
			}
		case tBool:
			if b, ok := raw.(bool); !ok || b != ours.(bool) {
				bad()
			}
		case tTime, tOptTime:
			switch x := raw.(type) {
			case json.Number:
				n, err := strconv.ParseInt(x.String(), 10, 64)
				if err != nil || !time.UnixMilli(n).Equal(ours.(time.Time)) {
					bad()
				}
			case string:
				// We also accept a space or lower-case t/z; compare what
				// the standard library can parse.
				if want, err := time.Parse(time.RFC3339Nano, x); err == nil && !want.Equal(ours.(time.Time)) {
					bad()
				} else if err != nil && !strings.ContainsAny(x, " tz") {
					bad()
				}
			default:
				bad()
			}
		case tStrs:
			xs, ok := raw.([]any)
			got := ours.([]string)
			if !ok || len(xs) != len(got) {
				bad()
			}
			for i, x := range xs {
				if s, ok := x.(string); !ok || s != got[i] {
					bad()
				}
			}
		case tOptIDs:
			xs, ok := raw.([]any)
			got := ours.([]uint64)
			if !ok || len(xs) != len(got) {
				bad()
			}
			for i, x := range xs {
				var n uint64
				switch x := x.(type) {
				case json.Number:
					n = parseU64(x.String(), bad)
				case string:
					n = parseU64(x, bad)
				default:
					bad()
				}
				if n == 0 || n != got[i] {
					bad()
				}
			}
		default:
			t.Fatalf("unknown field type %s", f.typ)
		}
	}
}

func parseU64(s string, bad func()) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		bad()
	}
	return n
}

func fieldByTag(rv reflect.Value, name string) any {
	for i := 0; i < rv.NumField(); i++ {
		tag, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		if tag == name {
			return rv.Field(i).Interface()
		}
	}
	panic("no field " + name)
}
