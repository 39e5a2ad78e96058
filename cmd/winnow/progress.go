package main

import (
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// progressEvery is how often a long read of a stream says how far it is.
const progressEvery = 5 * time.Second

// readProgress tells w how far a tool's read of a stream has come, every
// progressEvery, so one reading millions of outputs (about 45,000 a second
// here) does not sit silent for minutes: "winnow audit: read to sequence
// 1200000 of 10000000, 12% of the way, in 40s". A read shorter than
// progressEvery says nothing; neither does a nil readProgress, which
// newReadProgress returns for a nil w.
type readProgress struct {
	w           io.Writer
	tool        string
	first, last uint64 // the first message's sequence, and the stream's last
	start, next time.Time
	now         func() time.Time
}

func newReadProgress(w io.Writer, tool string, last uint64) *readProgress {
	if w == nil {
		return nil
	}
	start := time.Now()
	return &readProgress{w: w, tool: tool, last: last, start: start, next: start.Add(progressEvery), now: time.Now}
}

// at notes that m was read.
func (p *readProgress) at(m jetstream.Msg) {
	if p == nil {
		return
	}
	if p.first == 0 {
		if md, err := m.Metadata(); err == nil {
			p.first = md.Sequence.Stream
		}
	}
	now := p.now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	md, err := m.Metadata()
	if err != nil {
		return
	}
	seq, share := md.Sequence.Stream, 1.0
	if p.last > p.first && seq >= p.first {
		share = float64(seq-p.first+1) / float64(p.last-p.first+1)
	}
	fmt.Fprintf(p.w, "%s: read to sequence %d of %d, %.0f%% of the way, in %s\n", p.tool, seq, p.last, 100*share,
		now.Sub(p.start).Round(time.Second))
}
