package matching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// swapSource serves one Source, then another: a catalog that lands while
// the service runs.
type swapSource struct{ v atomic.Value }

type sourceBox struct{ Source }

func (s *swapSource) set(src Source) { s.v.Store(sourceBox{src}) }
func (s *swapSource) get() Source    { return s.v.Load().(sourceBox).Source }

func (s *swapSource) Products(ctx context.Context) ([]event.Product, error) {
	return s.get().Products(ctx)
}
func (s *swapSource) Influencers(ctx context.Context) ([]event.Influencer, error) {
	return s.get().Influencers(ctx)
}
func (s *swapSource) BrandNames(ctx context.Context) (map[uint64]string, error) {
	return s.get().BrandNames(ctx)
}
func (s *swapSource) Lives(ctx context.Context) ([]event.Live, error) { return s.get().Lives(ctx) }
func (s *swapSource) LiveAudiences(ctx context.Context, t time.Time) ([]store.LiveAudience, error) {
	return s.get().LiveAudiences(ctx, t)
}
func (s *swapSource) LiveProducts(ctx context.Context, t time.Time) ([]store.LiveProductStats, error) {
	return s.get().LiveProducts(ctx, t)
}
func (s *swapSource) LiveChatStats(ctx context.Context, t time.Time) ([]store.LiveChats, error) {
	return s.get().LiveChatStats(ctx, t)
}
func (s *swapSource) Audiences(ctx context.Context, t time.Time) ([]store.AudienceCategory, error) {
	return s.get().Audiences(ctx, t)
}
func (s *swapSource) ShopSales(ctx context.Context, t time.Time) ([]store.ProductSales, error) {
	return s.get().ShopSales(ctx, t)
}

// TestService_EmptyProfilesRetrySoon: profiles computed before the catalog
// landed (a fresh system) are computed again after EmptyRetry, not a whole
// period later.
func TestService_EmptyProfilesRetrySoon(t *testing.T) {
	var src swapSource
	src.set(&memSource{in: &Inputs{BrandNames: map[uint64]string{}}})
	svc := NewService(ServiceConfig{Source: &src, Every: time.Hour, EmptyRetry: 50 * time.Millisecond, Now: func() time.Time { return testAsOf }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for svc.Model() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m := svc.Model(); m == nil || m.NumInfluencers() != 0 {
		t.Fatalf("first profiles: %v", m)
	}
	src.set(&memSource{in: baseWorld().in})
	for svc.Model().NumInfluencers() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := svc.Model().NumInfluencers(); n == 0 {
		t.Fatal("the landed catalog was not picked up within 5 s (the period is an hour)")
	}
}
