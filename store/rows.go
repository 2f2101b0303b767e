package store

import (
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/vetrina/vetrina/event"
)

// Table is one of the tables the ingester writes.
type Table uint8

// The tables written by the ingester. Catalog kinds land in *_versions
// tables; the views products, brands, influencers and lives read the
// latest.
const (
	TableViews Table = iota
	TableChats
	TablePurchases
	TableProductVersions
	TableBrandVersions
	TableInfluencerVersions
	TableLiveVersions
	TableDeadLetters
)

var tableDefs = []struct {
	name    string
	columns []string
}{
	TableViews:              {"views", []string{"event_id", "ts", "ts_ms", "user_id", "product_id", "influencer_id", "live_id", "surface", "dwell_ms"}},
	TableChats:              {"chats", []string{"event_id", "ts", "ts_ms", "user_id", "live_id", "influencer_id", "product_id", "text"}},
	TablePurchases:          {"purchases", []string{"event_id", "ts", "ts_ms", "order_id", "user_id", "product_id", "influencer_id", "live_id", "quantity", "unit_price", "currency"}},
	TableProductVersions:    {"product_versions", []string{"product_id", "brand_id", "category", "title", "price", "currency", "in_stock", "updated_at"}},
	TableBrandVersions:      {"brand_versions", []string{"brand_id", "name", "country", "updated_at"}},
	TableInfluencerVersions: {"influencer_versions", []string{"influencer_id", "handle", "followers", "country", "categories", "fee", "updated_at"}},
	TableLiveVersions:       {"live_versions", []string{"live_id", "influencer_id", "sponsor_brand_id", "fee", "product_ids", "started_at", "ended_at", "updated_at"}},
	TableDeadLetters:        {"dead_letters", []string{"topic", "payload", "reason", "error"}},
}

// TableFor returns the table a kind of message lands in.
func TableFor(k event.Kind) Table {
	return Table(k) // the constants are declared in the same order (TestTableFor)
}

// Name returns the table's name in the database.
func (t Table) Name() string { return tableDefs[t].name }

// String returns the table's name.
func (t Table) String() string { return t.Name() }

// IsEvent reports whether the table holds events with an event_id.
func (t Table) IsEvent() bool { return t <= TablePurchases }

func (t Table) insertSQL(db string) string {
	cols := append(append([]string{}, tableDefs[t].columns...), "kafka_partition", "kafka_offset", "ingested_at")
	return "INSERT INTO " + db + "." + t.Name() + " (" + strings.Join(cols, ", ") + ")"
}

// Rows is a columnar batch for one table.
type Rows interface {
	Table() Table
	Len() int
	// Reset empties the batch, keeping its memory.
	Reset()
	// MaxOffset returns the highest Kafka offset in the batch, or -1.
	MaxOffset() int64
	// SetIngestedAt sets the ingested_at of every row (one part per insert).
	SetIngestedAt(t time.Time)
	appendColumns(b driver.Batch) error
}

// origin holds the columns every table shares: where each row came from.
type origin struct {
	Partition  []uint32
	Offset     []uint64
	IngestedAt time.Time // one value for the whole batch: one part per insert
}

func (o *origin) add(partition int32, offset int64) {
	o.Partition = append(o.Partition, uint32(partition))
	o.Offset = append(o.Offset, uint64(offset))
}

func (o *origin) reset() {
	o.Partition = o.Partition[:0]
	o.Offset = o.Offset[:0]
	o.IngestedAt = time.Time{}
}

// SetIngestedAt sets the ingested_at of every row of the batch.
func (o *origin) SetIngestedAt(t time.Time) { o.IngestedAt = t }

// MaxOffset returns the highest offset in the batch, or -1.
func (o *origin) MaxOffset() int64 {
	m := int64(-1)
	for _, v := range o.Offset {
		m = max(m, int64(v))
	}
	return m
}

func (o *origin) appendOrigin(b driver.Batch, first int) error {
	at := o.IngestedAt
	if at.IsZero() {
		at = time.Now()
	}
	// Unix seconds (no pointer per row for the collector to scan), in a
	// slice dropped after the insert: kept with each batch, it was memory
	// the collector counted in every partition.
	ingested := make([]int64, len(o.Partition))
	for i := range ingested {
		ingested[i] = at.Unix()
	}
	return appendAll(b, first, o.Partition, o.Offset, ingested)
}

func appendAll(b driver.Batch, first int, cols ...any) error {
	for i, c := range cols {
		if err := b.Column(first + i).Append(c); err != nil {
			return fmt.Errorf("column %d: %w", first+i, err)
		}
	}
	return nil
}

// strCol is a String column kept as one byte arena and the end offset of
// each value: adding a value copies it (so it may alias a message buffer
// about to be reused) and allocates nothing once the arena has grown, and
// the collector neither allocates nor scans a string per row of a batch.
type strCol struct {
	buf []byte
	end []uint32
}

func (c *strCol) add(v string) {
	c.buf = append(c.buf, v...)
	c.end = append(c.end, uint32(len(c.buf)))
}

func (c *strCol) len() int { return len(c.end) }

// at returns value i, a copy.
func (c *strCol) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = c.end[i-1]
	}
	return string(c.buf[start:c.end[i]])
}

func (c *strCol) reset() {
	c.buf, c.end = c.buf[:0], c.end[:0]
}

// strings returns the values as strings sharing the arena, for the driver,
// which copies them: valid until the next add or reset. The slice is new
// and dropped after the insert: kept with each batch, slices of strings
// were megabytes of pointers for the collector to scan at every cycle.
func (c *strCol) strings() []string {
	views := make([]string, len(c.end))
	start := uint32(0)
	for i, e := range c.end {
		if e > start {
			views[i] = unsafe.String(&c.buf[start], int(e-start))
		}
		start = e
	}
	return views
}

// eventCols are the columns shared by the three event tables.
type eventCols struct {
	origin
	eventID strCol
	ts      []int64 // Unix seconds (the column is a DateTime): no pointer per row for the collector
	TSms    []uint64
}

func (e *eventCols) addEvent(id string, ts time.Time, partition int32, offset int64) {
	e.eventID.add(id)
	e.ts = append(e.ts, ts.Unix())
	e.TSms = append(e.TSms, uint64(ts.UnixMilli()))
	e.add(partition, offset)
}

// EventID returns the event id of row i.
func (e *eventCols) EventID(i int) string { return e.eventID.at(i) }

func (e *eventCols) resetEvent() {
	e.reset()
	e.eventID.reset()
	e.ts = e.ts[:0]
	e.TSms = e.TSms[:0]
}

// ViewRows is a batch of views.
type ViewRows struct {
	eventCols
	UserID, ProductID, InfluencerID, LiveID []uint64
	Surface                                 []int8
	DwellMS                                 []uint32
}

// Add appends one view read from partition at offset.
func (r *ViewRows) Add(v *event.View, partition int32, offset int64) {
	r.addEvent(v.EventID, v.TS, partition, offset)
	r.UserID = append(r.UserID, v.UserID)
	r.ProductID = append(r.ProductID, v.ProductID)
	r.InfluencerID = append(r.InfluencerID, v.InfluencerID)
	r.LiveID = append(r.LiveID, v.LiveID)
	r.Surface = append(r.Surface, surfaceCode(v.Surface))
	r.DwellMS = append(r.DwellMS, v.DwellMS)
}

func surfaceCode(s string) int8 {
	switch s {
	case "feed":
		return int8(event.SurfaceFeed)
	case "live":
		return int8(event.SurfaceLive)
	case "search":
		return int8(event.SurfaceSearch)
	}
	return int8(event.SurfaceShop)
}

// Table implements Rows.
func (r *ViewRows) Table() Table { return TableViews }

// Len implements Rows.
func (r *ViewRows) Len() int { return r.eventID.len() }

// Reset implements Rows.
func (r *ViewRows) Reset() {
	r.resetEvent()
	r.UserID, r.ProductID, r.InfluencerID, r.LiveID = r.UserID[:0], r.ProductID[:0], r.InfluencerID[:0], r.LiveID[:0]
	r.Surface, r.DwellMS = r.Surface[:0], r.DwellMS[:0]
}

func (r *ViewRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.eventID.strings(), r.ts, r.TSms, r.UserID, r.ProductID, r.InfluencerID, r.LiveID, r.Surface, r.DwellMS); err != nil {
		return err
	}
	return r.appendOrigin(b, 9)
}

// ChatRows is a batch of chat messages.
type ChatRows struct {
	eventCols
	UserID, LiveID, InfluencerID, ProductID []uint64
	text                                    strCol
}

// Add appends one chat message read from partition at offset.
func (r *ChatRows) Add(c *event.Chat, partition int32, offset int64) {
	r.addEvent(c.EventID, c.TS, partition, offset)
	r.UserID = append(r.UserID, c.UserID)
	r.LiveID = append(r.LiveID, c.LiveID)
	r.InfluencerID = append(r.InfluencerID, c.InfluencerID)
	r.ProductID = append(r.ProductID, c.ProductID)
	r.text.add(c.Text)
}

// Table implements Rows.
func (r *ChatRows) Table() Table { return TableChats }

// Len implements Rows.
func (r *ChatRows) Len() int { return r.eventID.len() }

// Reset implements Rows.
func (r *ChatRows) Reset() {
	r.resetEvent()
	r.UserID, r.LiveID, r.InfluencerID, r.ProductID = r.UserID[:0], r.LiveID[:0], r.InfluencerID[:0], r.ProductID[:0]
	r.text.reset()
}

func (r *ChatRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.eventID.strings(), r.ts, r.TSms, r.UserID, r.LiveID, r.InfluencerID, r.ProductID, r.text.strings()); err != nil {
		return err
	}
	return r.appendOrigin(b, 8)
}

// PurchaseRows is a batch of purchases.
type PurchaseRows struct {
	eventCols
	orderID                                 strCol
	UserID, ProductID, InfluencerID, LiveID []uint64
	Quantity                                []uint32
	UnitPrice                               []float64
	currency                                strCol
}

// Add appends one purchase read from partition at offset.
func (r *PurchaseRows) Add(p *event.Purchase, partition int32, offset int64) {
	r.addEvent(p.EventID, p.TS, partition, offset)
	r.orderID.add(p.OrderID)
	r.UserID = append(r.UserID, p.UserID)
	r.ProductID = append(r.ProductID, p.ProductID)
	r.InfluencerID = append(r.InfluencerID, p.InfluencerID)
	r.LiveID = append(r.LiveID, p.LiveID)
	r.Quantity = append(r.Quantity, p.Quantity)
	r.UnitPrice = append(r.UnitPrice, p.UnitPrice)
	r.currency.add(p.Currency)
}

// Table implements Rows.
func (r *PurchaseRows) Table() Table { return TablePurchases }

// Len implements Rows.
func (r *PurchaseRows) Len() int { return r.eventID.len() }

// Reset implements Rows.
func (r *PurchaseRows) Reset() {
	r.resetEvent()
	r.orderID.reset()
	r.UserID, r.ProductID, r.InfluencerID, r.LiveID = r.UserID[:0], r.ProductID[:0], r.InfluencerID[:0], r.LiveID[:0]
	r.Quantity, r.UnitPrice = r.Quantity[:0], r.UnitPrice[:0]
	r.currency.reset()
}

func (r *PurchaseRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.eventID.strings(), r.ts, r.TSms, r.orderID.strings(), r.UserID, r.ProductID, r.InfluencerID, r.LiveID, r.Quantity, r.UnitPrice, r.currency.strings()); err != nil {
		return err
	}
	return r.appendOrigin(b, 11)
}

// ProductRows is a batch of product catalog versions.
type ProductRows struct {
	origin
	ProductID, BrandID        []uint64
	category, title, currency strCol
	Price                     []float64
	InStock                   []uint8
	UpdatedAt                 []time.Time
}

// Add appends one product version read from partition at offset.
func (r *ProductRows) Add(p *event.Product, partition int32, offset int64) {
	r.add(partition, offset)
	r.ProductID = append(r.ProductID, p.ProductID)
	r.BrandID = append(r.BrandID, p.BrandID)
	r.category.add(p.Category)
	r.title.add(p.Title)
	r.Price = append(r.Price, p.Price)
	r.currency.add(p.Currency)
	var in uint8
	if p.InStock {
		in = 1
	}
	r.InStock = append(r.InStock, in)
	r.UpdatedAt = append(r.UpdatedAt, p.UpdatedAt)
}

// Table implements Rows.
func (r *ProductRows) Table() Table { return TableProductVersions }

// Len implements Rows.
func (r *ProductRows) Len() int { return len(r.ProductID) }

// Reset implements Rows.
func (r *ProductRows) Reset() {
	r.reset()
	r.ProductID, r.BrandID = r.ProductID[:0], r.BrandID[:0]
	r.category.reset()
	r.title.reset()
	r.currency.reset()
	r.Price, r.InStock, r.UpdatedAt = r.Price[:0], r.InStock[:0], r.UpdatedAt[:0]
}

func (r *ProductRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.ProductID, r.BrandID, r.category.strings(), r.title.strings(), r.Price, r.currency.strings(), r.InStock, r.UpdatedAt); err != nil {
		return err
	}
	return r.appendOrigin(b, 8)
}

// BrandRows is a batch of brand catalog versions.
type BrandRows struct {
	origin
	BrandID       []uint64
	name, country strCol
	UpdatedAt     []time.Time
}

// Add appends one brand version read from partition at offset.
func (r *BrandRows) Add(b *event.Brand, partition int32, offset int64) {
	r.add(partition, offset)
	r.BrandID = append(r.BrandID, b.BrandID)
	r.name.add(b.Name)
	r.country.add(b.Country)
	r.UpdatedAt = append(r.UpdatedAt, b.UpdatedAt)
}

// Table implements Rows.
func (r *BrandRows) Table() Table { return TableBrandVersions }

// Len implements Rows.
func (r *BrandRows) Len() int { return len(r.BrandID) }

// Reset implements Rows.
func (r *BrandRows) Reset() {
	r.reset()
	r.BrandID, r.UpdatedAt = r.BrandID[:0], r.UpdatedAt[:0]
	r.name.reset()
	r.country.reset()
}

func (r *BrandRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.BrandID, r.name.strings(), r.country.strings(), r.UpdatedAt); err != nil {
		return err
	}
	return r.appendOrigin(b, 4)
}

// InfluencerRows is a batch of influencer catalog versions.
type InfluencerRows struct {
	origin
	InfluencerID, Followers []uint64
	handle, country         strCol
	Categories              [][]string
	Fee                     []float64
	UpdatedAt               []time.Time
}

// Add appends one influencer version read from partition at offset.
func (r *InfluencerRows) Add(in *event.Influencer, partition int32, offset int64) {
	r.add(partition, offset)
	r.InfluencerID = append(r.InfluencerID, in.InfluencerID)
	r.handle.add(in.Handle)
	r.Followers = append(r.Followers, in.Followers)
	r.country.add(in.Country)
	cats := in.Categories
	if cats == nil {
		cats = []string{}
	}
	r.Categories = append(r.Categories, cats)
	r.Fee = append(r.Fee, in.Fee)
	r.UpdatedAt = append(r.UpdatedAt, in.UpdatedAt)
}

// Table implements Rows.
func (r *InfluencerRows) Table() Table { return TableInfluencerVersions }

// Len implements Rows.
func (r *InfluencerRows) Len() int { return len(r.InfluencerID) }

// Reset implements Rows.
func (r *InfluencerRows) Reset() {
	r.reset()
	r.InfluencerID, r.Followers = r.InfluencerID[:0], r.Followers[:0]
	r.handle.reset()
	r.country.reset()
	r.Categories, r.Fee, r.UpdatedAt = r.Categories[:0], r.Fee[:0], r.UpdatedAt[:0]
}

func (r *InfluencerRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.InfluencerID, r.handle.strings(), r.Followers, r.country.strings(), r.Categories, r.Fee, r.UpdatedAt); err != nil {
		return err
	}
	return r.appendOrigin(b, 7)
}

// onAir is the ended_at stored for a live that has not ended: ClickHouse's
// zero DateTime (no column is Nullable).
var onAir = time.Unix(0, 0).UTC()

// LiveRows is a batch of live catalog versions.
type LiveRows struct {
	origin
	LiveID, InfluencerID, SponsorBrandID []uint64
	Fee                                  []float64
	ProductIDs                           [][]uint64
	StartedAt, EndedAt, UpdatedAt        []time.Time
}

// Add appends one live version read from partition at offset.
func (r *LiveRows) Add(l *event.Live, partition int32, offset int64) {
	r.add(partition, offset)
	r.LiveID = append(r.LiveID, l.LiveID)
	r.InfluencerID = append(r.InfluencerID, l.InfluencerID)
	r.SponsorBrandID = append(r.SponsorBrandID, l.SponsorBrandID)
	r.Fee = append(r.Fee, l.Fee)
	products := l.ProductIDs
	if products == nil {
		products = []uint64{}
	}
	r.ProductIDs = append(r.ProductIDs, products)
	r.StartedAt = append(r.StartedAt, l.StartedAt)
	ended := l.EndedAt
	if ended.IsZero() {
		ended = onAir
	}
	r.EndedAt = append(r.EndedAt, ended)
	r.UpdatedAt = append(r.UpdatedAt, l.UpdatedAt)
}

// Table implements Rows.
func (r *LiveRows) Table() Table { return TableLiveVersions }

// Len implements Rows.
func (r *LiveRows) Len() int { return len(r.LiveID) }

// Reset implements Rows.
func (r *LiveRows) Reset() {
	r.reset()
	r.LiveID, r.InfluencerID, r.SponsorBrandID, r.Fee = r.LiveID[:0], r.InfluencerID[:0], r.SponsorBrandID[:0], r.Fee[:0]
	clear(r.ProductIDs)
	r.ProductIDs = r.ProductIDs[:0]
	r.StartedAt, r.EndedAt, r.UpdatedAt = r.StartedAt[:0], r.EndedAt[:0], r.UpdatedAt[:0]
}

func (r *LiveRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.LiveID, r.InfluencerID, r.SponsorBrandID, r.Fee, r.ProductIDs, r.StartedAt, r.EndedAt, r.UpdatedAt); err != nil {
		return err
	}
	return r.appendOrigin(b, 8)
}

// DeadLetterRows is a batch of rejected messages with the reason.
type DeadLetterRows struct {
	origin
	Topic, Payload, Reason, Error []string
}

// Add appends one rejected message.
func (r *DeadLetterRows) Add(topic string, partition int32, offset int64, payload []byte, reason, detail string) {
	r.add(partition, offset)
	r.Topic = append(r.Topic, topic)
	r.Payload = append(r.Payload, string(payload))
	r.Reason = append(r.Reason, reason)
	r.Error = append(r.Error, detail)
}

// Table implements Rows.
func (r *DeadLetterRows) Table() Table { return TableDeadLetters }

// Len implements Rows.
func (r *DeadLetterRows) Len() int { return len(r.Topic) }

// Reset implements Rows.
func (r *DeadLetterRows) Reset() {
	r.reset()
	r.Topic, r.Payload, r.Reason, r.Error = r.Topic[:0], r.Payload[:0], r.Reason[:0], r.Error[:0]
}

func (r *DeadLetterRows) appendColumns(b driver.Batch) error {
	if err := appendAll(b, 0, r.Topic, r.Payload, r.Reason, r.Error); err != nil {
		return err
	}
	return r.appendOrigin(b, 4)
}

// Batches is several batches of one table inserted as one: one INSERT,
// so one part, all or nothing. Each row keeps its own partition and
// offset, so every partition's watermark stays exact.
type Batches []Rows

// Table implements Rows.
func (m Batches) Table() Table { return m[0].Table() }

// Len implements Rows.
func (m Batches) Len() int {
	n := 0
	for _, r := range m {
		n += r.Len()
	}
	return n
}

// Reset implements Rows.
func (m Batches) Reset() {
	for _, r := range m {
		r.Reset()
	}
}

// MaxOffset implements Rows: the highest offset over the batches.
func (m Batches) MaxOffset() int64 {
	top := int64(-1)
	for _, r := range m {
		top = max(top, r.MaxOffset())
	}
	return top
}

// SetIngestedAt implements Rows.
func (m Batches) SetIngestedAt(t time.Time) {
	for _, r := range m {
		r.SetIngestedAt(t)
	}
}

func (m Batches) appendColumns(b driver.Batch) error {
	for _, r := range m {
		if r.Table() != m[0].Table() {
			return fmt.Errorf("a batch of %s among batches of %s", r.Table(), m[0].Table())
		}
		if err := r.appendColumns(b); err != nil {
			return err
		}
	}
	return nil
}
