package event

import (
	"encoding/json"
	"testing"
)

// Typical messages, as producers write them.
var (
	benchView = []byte(`{"event_id":"01HZX3K4Q8V2M7N5P6R9S0T1U2","ts":"2026-05-01T10:00:00.123Z","user_id":18734112,` +
		`"product_id":99812345,"influencer_id":4412,"live_id":90817,"surface":"live","dwell_ms":3500}`)
	benchPurchase = []byte(`{"event_id":"01HZX3K4Q8V2M7N5P6R9S0T1U3","ts":"2026-05-01T10:00:01.456Z","order_id":"ORD-2026-000123456",` +
		`"user_id":18734112,"product_id":99812345,"influencer_id":4412,"live_id":90817,"quantity":2,"unit_price":19.99,"currency":"EUR"}`)
)

func BenchmarkDecodeView(b *testing.B) {
	d := testDecoder()
	var v View
	b.ReportAllocs()
	b.SetBytes(int64(len(benchView)))
	for b.Loop() {
		if err := d.View(benchView, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeViewStdlib is the baseline: encoding/json into the same
// struct, without any validation.
func BenchmarkDecodeViewStdlib(b *testing.B) {
	var v View
	b.ReportAllocs()
	b.SetBytes(int64(len(benchView)))
	for b.Loop() {
		v = View{}
		if err := json.Unmarshal(benchView, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePurchase(b *testing.B) {
	d := testDecoder()
	var p Purchase
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPurchase)))
	for b.Loop() {
		if err := d.Purchase(benchPurchase, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePurchaseStdlib(b *testing.B) {
	var p Purchase
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPurchase)))
	for b.Loop() {
		p = Purchase{}
		if err := json.Unmarshal(benchPurchase, &p); err != nil {
			b.Fatal(err)
		}
	}
}
