package matching

import (
	"testing"
	"time"
)

// TestBuild_QuestionsPerViewer: questions in the lives' chats, per unique
// viewer over all of an influencer's lives.
func TestBuild_QuestionsPerViewer(t *testing.T) {
	w := baseWorld()
	w.influencer(900, 50000, "IT", 100, "kitchenware")
	a := w.live(900, plain(24*time.Hour, 4000, evenConv(baseConv)))
	b := w.live(900, plain(48*time.Hour, 2000, evenConv(baseConv)))
	var viewers, questions float64
	for k := range w.in.Chats {
		c := &w.in.Chats[k]
		if c.LiveID == a || c.LiveID == b {
			c.Questions = c.Chats / 4
			questions += float64(c.Questions)
		}
	}
	for _, au := range w.in.Audiences {
		if au.LiveID == a || au.LiveID == b {
			viewers += float64(au.Viewers)
		}
	}
	m := w.build(t)
	inf, ok := m.Influencer(900)
	if !ok {
		t.Fatal("influencer 900 missing")
	}
	if questions == 0 || !near(inf.QuestionsPerViewer, questions/viewers, 1e-9) || inf.QuestionsPerViewer >= inf.ChatsPerViewer {
		t.Errorf("questions per viewer %v, want %v (chats per viewer %v)", inf.QuestionsPerViewer, questions/viewers, inf.ChatsPerViewer)
	}
}
