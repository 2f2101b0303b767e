package sim

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidConfig is wrapped by the errors NewWorld returns for a Config
// that cannot describe a world.
var ErrInvalidConfig = errors.New("sim: invalid config")

// Config describes the world to simulate. The zero values of Categories,
// MeanActivity and LiveViewsPerHour select their defaults; every other field
// must be set (DefaultConfig gives a sensible starting point).
type Config struct {
	// Seed makes the world reproducible.
	Seed int64 `json:"seed"`
	// Users is the number of users, bots included (at least 10).
	Users int `json:"users"`
	// Brands is the number of brands (manufacturers).
	Brands int `json:"brands"`
	// ProductsPerBrand is the catalog size of every brand.
	ProductsPerBrand int `json:"products_per_brand"`
	// Influencers is the number of creators who run lives.
	Influencers int `json:"influencers"`
	// Categories are the product categories; nil selects DefaultCategories.
	Categories []string `json:"categories"`
	// LivesPerHour is the rate at which lives start, per simulated hour
	// (0 means no lives).
	LivesPerHour float64 `json:"lives_per_hour"`
	// SponsoredShare is the probability that a live is sponsored by a brand.
	SponsoredShare float64 `json:"sponsored_share"`
	// MeanActivity is the mean browsing rate of a (non-bot) user, in events
	// per simulated hour; 0 selects 2.
	MeanActivity float64 `json:"mean_activity"`
	// LiveViewsPerHour is the expected number of live views per simulated
	// hour of a live by an influencer with 20000 followers; 0 selects 1200.
	LiveViewsPerHour float64 `json:"live_views_per_hour"`
}

// Defaults for the optional Config fields.
const (
	defaultMeanActivity     = 2.0
	defaultLiveViewsPerHour = 1200.0
	minUsers                = 10
)

// DefaultCategories returns the twelve default product categories.
func DefaultCategories() []string {
	return []string{"kitchen", "fashion", "beauty", "electronics", "home", "sports",
		"toys", "books", "jewelry", "shoes", "bags", "outdoor"}
}

// DefaultConfig returns a small-to-medium world: 20000 users, 200 brands of
// 25 products, 500 influencers, 12 lives per hour of which 40% sponsored.
func DefaultConfig() Config {
	return Config{
		Seed:             1,
		Users:            20000,
		Brands:           200,
		ProductsPerBrand: 25,
		Influencers:      500,
		Categories:       DefaultCategories(),
		LivesPerHour:     12,
		SponsoredShare:   0.4,
		MeanActivity:     defaultMeanActivity,
		LiveViewsPerHour: defaultLiveViewsPerHour,
	}
}

// normalize validates c and returns it with defaults filled in and its
// Categories slice copied.
func (c Config) normalize() (Config, error) {
	if c.Users < minUsers {
		return c, fmt.Errorf("%w: users = %d, want at least %d", ErrInvalidConfig, c.Users, minUsers)
	}
	if c.Brands < 1 {
		return c, fmt.Errorf("%w: brands = %d, want at least 1", ErrInvalidConfig, c.Brands)
	}
	if c.ProductsPerBrand < 1 {
		return c, fmt.Errorf("%w: products per brand = %d, want at least 1", ErrInvalidConfig, c.ProductsPerBrand)
	}
	if c.Influencers < 1 {
		return c, fmt.Errorf("%w: influencers = %d, want at least 1", ErrInvalidConfig, c.Influencers)
	}
	const maxEntities = 1 << 31
	if c.Users >= maxEntities || c.Influencers >= maxEntities || c.Brands >= maxEntities ||
		c.ProductsPerBrand >= maxEntities || c.Brands*c.ProductsPerBrand >= maxEntities {
		return c, fmt.Errorf("%w: too many entities", ErrInvalidConfig)
	}
	if !finite(c.LivesPerHour) || c.LivesPerHour < 0 {
		return c, fmt.Errorf("%w: lives per hour = %v, want a finite number >= 0", ErrInvalidConfig, c.LivesPerHour)
	}
	if !finite(c.SponsoredShare) || c.SponsoredShare < 0 || c.SponsoredShare > 1 {
		return c, fmt.Errorf("%w: sponsored share = %v, want a number in [0, 1]", ErrInvalidConfig, c.SponsoredShare)
	}
	if !finite(c.MeanActivity) || c.MeanActivity < 0 {
		return c, fmt.Errorf("%w: mean activity = %v, want a finite number > 0 (or 0 for the default)", ErrInvalidConfig, c.MeanActivity)
	}
	if c.MeanActivity == 0 {
		c.MeanActivity = defaultMeanActivity
	}
	if !finite(c.LiveViewsPerHour) || c.LiveViewsPerHour < 0 {
		return c, fmt.Errorf("%w: live views per hour = %v, want a finite number > 0 (or 0 for the default)", ErrInvalidConfig, c.LiveViewsPerHour)
	}
	if c.LiveViewsPerHour == 0 {
		c.LiveViewsPerHour = defaultLiveViewsPerHour
	}
	if c.Categories == nil {
		c.Categories = DefaultCategories()
	} else {
		c.Categories = append([]string(nil), c.Categories...)
	}
	if len(c.Categories) == 0 {
		return c, fmt.Errorf("%w: no categories", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.Categories))
	for i, name := range c.Categories {
		if name == "" {
			return c, fmt.Errorf("%w: category %d is empty", ErrInvalidConfig, i)
		}
		if seen[name] {
			return c, fmt.Errorf("%w: category %q listed twice", ErrInvalidConfig, name)
		}
		seen[name] = true
	}
	return c, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
