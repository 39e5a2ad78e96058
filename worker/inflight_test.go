package worker

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/winnow-dev/winnow/pipeline"
)

// oldestNow gathers winnow_in_flight_oldest_seconds from reg.
func oldestNow(t *testing.T, reg prometheus.Gatherer) (seconds float64, ok bool) {
	t.Helper()
	return gaugeNow(t, reg, "winnow_in_flight_oldest_seconds")
}

// TestInFlightOldest: winnow_in_flight_oldest_seconds is 0 while no
// handler holds a document, climbs while one holds its document (in
// JetStream and in core mode), and is 0 again once it lets it go.
func TestInFlightOldest(t *testing.T) {
	for _, mode := range []Mode{ModeJetStream, ModeCore} {
		t.Run(string(mode), func(t *testing.T) {
			s := startServer(t)
			cfg := testConfig()
			cfg.Mode = mode
			gate := make(chan struct{})
			hold := pipeline.StageFunc(func(d *pipeline.Doc) {
				if d.In.ID == "stuck" {
					<-gate
				}
			})
			r := startWorker(t, s, cfg, hold)
			release := sync.OnceFunc(func() { close(gate) })
			t.Cleanup(release) // before the worker's cleanup stops it
			if v, ok := oldestNow(t, r.reg); !ok || v != 0 {
				t.Fatalf("before any document: %v (exported %v), want 0", v, ok)
			}

			nc, _ := connect(t, s)
			out, err := nc.SubscribeSync("docs.clean.>")
			if err != nil {
				t.Fatal(err)
			}
			send := func(id string) {
				b, _ := json.Marshal(map[string]string{"id": id, "text": "Story " + id + ", told once."})
				if err := nc.Publish("docs.raw.held", b); err != nil {
					t.Fatal(err)
				}
			}
			send("stuck")
			explain := func() string { v, _ := oldestNow(t, r.reg); return fmt.Sprintf("oldest %vs", v) }
			waitExplained(t, "the held document's age", func() bool { v, _ := oldestNow(t, r.reg); return v >= 0.3 }, explain)
			// Other documents come and go; the oldest is still the one
			// held, and its age climbs. (In core mode the server may give
			// one to the held handler's subscription, where it waits.)
			before, _ := oldestNow(t, r.reg)
			const quick = 3
			for i := range quick {
				send(fmt.Sprint("quick-", i))
				if mode != ModeJetStream {
					continue
				}
				if _, err := out.NextMsg(10 * time.Second); err != nil {
					t.Fatalf("a document behind the held one: %v", err)
				}
			}
			time.Sleep(50 * time.Millisecond)
			if after, _ := oldestNow(t, r.reg); after <= before {
				t.Errorf("the held document's age went from %vs to %vs", before, after)
			}

			release()
			want := 1
			if mode != ModeJetStream {
				want += quick
			}
			for range want {
				if _, err := out.NextMsg(10 * time.Second); err != nil {
					t.Fatalf("the held document and those behind it: %v", err)
				}
			}
			waitExplained(t, "no document held", func() bool { v, _ := oldestNow(t, r.reg); return v == 0 }, explain)
		})
	}
}
