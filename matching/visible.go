package matching

// What a brand sees of an influencer.
//
// A brand token must not learn another brand's figures, neither from the
// past lives it is shown nor from totals: an influencer with one live
// sponsored by another brand, sponsored_lives 1 and sponsored_gmv_per_live
// 62.99 would give that live's GMV away exactly. So every figure of lives
// a brand token sees (counts, sums, means and ratios over lives: lives,
// sponsored_lives, viewers_per_live, chats_per_viewer, questions_per_viewer,
// conversion, order_value, gmv_per_live, sponsored_gmv_per_live,
// organic_gmv_per_live, trend, inactive_viewer_share, burst_chat_share,
// authenticity, and the fee inferred from past sponsored lives when there
// is no rate card) is computed over organic lives and the lives of its own
// brands only: as if the other brands' sponsored lives had not happened.
// The model's estimates (reach, skill, the audience's affinity, and the
// predictions made from them) pool every live, shrunk towards priors; they
// state no figure of a live.

// Visible says which brands' sponsored lives a caller may see: nil sees
// every brand's (admin), else a brand token's Brand method.
type Visible func(brandID uint64) bool

// liveFigures are one live's figures.
type liveFigures struct {
	viewers, active, chats, questions, burst, orders, gmv, fee float64
	catViews, catOrders                                        float64
	recent                                                     bool // within trendWindow of AsOf
}

// liveTotals sums the figures of a set of lives.
type liveTotals struct {
	lives                                                 int
	viewers, active, chats, questions, burst, orders, gmv float64
	fees                                                  float64
	feeLives                                              int
	catViews, catOrders                                   float64
	recent, recentN, earlier, earlierN                    float64
}

func (t *liveTotals) add(l liveFigures) {
	t.lives++
	t.viewers += l.viewers
	t.active += l.active
	t.chats += l.chats
	t.questions += l.questions
	t.burst += l.burst
	t.orders += l.orders
	t.gmv += l.gmv
	if l.fee > 0 {
		t.fees += l.fee
		t.feeLives++
	}
	t.catViews += l.catViews
	t.catOrders += l.catOrders
	if l.recent {
		t.recent += l.gmv
		t.recentN++
	} else {
		t.earlier += l.gmv
		t.earlierN++
	}
}

func (t *liveTotals) merge(o *liveTotals) {
	t.lives += o.lives
	t.viewers += o.viewers
	t.active += o.active
	t.chats += o.chats
	t.questions += o.questions
	t.burst += o.burst
	t.orders += o.orders
	t.gmv += o.gmv
	t.fees += o.fees
	t.feeLives += o.feeLives
	t.catViews += o.catViews
	t.catOrders += o.catOrders
	t.recent += o.recent
	t.recentN += o.recentN
	t.earlier += o.earlier
	t.earlierN += o.earlierN
}

// View returns inf as a caller that sees the brands visible says sees it:
// inf itself when visible is nil, else a copy whose figures of lives are
// computed over organic lives and visible brands' lives only, and whose
// past lives are those lives. The copy shares the model's estimates, so
// predictions made with it are inf's, but for the fee.
func (m *Model) View(inf *Influencer, visible Visible) *Influencer {
	if visible == nil {
		return inf
	}
	v := *inf
	var all, sponsored liveTotals
	organic := inf.groups[0]
	for _, brand := range inf.groupIDs { // a fixed order: the same sums each time
		if brand != 0 && visible(brand) {
			sponsored.merge(inf.groups[brand])
		}
	}
	if organic != nil {
		all.merge(organic)
	}
	all.merge(&sponsored)

	v.Lives, v.SponsoredLives = all.lives, sponsored.lives
	v.ViewersPerLive, v.GMVPerLive, v.SponsoredGMVPerLive, v.OrganicGMVPerLive = 0, 0, 0, 0
	v.ChatsPerViewer, v.QuestionsPerViewer, v.InactiveViewerShare, v.BurstChatShare = 0, 0, 0, 0
	v.OrderValue, v.Conversion, v.Trend = 0, 0, 0
	if n := float64(all.lives); n > 0 {
		v.ViewersPerLive = all.viewers / n
		v.GMVPerLive = all.gmv / n
	}
	if sponsored.lives > 0 {
		v.SponsoredGMVPerLive = sponsored.gmv / float64(sponsored.lives)
	}
	if organic != nil && organic.lives > 0 {
		v.OrganicGMVPerLive = organic.gmv / float64(organic.lives)
	}
	if all.recentN >= 2 && all.earlierN >= 2 && all.earlier > 0 {
		v.Trend = (all.recent / all.recentN) / (all.earlier / all.earlierN)
	}
	if all.viewers > 0 {
		v.ChatsPerViewer = all.chats / all.viewers
		v.QuestionsPerViewer = all.questions / all.viewers
		v.InactiveViewerShare = 1 - all.active/all.viewers
	}
	if all.chats > 0 {
		v.BurstChatShare = all.burst / all.chats
	}
	if all.orders > 0 {
		v.OrderValue = all.gmv / all.orders
	}
	if all.catViews > 0 {
		v.Conversion = all.catOrders / all.catViews
	}
	v.Authenticity = 1
	if v.Lives > 0 {
		v.Authenticity = m.authenticity(v.InactiveViewerShare, v.BurstChatShare)
	}
	v.Fee = inf.rateCard
	if v.Fee == 0 && sponsored.feeLives > 0 {
		v.Fee = sponsored.fees / float64(sponsored.feeLives)
	}
	v.PastLives = []LiveSummary{}
	for _, l := range inf.PastLives {
		if l.SponsorBrandID == 0 || visible(l.SponsorBrandID) {
			v.PastLives = append(v.PastLives, l)
		}
	}
	return &v
}

// feeFor returns inf's fee as visible sees it: the rate card, else the
// mean fee of the past sponsored lives it sees (View's Fee, without the
// copy).
func (m *Model) feeFor(inf *Influencer, visible Visible) float64 {
	if visible == nil || inf.rateCard > 0 {
		return inf.Fee
	}
	fees, n := 0.0, 0
	for _, brand := range inf.groupIDs {
		if g := inf.groups[brand]; brand != 0 && g.feeLives > 0 && visible(brand) {
			fees += g.fees
			n += g.feeLives
		}
	}
	if n == 0 {
		return 0
	}
	return fees / float64(n)
}

// InfluencerFor returns the profile of id as visible sees it (View).
func (m *Model) InfluencerFor(id uint64, visible Visible) (*Influencer, bool) {
	inf, ok := m.inflByID[id]
	if !ok {
		return nil, false
	}
	return m.View(inf, visible), true
}
