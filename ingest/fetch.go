package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/vetrina/vetrina/internal/retry"
)

// fetched is one fetch response: messages in offset order and the
// partition's high watermark (-1 if unknown).
type fetched struct {
	msgs      []record
	arena     []byte // the values of msgs point into it
	highWater int64
}

// record is the part of a Kafka message the ingester keeps.
type record struct {
	offset int64
	value  []byte
}

// fetch reads the partition from pc.next on, one fetch request at a time,
// and hands each response to out. The channel is small, so a stalled
// insert stops fetching: memory stays bounded by a few fetches.
func (pc *partitionConsumer) fetch(ctx context.Context, out chan<- fetched, free <-chan fetched) {
	in := pc.in
	offset := pc.next
	var conn *kafka.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	bo := retry.NewBackoff(minBackoff, maxBackoff)
	arenaSize := 64 << 10
	largest := 0 // the largest message value read so far
	failures := 0
	backoff := func(err error) {
		in.setBrokerErr(err)
		if failures++; failures >= 5 {
			in.blocked.Store(pc.partLabelFull(), err.Error())
		}
		in.log.Warn("ingest: fetch failed; retrying", "topic", pc.topic, "partition", pc.partition, "err", err)
		if conn != nil {
			conn.Close()
			conn = nil
		}
		_ = bo.Sleep(ctx) // the loop ends if ctx did
	}
	for ctx.Err() == nil {
		if conn == nil {
			c, err := pc.dialLeader(ctx)
			if err != nil {
				backoff(err)
				continue
			}
			// Where does the partition start and end now? Messages below
			// its start expired before they landed: say so and go on. An
			// end below what ClickHouse holds means the topic was
			// recreated or the broker lost its log: reading on would
			// skip every new message up to that point, so refuse, not
			// ready, until an operator decides.
			first, last, err := c.ReadOffsets()
			if err != nil {
				c.Close()
				backoff(fmt.Errorf("read offsets of %s/%d: %w", pc.topic, pc.partition, err))
				continue
			}
			if offset > last {
				c.Close()
				err := fmt.Errorf("partition %s/%d ends at offset %d but ClickHouse already holds offsets up to %d: was the topic recreated? refusing to skip messages", pc.topic, pc.partition, last, offset-1)
				in.blocked.Store(pc.partLabelFull(), err.Error())
				backoff(err)
				continue
			}
			if offset < first {
				in.log.Error("ingest: messages expired from Kafka before landing", "topic", pc.topic, "partition", pc.partition, "from", offset, "to", first-1)
				offset = first
			}
			if _, err := c.Seek(offset, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
				c.Close()
				backoff(fmt.Errorf("seek %s/%d to %d: %w", pc.topic, pc.partition, offset, err))
				continue
			}
			conn = c
		}
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: in.cfg.FetchBytes, MaxWait: 500 * time.Millisecond})
		// Values are read into one arena per fetch rather than one
		// allocation per message, and arenas are recycled. A nearly full
		// arena is handed over and the fetch goes on in another (below);
		// a message that does not fit ends the fetch there (the next one
		// resumes at it) and grows the arenas, up to twice the fetch size
		// (compressed batches expand), so memory per partition stays
		// bounded.
		var c fetched
		select {
		case c = <-free:
		default:
		}
		msgs := c.msgs[:0]
		arena := c.arena[:0]
		if cap(arena) < arenaSize {
			arena = make([]byte, 0, arenaSize)
		}
		hw := batch.HighWaterMark()
		handOffUntil := time.Now().Add(handOffFor)
		for {
			// Near the arena's end, hand what it holds to the decoder and
			// read on into another arena: a fetch that stopped at a message
			// that does not fit would make the next one re-read, and the
			// broker re-send and re-decompress, the whole record batch it
			// is in. The hand-off waits for the decoder only briefly, well
			// within the read deadline; past that the fetch stops here.
			if len(msgs) > 0 && cap(arena)-len(arena) < min(max(2*largest, 4<<10), cap(arena)/4) {
				if !pc.handOff(ctx, out, fetched{msgs: msgs, arena: arena, highWater: hw}, handOffUntil) {
					break
				}
				offset = msgs[len(msgs)-1].offset + 1
				c = fetched{}
				select {
				case c = <-free:
				default:
				}
				msgs, arena = c.msgs[:0], c.arena[:0]
				if cap(arena) < arenaSize {
					arena = make([]byte, 0, arenaSize)
				}
			}
			n, err := batch.Read(arena[len(arena):cap(arena)])
			if err != nil {
				if errors.Is(err, io.ErrShortBuffer) {
					// Grow for next time: busy partitions get big arenas,
					// idle ones keep small ones.
					arenaSize = min(max(2*arenaSize, n), max(pc.maxArena(), n))
				}
				break
			}
			largest = max(largest, n)
			// A fetch from the middle of a record batch returns the whole
			// batch, and kafka-go hands back its records before the
			// requested offset too: skip them, they were read before.
			if at := batch.Offset() - 1; at >= offset {
				v := arena[len(arena) : len(arena)+n : len(arena)+n]
				arena = arena[:len(arena)+n]
				msgs = append(msgs, record{offset: at, value: v})
			}
		}
		if ctx.Err() != nil {
			_ = batch.Close()
			return
		}
		if hw >= 0 {
			pc.highWater.Store(hw)
			pc.updateLag()
		}
		err := batch.Close()
		if len(msgs) > 0 {
			offset = msgs[len(msgs)-1].offset + 1
		}
		if len(msgs) > 0 || hw >= 0 {
			select {
			case out <- fetched{msgs: msgs, arena: arena, highWater: hw}:
			case <-ctx.Done():
				return
			}
		}
		switch {
		case err == nil || errors.Is(err, kafka.RequestTimedOut) || errors.Is(err, io.ErrShortBuffer):
			failures = 0
			in.blocked.Delete(pc.partLabelFull())
			// Some brokers answer a long poll that found nothing with
			// RequestTimedOut: that is an empty fetch, not a failure.
			bo.Reset()
			if in.brokerE.Load() != nil {
				in.setBrokerErr(nil)
			}
		case errors.Is(err, kafka.OffsetOutOfRange):
			first, last, oerr := conn.ReadOffsets()
			if oerr != nil {
				backoff(oerr)
				continue
			}
			if offset < first {
				// Retention deleted messages before they landed: nothing
				// can bring them back; say so loudly and go on.
				in.log.Error("ingest: messages expired from Kafka before landing", "topic", pc.topic, "partition", pc.partition, "from", offset, "to", first-1)
				offset = first
				conn.Close()
				conn = nil
			} else if offset > last {
				// ClickHouse holds offsets the partition never reached: the
				// topic was recreated or the broker lost its log. Reading on
				// would skip every new message up to what ClickHouse holds, so
				// stop here, not ready, until an operator decides (see
				// docs/operations.md, Exactly once) rather than lose data quietly.
				err := fmt.Errorf("partition %s/%d ends at offset %d but ClickHouse already holds offsets up to %d: was the topic recreated? refusing to skip messages", pc.topic, pc.partition, last, offset-1)
				in.blocked.Store(pc.partLabelFull(), err.Error())
				backoff(err)
			} else {
				backoff(fmt.Errorf("fetch %s/%d at %d: %w", pc.topic, pc.partition, offset, err))
			}
		case ctx.Err() != nil:
			return
		default:
			backoff(fmt.Errorf("fetch %s/%d at %d: %w", pc.topic, pc.partition, offset, err))
		}
	}
}

// handOffFor bounds how long one fetch waits, in all, to hand full arenas
// to the decoder before it stops (its read deadline is 15 s).
const handOffFor = 3 * time.Second

// handOff sends c to out, waiting until deadline at most; it reports
// whether c was sent.
func (pc *partitionConsumer) handOff(ctx context.Context, out chan<- fetched, c fetched, deadline time.Time) bool {
	select {
	case out <- c:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case out <- c:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (pc *partitionConsumer) dialLeader(ctx context.Context) (*kafka.Conn, error) {
	var errs []error
	for _, b := range pc.in.cfg.Brokers {
		c, err := pc.in.dialer.DialLeader(ctx, "tcp", b, pc.topic, int(pc.partition))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial leader of %s/%d: %w", pc.topic, pc.partition, errors.Join(errs...))
}
