package moderate

import (
	"strings"
	"testing"
	"time"

	"github.com/winnow-dev/winnow/dedupe"
)

// BenchmarkPIILongLines runs the personal-data rules over one line of 64 KiB
// and one of 1 MiB of each shape a table or a hostile crawl can send (digit
// groups that read as phone numbers, dotted numbers, card numbers, addresses)
// and reports the cost per byte of the long line over the short one's:
// "growth" is about 1 when the rules are linear in the line, 16 when
// quadratic (the phone-overlap check was, at 1.7 s for 1 MiB of "12 34 ").
func BenchmarkPIILongLines(b *testing.B) {
	for _, shape := range []struct {
		unit  string
		finds bool // whether the rules find anything in it
	}{{"12 34 ", true}, {"12.34.", false}, {"555-123-4567 ", true}, {"4111 1111 1111 1111 ", true}, {"a@b.co ", true}, {"x at y dot com ", true}} {
		unit := shape.unit
		short := strings.Repeat(unit, (64<<10)/len(unit))
		long := strings.Repeat(unit, (1<<20)/len(unit))
		b.Run(strings.TrimSpace(unit), func(b *testing.B) {
			var tShort, tLong time.Duration
			var findings int
			for b.Loop() {
				t0 := time.Now()
				for range 16 { // as many bytes as the long line
					findings += len(pii(short, dedupe.Span{End: len(short)}, nil, nil))
				}
				t1 := time.Now()
				findings += len(pii(long, dedupe.Span{End: len(long)}, nil, nil))
				tShort, tLong = tShort+t1.Sub(t0), tLong+time.Since(t1)
			}
			if (findings > 0) != shape.finds {
				b.Fatalf("%d findings in %q; want findings: %v", findings, unit, shape.finds)
			}
			b.ReportMetric(tLong.Seconds()/tShort.Seconds(), "growth")
			b.ReportMetric(float64(len(long))*float64(b.N)/1e6/tLong.Seconds(), "long-MB/s")
		})
	}
}
