package ranking

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/store"
)

// Source is where the trainer reads its data: the store.
type Source interface {
	Interactions(ctx context.Context, since time.Time, fn func(store.Interaction) error) error
	Products(ctx context.Context) ([]event.Product, error)
	InfluencerHandles(ctx context.Context) (map[uint64]string, error)
}

// ErrNoData is returned by a training that finds no interactions.
var ErrNoData = errors.New("no interactions")

// LoadDataset reads the catalog and the interactions since the given time.
func LoadDataset(ctx context.Context, src Source, since time.Time) (*Dataset, error) {
	return loadDataset(ctx, src, since, nil)
}

// loadDataset is LoadDataset reporting the user-product rows read.
func loadDataset(ctx context.Context, src Source, since time.Time, progress Progress) (*Dataset, error) {
	const step = "read interactions from ClickHouse (user-product rows)"
	b := NewBuilder()
	rows := 0
	products, err := src.Products(ctx)
	if err != nil {
		return nil, fmt.Errorf("load ranking data: %w", err)
	}
	for _, p := range products {
		b.AddItem(Item{ID: p.ProductID, Category: p.Category, Brand: p.BrandID, Price: p.Price, InStock: p.InStock, Title: p.Title})
	}
	progress.update(step, 0, 0)
	err = src.Interactions(ctx, since, func(in store.Interaction) error {
		if rows++; rows%100_000 == 0 {
			progress.update(step, rows, 0)
		}
		b.AddSignal(in.UserID, in.ProductID, Signal{
			Views: sat16(in.Views), Chats: sat16(in.Chats), Purchases: sat16(in.Purchases),
			DwellSec: sat16(in.DwellMS / 1000),
			First:    clampUnix(in.First.Unix()), Last: clampUnix(in.Last.Unix()),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load ranking data: %w", err)
	}
	progress.update("build the dataset", 0, 1)
	defer progress.update("build the dataset", 1, 1)
	return b.Build(), nil
}

// TrainerConfig configures a Trainer.
type TrainerConfig struct {
	Train TrainConfig
	// Window is how much history a training reads; default 90 days.
	Window time.Duration
	// Every is the period between trainings; default 10 minutes.
	Every time.Duration
	// Snapshot is the file the model is saved to after each training and
	// loaded from at start ("" for none).
	Snapshot string
	Logger   *slog.Logger
}

// Trainer retrains the Ranker's model periodically from the store.
type Trainer struct {
	cfg TrainerConfig
	src Source
	r   *Ranker
	log *slog.Logger
}

// NewTrainer returns a Trainer feeding r.
func NewTrainer(src Source, r *Ranker, cfg TrainerConfig) *Trainer {
	if cfg.Window <= 0 {
		cfg.Window = 90 * 24 * time.Hour
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Trainer{cfg: cfg, src: src, r: r, log: cfg.Logger}
}

// TrainOnce reads the data, trains, saves the snapshot and installs the
// model in the ranker.
func (t *Trainer) TrainOnce(ctx context.Context) (*Model, error) {
	start := time.Now()
	m, err := t.train(ctx)
	t.r.m.trainDur.Set(time.Since(start).Seconds())
	if err != nil {
		t.r.m.trainings.WithLabelValues("error").Inc()
		return nil, err
	}
	t.r.m.trainings.WithLabelValues("ok").Inc()
	t.r.SetModel(m)
	if t.cfg.Snapshot != "" {
		t.cfg.Train.Progress.update("write the snapshot", 0, 1)
		if err := SaveSnapshot(t.cfg.Snapshot, m); err != nil {
			return m, err
		}
		t.cfg.Train.Progress.update("write the snapshot", 1, 1)
	}
	return m, nil
}

func (t *Trainer) train(ctx context.Context) (*Model, error) {
	start := time.Now()
	since := start.Add(-t.cfg.Window)
	d, err := loadDataset(ctx, t.src, since, t.cfg.Train.Progress)
	if err != nil {
		return nil, err
	}
	// Hand the loading's garbage (query buffers, the builder's rows) back
	// before training allocates the factors: peak memory, not just heap.
	debug.FreeOSMemory()
	loaded := time.Now()
	if d.NumPairs() == 0 {
		return nil, fmt.Errorf("train ranking model from %d products: %w", d.NumItems(), ErrNoData)
	}
	m, err := Train(ctx, d, t.cfg.Train)
	if err != nil {
		return nil, err
	}
	if m.Handles, err = t.src.InfluencerHandles(ctx); err != nil {
		return nil, fmt.Errorf("train ranking model: %w", err)
	}
	t.log.Info("ranking: model trained", "users", d.NumUsers(), "items", d.NumItems(), "pairs", d.NumPairs(),
		"read", loaded.Sub(start).Round(time.Millisecond), "train", time.Since(loaded).Round(time.Millisecond), "blend_learned", m.Blend.Learned)
	return m, nil
}

// Run loads the snapshot if there is one (so a restarted server answers at
// once), then trains every Every until ctx is done. A failed training keeps
// the model in use and is retried at the next period.
func (t *Trainer) Run(ctx context.Context) error {
	next := time.Duration(0)
	if t.cfg.Snapshot != "" {
		m, err := LoadSnapshot(t.cfg.Snapshot)
		switch {
		case err == nil:
			t.r.SetModel(m)
			age := m.Age(time.Now())
			t.log.Info("ranking: snapshot loaded", "path", t.cfg.Snapshot, "age", age.Round(time.Second), "users", m.Data.NumUsers(), "items", m.Data.NumItems())
			next = max(0, t.cfg.Every-age)
		case errors.Is(err, fs.ErrNotExist):
		default:
			t.log.Warn("ranking: snapshot not loaded, training afresh", "path", t.cfg.Snapshot, "err", err)
		}
	}
	timer := time.NewTimer(next)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		next := t.cfg.Every
		if _, err := t.TrainOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if t.r.Model() == nil {
				next = min(next, 5*time.Second) // nothing to serve yet: try again soon
			}
			if errors.Is(err, ErrNoData) {
				t.log.Info("ranking: no interactions to train on yet", "retry_in", next)
			} else {
				t.log.Error("ranking: training failed; keeping the model in use", "err", err, "retry_in", next)
			}
		}
		timer.Reset(next)
	}
}

// snapshotFormat is bumped when the snapshot's layout changes. Formats 2
// (24-byte signals, float64 user vectors) and 3 are still read, converted,
// so that an upgraded server starts from its old snapshot instead of
// retraining. Format 3 has 16-byte signals and 8-bit user vectors with
// their scales. Format 4 adds the EASE lists (raw sections after the item
// neighbours) and writes the blend by feature name (Blend.GobEncode), so
// that adding a feature no longer changes the layout; its gob part is a
// header value, then the model.
const (
	snapshotFormat   = 4
	snapshotFormatV3 = 3
	snapshotFormatV2 = 2
)

// snapshotMagic opens every snapshot; it also tells a snapshot written on
// a machine of the other byte order (the raw sections are native).
const snapshotMagic uint64 = 0x5645_5452_494e_4131 // "VETRINA1"

// snapshotHeader is the first gob value of a format 4 snapshot; the model
// follows as a second value.
type snapshotHeader struct {
	Format int
}

// legacySnapshot reads the first gob value of any format: a format 4
// header (Model stays nil), or a format 2 or 3 snapshot whose model, with
// its fixed-length blend, lands in a legacyModel.
type legacySnapshot struct {
	Format int
	Model  *legacyModel
}

// legacyModel is Model as formats 2 and 3 encoded it.
type legacyModel struct {
	Version    int64
	TrainedAt  time.Time
	Reference  int64
	Data       *Dataset
	Factors    *Factors
	Neighbours *Neighbours
	Trending   *Trending
	Recent     *Trending
	Conversion *Conversion
	Blend      legacyBlend
	Index      *Index
	Handles    map[uint64]string
}

// legacyBlend is Blend with the six features of formats 2 and 3 (factor,
// neighbour, trending, recent, category, conversion).
type legacyBlend struct {
	Weights   [6]float64
	Bias      float64
	LiveBoost float64
	Learned   bool
}

// model converts l; the features it did not know weigh 0.
func (l *legacyModel) model() *Model {
	m := &Model{Version: l.Version, TrainedAt: l.TrainedAt, Reference: l.Reference, Data: l.Data, Factors: l.Factors,
		Neighbours: l.Neighbours, Trending: l.Trending, Recent: l.Recent, Conversion: l.Conversion, Index: l.Index, Handles: l.Handles}
	m.Blend = Blend{Bias: l.Blend.Bias, LiveBoost: l.Blend.LiveBoost, Learned: l.Blend.Learned}
	copy(m.Blend.Weights[:], l.Blend.Weights[:])
	return m
}

// bigSlices lists the model's large arrays, which a snapshot stores raw
// (streamed without a copy) rather than through gob, which would buffer
// the whole encoding in memory.
type bigSlices struct {
	users          *[]uint64
	userPtr        *[]int64
	userItems      *[]int32
	signals        *[]Signal
	userVecs       *[]int8
	userScale      *[]float32
	itemVecs       *[]float64
	nbPtr, nbItems *[]int32
	nbSims         *[]float32
	// EASE lists; nil pointers when the model has none.
	easePtr, easeItems *[]int32
	easeSims           *[]float32
}

func (m *Model) big() bigSlices {
	b := bigSlices{
		users: &m.Data.Users, userPtr: &m.Data.UserPtr, userItems: &m.Data.UserItems, signals: &m.Data.Signals,
		userVecs: &m.Factors.UserCodes, userScale: &m.Factors.UserScale, itemVecs: &m.Factors.Item,
		nbPtr: &m.Neighbours.Ptr, nbItems: &m.Neighbours.Items, nbSims: &m.Neighbours.Sims,
	}
	if m.EASE != nil {
		b.easePtr, b.easeItems, b.easeSims = &m.EASE.Ptr, &m.EASE.Items, &m.EASE.Sims
	}
	return b
}

// SaveSnapshot writes m to path atomically (a temporary file renamed): a
// magic number, the model without its large arrays (gob), then each large
// array raw. m is not modified.
func SaveSnapshot(path string, m *Model) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save model snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save model snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSnapshot(tmp, m); err != nil {
		tmp.Close()
		return fmt.Errorf("save model snapshot %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save model snapshot %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save model snapshot %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save model snapshot: %w", err)
	}
	return nil
}

func writeSnapshot(f io.Writer, m *Model) error {
	w := bufio.NewWriterSize(f, 1<<20)
	// A shallow copy whose large arrays are left out of the gob part.
	data, factors, nb := *m.Data, *m.Factors, *m.Neighbours
	light := *m
	light.Data, light.Factors, light.Neighbours = &data, &factors, &nb
	ease := EASELists{}
	if m.EASE != nil {
		ease = *m.EASE
	}
	light.EASE = &ease // its raw sections are written, empty when m has none
	lb := light.big()
	*lb.users, *lb.userPtr, *lb.userItems, *lb.signals = nil, nil, nil, nil
	*lb.userVecs, *lb.userScale, *lb.itemVecs = nil, nil, nil
	*lb.nbPtr, *lb.nbItems, *lb.nbSims = nil, nil, nil
	*lb.easePtr, *lb.easeItems, *lb.easeSims = nil, nil, nil
	if err := binary.Write(w, binary.NativeEndian, snapshotMagic); err != nil {
		return err
	}
	enc := gob.NewEncoder(w)
	if err := enc.Encode(snapshotHeader{Format: snapshotFormat}); err != nil {
		return err
	}
	if err := enc.Encode(&light); err != nil {
		return err
	}
	b := m.big()
	var easePtr, easeItems []int32
	var easeSims []float32
	if m.EASE != nil {
		easePtr, easeItems, easeSims = *b.easePtr, *b.easeItems, *b.easeSims
	}
	for _, err := range []error{
		writeRaw(w, *b.users), writeRaw(w, *b.userPtr), writeRaw(w, *b.userItems), writeRaw(w, *b.signals),
		writeRaw(w, *b.userVecs), writeRaw(w, *b.userScale), writeRaw(w, *b.itemVecs),
		writeRaw(w, *b.nbPtr), writeRaw(w, *b.nbItems), writeRaw(w, *b.nbSims),
		writeRaw(w, easePtr), writeRaw(w, easeItems), writeRaw(w, easeSims),
	} {
		if err != nil {
			return err
		}
	}
	return w.Flush()
}

// writeRaw writes len(s) and then s's memory as it is.
func writeRaw[T any](w io.Writer, s []T) error {
	if err := binary.Write(w, binary.NativeEndian, uint64(len(s))); err != nil {
		return err
	}
	if len(s) == 0 {
		return nil
	}
	var zero T
	_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero))))
	return err
}

// maxRawElems bounds one raw section, so that a corrupt length fails
// cleanly instead of allocating without bound.
const maxRawElems = 1 << 34

func readRaw[T any](r io.Reader, s *[]T) error {
	var n uint64
	if err := binary.Read(r, binary.NativeEndian, &n); err != nil {
		return err
	}
	if n > maxRawElems {
		return fmt.Errorf("raw section of %d elements: corrupt snapshot", n)
	}
	*s = make([]T, n)
	if n == 0 {
		return nil
	}
	var zero T
	_, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(*s))), int(n)*int(unsafe.Sizeof(zero))))
	return err
}

// readRawAs reads a raw section of Ts written by writeRaw into s,
// converting each to a U, a chunk at a time.
func readRawAs[T, U any](r io.Reader, s *[]U, conv func(T) U) error {
	var n uint64
	if err := binary.Read(r, binary.NativeEndian, &n); err != nil {
		return err
	}
	if n > maxRawElems {
		return fmt.Errorf("raw section of %d elements: corrupt snapshot", n)
	}
	*s = make([]U, n)
	chunk := make([]T, min(n, 1<<16))
	for done := 0; done < int(n); {
		c := chunk[:min(len(chunk), int(n)-done)]
		var zero T
		if _, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c))), len(c)*int(unsafe.Sizeof(zero)))); err != nil {
			return err
		}
		for k, v := range c {
			(*s)[done+k] = conv(v)
		}
		done += len(c)
	}
	return nil
}

// signalV2 is a Signal as snapshot format 2 stored it.
type signalV2 struct {
	Views, Chats, Purchases, DwellSec, First, Last uint32
}

func (o signalV2) signal() Signal {
	return Signal{Views: sat16(uint64(o.Views)), Chats: sat16(uint64(o.Chats)), Purchases: sat16(uint64(o.Purchases)),
		DwellSec: sat16(uint64(o.DwellSec)), First: o.First, Last: o.Last}
}

// LoadSnapshot reads a model saved by SaveSnapshot.
func LoadSnapshot(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model snapshot: %w", err)
	}
	defer f.Close()
	m, err := readSnapshot(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("load model snapshot %s: %w", path, err)
	}
	return m, nil
}

func readSnapshot(r io.Reader) (*Model, error) {
	var magic uint64
	if err := binary.Read(r, binary.NativeEndian, &magic); err != nil {
		return nil, err
	}
	if magic != snapshotMagic {
		return nil, errors.New("not a ranking snapshot of this format and byte order")
	}
	dec := gob.NewDecoder(r)
	var s legacySnapshot
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	var m *Model
	switch {
	case s.Format == snapshotFormat && s.Model == nil:
		m = &Model{}
		if err := dec.Decode(m); err != nil {
			return nil, err
		}
	case (s.Format == snapshotFormatV3 || s.Format == snapshotFormatV2) && s.Model != nil:
		m = s.Model.model()
	default:
		return nil, fmt.Errorf("snapshot format %d, want %d (or %d, %d)", s.Format, snapshotFormat, snapshotFormatV3, snapshotFormatV2)
	}
	if m.Data == nil || m.Factors == nil || m.Neighbours == nil {
		return nil, fmt.Errorf("snapshot format %d without its model's parts: corrupt snapshot", s.Format)
	}
	if s.Format == snapshotFormat && m.EASE == nil {
		m.EASE = &EASELists{} // gob leaves out an empty one; its sections follow all the same
	}
	b := m.big()
	readSignals := func() error { return readRaw(r, b.signals) }
	readUserVecs := func() error {
		if err := readRaw(r, b.userVecs); err != nil {
			return err
		}
		return readRaw(r, b.userScale)
	}
	if s.Format == snapshotFormatV2 {
		readSignals = func() error { return readRawAs(r, b.signals, signalV2.signal) }
		readUserVecs = func() error {
			var x []float64
			if err := readRaw(r, &x); err != nil {
				return err
			}
			if m.Factors.K <= 0 || len(x)%m.Factors.K != 0 {
				return errors.New("user vectors do not match K: corrupt snapshot")
			}
			m.Factors.setUsers(x)
			return nil
		}
	}
	readEASE := func() error { return nil } // formats 2 and 3 have none
	if s.Format == snapshotFormat {
		readEASE = func() error {
			for _, err := range []error{readRaw(r, b.easePtr), readRaw(r, b.easeItems), readRaw(r, b.easeSims)} {
				if err != nil {
					return err
				}
			}
			if len(m.EASE.Ptr) == 0 {
				m.EASE = nil // the model had no EASE part
			}
			return nil
		}
	}
	for _, err := range []error{
		readRaw(r, b.users), readRaw(r, b.userPtr), readRaw(r, b.userItems), readSignals(),
		readUserVecs(), readRaw(r, b.itemVecs),
		readRaw(r, b.nbPtr), readRaw(r, b.nbItems), readRaw(r, b.nbSims),
		readEASE(),
	} {
		if err != nil {
			return nil, fmt.Errorf("read raw section: %w", err)
		}
	}
	d := m.Data
	if len(d.UserPtr) != len(d.Users)+1 || len(d.UserItems) != len(d.Signals) || (len(d.UserPtr) > 0 && d.UserPtr[len(d.UserPtr)-1] != int64(len(d.Signals))) ||
		len(m.Factors.UserCodes) != len(d.Users)*m.Factors.K || len(m.Factors.UserScale) != len(d.Users) || len(m.Factors.Item) != len(d.Items)*m.Factors.K {
		return nil, errors.New("inconsistent sizes: corrupt snapshot")
	}
	d.reindex()
	m.derive()
	return m, nil
}
