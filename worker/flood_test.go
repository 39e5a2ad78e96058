package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/winnow-dev/winnow/schemas"
)

// badInput makes the i-th malformed input, cycling through every bad class.
func badInput(i int, maxBytes int) (*nats.Msg, schemas.Reason) {
	deep := strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50)
	classes := []struct {
		data   string
		reason schemas.Reason
	}{
		{`{"id":"x","text":`, schemas.ReasonInvalidJSON},
		{"{\"id\":\"x\",\"text\":\"bad \xff\xfe\"}", schemas.ReasonInvalidUTF8},
		{"", schemas.ReasonEmpty},
		{`{"text":"no id"}`, schemas.ReasonMissingID},
		{`{"id":["x"],"text":"t"}`, schemas.ReasonWrongType},
		{`{"id":"x","text":"t","metadata":` + deep + `}`, schemas.ReasonTooDeep},
		{strings.Repeat("z", maxBytes+1), schemas.ReasonTooLarge},
		{"plain text without an id header", schemas.ReasonNoID},
		{`{"id":"x"}`, schemas.ReasonMissingText},
		{`[1,2,3]`, schemas.ReasonWrongType},
	}
	c := classes[i%len(classes)]
	return &nats.Msg{Subject: fmt.Sprint("docs.raw.flood", i%len(classes)), Data: []byte(c.data)}, c.reason
}

func rssKB(t *testing.T) int {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestMalformedFlood: 1,000 inputs over every bad class all end on the
// dead-letter subject with their reason and bytes, and the worker keeps
// running.
func TestMalformedFlood(t *testing.T) {
	s := startServer(t)
	cfg := testConfig()
	cfg.MaxDocBytes = 64 << 10
	r := startWorker(t, s, cfg)
	_, js := connect(t, s)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			m, _ := badInput(i, int(cfg.MaxDocBytes))
			publishRaw(t, js, m)
		}
	}
	publish(0, 200) // warm up: buffers, streams, GC pacing
	explain := func() string {
		return fmt.Sprintf("%d outputs, %s", outputCount(t, js, cfg.OutputStream), consumerState(js, cfg))
	}
	waitExplained(t, "warm-up dead letters", func() bool { return outputCount(t, js, cfg.OutputStream) == 200 }, explain)
	before := rssKB(t)
	publish(200, 1200)
	waitExplained(t, "1,000 dead letters", func() bool { return outputCount(t, js, cfg.OutputStream) == 1200 }, explain)
	after := rssKB(t)
	if !r.w.Ready() {
		t.Fatal("worker stopped consuming during the flood")
	}
	byReason := map[string]int{}
	for i, o := range readOutputs(t, js, cfg.OutputStream) {
		if !strings.HasPrefix(o.subject, "docs.dlq.") {
			t.Fatalf("output %d on %s, want docs.dlq.>", i, o.subject)
		}
		var dl schemas.DeadLetter
		if err := json.Unmarshal(o.data, &dl); err != nil {
			t.Fatal(err)
		}
		orig, _ := dl.Bytes()
		if dl.Reason == "" || dl.Error == "" || o.header.Get(HeaderReason) != string(dl.Reason) {
			t.Fatalf("dead letter without its reason: %+v", dl)
		}
		if dl.Size > 0 && !bytes.HasPrefix(bytes.Repeat([]byte("z"), dl.Size), orig) && len(orig) == 0 {
			t.Fatalf("dead letter lost its bytes: %+v", dl)
		}
		byReason[string(dl.Reason)]++
	}
	for i := 0; i < 10; i++ {
		_, want := badInput(i, int(cfg.MaxDocBytes))
		if byReason[string(want)] == 0 {
			t.Errorf("no dead letter with reason %s", want)
		}
	}
	// The RSS here includes the in-process server holding the dead letters;
	// scripts/e2e-flood.sh measures the worker process alone against its
	// 10% bound.
	t.Logf("1,000 malformed inputs dead-lettered %v; test process RSS %d kB before, %d kB after",
		byReason, before, after)
}
