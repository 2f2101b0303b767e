// Package event defines Vetrina's wire contract: the JSON messages that
// producers write to the Kafka topics, their validation rules, and a fast
// decoder that turns one message into a typed value or a Reason for the
// dead-letter table.
//
// Times are RFC 3339 strings or integer Unix milliseconds. IDs are unsigned
// 64-bit integers (JSON numbers, or decimal strings for producers whose
// numbers are doubles), except event_id and order_id, which are strings.
// An absent optional ID decodes as 0, which means "none".
package event

import "time"

// Bounds of money and counts in messages: a value outside is out_of_range
// and the message a dead letter, so that one odd catalog message cannot
// overflow the sums and products computed from it (a fee of 1e308, or one
// of 5e-324 that an ROI divides by).
const (
	// MaxPrice bounds price and unit_price, in the message's currency
	// (room for currencies without minor units, such as KRW or IDR).
	MaxPrice = 1_000_000_000
	// MaxFee bounds a fee (EUR per sponsored live); MinFee is the smallest
	// fee that is not 0 (unknown): a cent.
	MaxFee = 10_000_000
	MinFee = 0.01
	// MaxQuantity bounds a purchase's quantity (the least is 1).
	MaxQuantity = 1_000_000
	// MaxFollowers bounds an influencer's follower count.
	MaxFollowers = 10_000_000_000
)

// Kind names one of the message kinds; each has its own topic and table.
type Kind uint8

// The message kinds. Views, chats and purchases are events; products,
// brands, influencers and lives are catalog updates (every version is
// kept, the latest wins).
const (
	KindView Kind = iota
	KindChat
	KindPurchase
	KindProduct
	KindBrand
	KindInfluencer
	KindLive
	numKinds
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindView, KindChat, KindPurchase, KindProduct, KindBrand, KindInfluencer, KindLive}

var kindNames = [numKinds]string{"view", "chat", "purchase", "product", "brand", "influencer", "live"}

// String returns the singular name, e.g. "view".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Plural returns the plural name used for topics and tables, e.g. "views".
func (k Kind) Plural() string { return k.String() + "s" }

// IsEvent reports whether the kind is a user event (as opposed to catalog).
func (k Kind) IsEvent() bool { return k <= KindPurchase }

// Surface is where a view happened.
type Surface uint8

// Surfaces, numbered as in the ClickHouse Enum8.
const (
	SurfaceFeed   Surface = 1
	SurfaceLive   Surface = 2
	SurfaceSearch Surface = 3
	SurfaceShop   Surface = 4
)

var surfaceNames = map[string]Surface{"feed": SurfaceFeed, "live": SurfaceLive, "search": SurfaceSearch, "shop": SurfaceShop}

// String returns the wire name of the surface.
func (s Surface) String() string {
	for n, v := range surfaceNames {
		if v == s {
			return n
		}
	}
	return "unknown"
}

// View is a user looking at a product, in the feed, a live, search or the shop.
type View struct {
	EventID      string    `json:"event_id"`
	TS           time.Time `json:"ts"`
	UserID       uint64    `json:"user_id"`
	ProductID    uint64    `json:"product_id"`
	InfluencerID uint64    `json:"influencer_id,omitempty"`
	LiveID       uint64    `json:"live_id,omitempty"`
	Surface      string    `json:"surface"`
	DwellMS      uint32    `json:"dwell_ms,omitempty"`
}

// Chat is a message a user wrote in a live's chat.
type Chat struct {
	EventID      string    `json:"event_id"`
	TS           time.Time `json:"ts"`
	UserID       uint64    `json:"user_id"`
	LiveID       uint64    `json:"live_id"`
	InfluencerID uint64    `json:"influencer_id"`
	ProductID    uint64    `json:"product_id,omitempty"`
	Text         string    `json:"text"`
}

// Purchase is one order line: a user buying quantity units of a product.
type Purchase struct {
	EventID      string    `json:"event_id"`
	TS           time.Time `json:"ts"`
	OrderID      string    `json:"order_id"`
	UserID       uint64    `json:"user_id"`
	ProductID    uint64    `json:"product_id"`
	InfluencerID uint64    `json:"influencer_id,omitempty"`
	LiveID       uint64    `json:"live_id,omitempty"`
	Quantity     uint32    `json:"quantity"`
	UnitPrice    float64   `json:"unit_price"`
	Currency     string    `json:"currency"`
}

// Product is a catalog update for one product of a brand.
type Product struct {
	ProductID uint64    `json:"product_id"`
	BrandID   uint64    `json:"brand_id"`
	Category  string    `json:"category"`
	Title     string    `json:"title"`
	Price     float64   `json:"price"`
	Currency  string    `json:"currency"`
	InStock   bool      `json:"in_stock"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Brand is a catalog update for a manufacturer.
type Brand struct {
	BrandID   uint64    `json:"brand_id"`
	Name      string    `json:"name"`
	Country   string    `json:"country"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Influencer is a catalog update for a creator who runs lives.
type Influencer struct {
	InfluencerID uint64   `json:"influencer_id"`
	Handle       string   `json:"handle"`
	Followers    uint64   `json:"followers"`
	Country      string   `json:"country"`
	Categories   []string `json:"categories"`
	// Fee is the influencer's current rate card: what a brand pays, in
	// EUR, per sponsored live; 0 means unknown.
	Fee       float64   `json:"fee,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Live is a catalog update for one live-stream sale. Producers send a
// version when the live starts (EndedAt zero: on air) and another when it
// ends; the latest updated_at wins.
type Live struct {
	LiveID       uint64 `json:"live_id"`
	InfluencerID uint64 `json:"influencer_id"`
	// SponsorBrandID is the brand sponsoring the live; 0 for an organic
	// live.
	SponsorBrandID uint64 `json:"sponsor_brand_id,omitempty"`
	// Fee is what the sponsor pays the influencer for this live, in EUR.
	Fee float64 `json:"fee,omitempty"`
	// ProductIDs are the products showcased, in order; nil if the message
	// had none.
	ProductIDs []uint64  `json:"product_ids"`
	StartedAt  time.Time `json:"started_at"`
	// EndedAt is zero while the live is on air.
	EndedAt   time.Time `json:"ended_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}
