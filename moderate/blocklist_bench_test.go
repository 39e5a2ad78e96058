package moderate

import (
	"strings"
	"testing"
	"time"

	"github.com/winnow-dev/winnow/dedupe"
)

// BenchmarkBlocklistLongLines runs a one-phrase blocklist over one line of
// 1 MiB and 16 lines of 64 KiB of the same shape, each holding the phrase
// thousands of times (150,000 findings a round), and reports the cost of
// the long line over the short ones' ("growth"). Measured: 22-57 and
// 0.16-0.23 s a round, most of it growing the findings' slice; checking
// each occurrence against a list of those before it (quadratic) made it
// 143-243 and 3.7-8.5 s.
func BenchmarkBlocklistLongLines(b *testing.B) {
	p := DefaultPolicy()
	p.Spam.Enabled, p.Promotional.Enabled, p.PII.Enabled = false, false, false
	p.Blocklist.Action = ActionRedact
	p.Blocklist.Phrases = []string{"casino"}
	m, err := New(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := dedupe.NewCleaner(dedupe.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	// plain; glued (found by the split reading only); both readings
	for _, unit := range []string{"casino ", "casinoWin ", "casino casinoWin "} {
		short := strings.Repeat(unit, (64<<10)/len(unit))
		long := strings.Repeat(unit, (1<<20)/len(unit))
		var short16, long1 dedupe.Analysis
		c.Analyze(strings.Repeat(short+"\n", 16), &short16)
		c.Analyze(long, &long1)
		b.Run(strings.TrimSpace(unit), func(b *testing.B) {
			var tShort, tLong time.Duration
			var found int
			for b.Loop() {
				t0 := time.Now()
				found += len(m.Moderate(&short16, nil))
				t1 := time.Now()
				found += len(m.Moderate(&long1, nil))
				tShort, tLong = tShort+t1.Sub(t0), tLong+time.Since(t1)
			}
			if found == 0 {
				b.Fatalf("nothing found in %q", unit)
			}
			b.ReportMetric(tLong.Seconds()/tShort.Seconds(), "growth")
		})
	}
}
