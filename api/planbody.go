package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/vetrina/vetrina/matching"
)

// decodePlanRequest reads a plan request the way the contract describes
// it: one JSON object of known fields. Its errors name what is wrong by
// the contract's field paths (brands[0].brand_id) and JSON types, never by
// Go's types.
func decodePlanRequest(data []byte) (matching.PlanRequest, error) {
	var req matching.PlanRequest
	if len(bytes.TrimSpace(data)) == 0 {
		return req, errors.New(`the body is empty: want a JSON object such as {"brands":[{"brand_id":1,"lives":1}]}`)
	}
	var top map[string]json.RawMessage
	if err := decodeStrict(data, &top, ""); err != nil {
		return req, err
	}
	if top == nil {
		return req, errors.New("the request: want a JSON object, got null")
	}
	var unknown []string
	for k := range top {
		if !slices.Contains(planFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return req, fmt.Errorf("unknown field %q (a plan request has %s)", unknown[0], strings.Join(planFields, ", "))
	}
	if raw, ok := top["objective"]; ok {
		if err := decodeStrict(raw, &req.Objective, "objective"); err != nil {
			return req, err
		}
	}
	if raw, ok := top["commission"]; ok {
		if err := decodeStrict(raw, &req.Commission, "commission"); err != nil {
			return req, err
		}
	}
	var err error
	if req.Brands, err = decodeItems[matching.PlanBrand](top, "brands"); err != nil {
		return req, err
	}
	req.Influencers, err = decodeItems[matching.PlanInfluencer](top, "influencers")
	return req, err
}

// planFields are the members of a plan request, in the contract's order.
var planFields = []string{"objective", "commission", "brands", "influencers"}

// decodeItems decodes the array top[name] item by item, so that an error
// says which item.
func decodeItems[T any](top map[string]json.RawMessage, name string) ([]T, error) {
	raw, ok := top[name]
	if !ok {
		return nil, nil
	}
	var items []json.RawMessage
	if err := decodeStrict(raw, &items, name); err != nil {
		return nil, err
	}
	if items == nil {
		return nil, nil
	}
	out := make([]T, len(items))
	for i, it := range items {
		if err := decodeStrict(it, &out[i], fmt.Sprintf("%s[%d]", name, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeStrict decodes data, one JSON value and nothing after it, into v
// without unknown fields; at is v's path in the request, for errors.
func decodeStrict(data []byte, v any, at string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return nil
		} else if err == nil {
			return fmt.Errorf("unexpected data after the JSON object (at byte %d)", dec.InputOffset())
		}
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("malformed JSON: the body ends early, at byte %d", len(data))
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		path := at
		if typ.Field != "" {
			path = strings.TrimPrefix(at+"."+typ.Field, ".")
		}
		if path == "" {
			path = "the request"
		}
		return fmt.Errorf("%s: want %s, got %s", path, jsonKind(typ.Type), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if at == "" {
			return fmt.Errorf("unknown field %s", name)
		}
		return fmt.Errorf("%s: unknown field %s", at, name)
	}
	return errors.New("malformed JSON")
}

// jsonKind names the JSON value a Go type takes, as the contract does.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an unsigned integer"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a JSON object"
}
