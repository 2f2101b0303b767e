package ranking

import (
	"os"
	"sync/atomic"
	"unsafe"
)

// Warming the model's memory.
//
// A model is about a gigabyte read at random: each request reads one
// user's vector and history among a million and the neighbour lists of
// its recent products. On a virtual machine whose hypervisor shadows the
// guest's page tables (as on the machines this is measured on), the first
// read of a page after the model is loaded costs about 20 µs, against
// 0.1–0.5 µs once it has been read (measured on the 1M-user benchmark
// model), and a request reads a dozen such pages. Warm reads one byte of
// every page the request path can read, so that a new model, trained or
// loaded, is fast from its first request instead of after minutes of
// traffic. It is not repeated: pages idle for minutes grow slow again as
// the kernel samples them for reclaim (3.8 µs a read after 100 s idle),
// and at 2,000 feeds/s over a million users a page of user vectors is
// read about once a minute, before most of that.

// pageBytes is the stride of a warm: one read per page.
var pageBytes = os.Getpagesize()

// warmSink keeps the reads of Warm from being optimised away.
var warmSink atomic.Uint32

// Warm reads every page of the arrays that serving a feed reads.
func (m *Model) Warm() {
	var sum byte
	d := m.Data
	sum += touchPages(d.Items) + touchPages(d.ItemCategory) + touchPages(d.UserPtr) +
		touchPages(d.UserItems) + touchPages(d.Signals)
	for k := range d.Items {
		if t := d.Items[k].Title; t != "" {
			sum += t[0] // titles are separate allocations
		}
	}
	for _, u := range d.userIndex {
		sum += byte(u)
	}
	for _, i := range d.itemIndex {
		sum += byte(i)
	}
	if f := m.Factors; f != nil {
		sum += touchPages(f.UserCodes) + touchPages(f.UserScale) + touchPages(f.Item)
	}
	if n := m.Neighbours; n != nil {
		sum += touchPages(n.Ptr) + touchPages(n.Items) + touchPages(n.Sims)
	}
	if e := m.EASE; e != nil {
		sum += touchPages(e.Ptr) + touchPages(e.Items) + touchPages(e.Sims)
	}
	if ix := m.Index; ix != nil {
		sum += touchPages(ix.Centroids) + touchPages(ix.cent32) + touchPages(ix.at)
		for c := range ix.Lists {
			sum += touchPages(ix.Lists[c])
			if c < len(ix.vecs) {
				sum += touchPages(ix.vecs[c])
			}
		}
	}
	sum += touchPages(m.item)
	warmSink.Add(uint32(sum))
}

// touchPages reads one byte of every memory page s spans.
func touchPages[T any](s []T) byte {
	if len(s) == 0 {
		return 0
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
	var sum byte
	for i := 0; i < len(b); i += pageBytes {
		sum += b[i]
	}
	return sum + b[len(b)-1]
}
