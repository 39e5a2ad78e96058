package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/corpus"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/worker"
)

// benchResult is one measured run of the load tool.
type benchResult struct {
	Mode          string        `json:"mode"`
	Docs          int           `json:"docs"`
	Bytes         int64         `json:"bytes"`
	Seconds       float64       `json:"seconds"`
	DocsPerSec    float64       `json:"docs_per_sec"`
	MBPerSec      float64       `json:"mb_per_sec"`
	CPUPerDoc     float64       `json:"cpu_us_per_doc"` // process CPU (user+system), server included
	P50, P99, Max time.Duration `json:"-"`
}

// runBench is the load tool: it publishes documents to the input subject
// (at full speed or --rate) through an embedded nats-server to a worker in
// this process and measures end-to-end throughput and latency, first for a
// pass-through worker (same NATS path, publish and ack protocol, no
// cleaning), then for the cleaning worker with in-memory state, then with
// the shared KV state, in the same run.
func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("docs", "../shared/corpus/bench.jsonl.gz", "JSON-lines `FILE` of documents (.gz allowed)")
	size := fs.String("size", "as-is", "document size: as-is, or 4k (consecutive documents concatenated to at least 4 KB)")
	n := fs.Int("n", 20000, "documents to send per run")
	rate := fs.Float64("rate", 0, "documents per second (0: as fast as the publisher can)")
	warmup := fs.Int("warmup", 0, "documents sent (at full speed) and drained before each measured run, to measure a worker whose tables have grown")
	handlers := fs.Int("handlers", 0, "worker handlers (default 4 x GOMAXPROCS, as `winnow run`)")
	rounds := fs.Int("rounds", 1, "rounds of all the runs; ratios are taken within a round and summarised over them")
	modes := fs.String("modes", "pass-through,winnow,winnow-kv", "comma-separated `runs`: pass-through, winnow, winnow-kv")
	profile := fs.String("cpuprofile", "", "write a CPU profile of each run to `PREFIX`.<run>.<round>")
	memProfile := fs.String("memprofile", "", "write an allocation profile after each run to `PREFIX`.<run>.<round> (counting from the process start)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow bench [flags]\n\nA load test: publishes documents through an embedded nats-server to a worker in\nthis process and reports end-to-end documents/s and latency for each run (a\npass-through worker, then winnow with in-memory and with KV state: --modes),\nand winnow's rate as a ratio to the pass-through worker's in the same round.\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	if *warmup < 0 {
		return fail(stderr, "winnow bench", fmt.Errorf("--warmup %d: want >= 0", *warmup))
	}
	all, err := benchInput(*input, *size, *warmup+*n)
	if err != nil {
		return fail(stderr, "winnow bench", err)
	}
	warm, docs := all[:*warmup], all[*warmup:]
	runs := strings.Split(*modes, ",")
	for _, mode := range runs {
		if !slices.Contains([]string{"pass-through", "winnow", "winnow-kv"}, mode) {
			return fail(stderr, "winnow bench", fmt.Errorf("--modes: unknown run %q", mode))
		}
	}
	if *rounds < 1 {
		return fail(stderr, "winnow bench", fmt.Errorf("--rounds %d: want at least 1", *rounds))
	}
	// Each round runs every mode in turn; the ratios are taken within a
	// round, so a noisy neighbour slows both sides of a ratio alike.
	var vsPass, kvVsMem []float64
	for round := 1; round <= *rounds; round++ {
		byMode := map[string]benchResult{}
		for _, mode := range runs {
			var prof io.Closer
			suffix := fmt.Sprintf(".%s.%d", mode, round)
			if *profile != "" {
				if prof, err = startCPUProfile(*profile + suffix); err != nil {
					return fail(stderr, "winnow bench", err)
				}
			}
			r, err := benchRun(ctx, mode, warm, docs, *rate, *handlers)
			if prof != nil {
				prof.Close()
			}
			if err != nil {
				return fail(stderr, "winnow bench", err)
			}
			if *memProfile != "" {
				if err := writeAllocProfile(*memProfile + suffix); err != nil {
					return fail(stderr, "winnow bench", err)
				}
			}
			byMode[mode] = r
			fmt.Fprintf(stdout, "%-12s %6d docs (%s, %.1f MB) in %5.2fs: %7.0f docs/s %6.2f MB/s  cpu %4.0f µs/doc (%.2f cores)  latency p50 %v p99 %v max %v\n",
				r.Mode, r.Docs, *size, float64(r.Bytes)/1e6, r.Seconds, r.DocsPerSec, r.MBPerSec, r.CPUPerDoc, r.CPUPerDoc*r.DocsPerSec/1e6,
				r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
		}
		pt, okP := byMode["pass-through"]
		w, okW := byMode["winnow"]
		kv, okK := byMode["winnow-kv"]
		if *rate > 0 { // no ratios: each run gets the same offered load
			continue
		}
		if okP && okW {
			vsPass = append(vsPass, w.DocsPerSec/pt.DocsPerSec)
			fmt.Fprintf(stdout, "round %d: winnow / pass-through %.2f (docs/s), CPU per document %.2fx\n",
				round, w.DocsPerSec/pt.DocsPerSec, w.CPUPerDoc/pt.CPUPerDoc)
		}
		if okW && okK {
			kvVsMem = append(kvVsMem, kv.DocsPerSec/w.DocsPerSec)
			fmt.Fprintf(stdout, "round %d: winnow with KV state / with in-memory state %.2f (docs/s)\n", round, kv.DocsPerSec/w.DocsPerSec)
		}
	}
	summary := func(name string, v []float64) {
		if len(v) == 0 {
			return
		}
		slices.Sort(v)
		fmt.Fprintf(stdout, "%s: median %.2f, range %.2f-%.2f over %d rounds\n", name, v[len(v)/2], v[0], v[len(v)-1], len(v))
	}
	if *rate > 0 {
		fmt.Fprintf(stdout, "at a fixed rate docs/s is the offered load: compare the latencies and CPU per document\n")
		return exitOK
	}
	summary("winnow / pass-through", vsPass)
	summary("KV state / in-memory state", kvVsMem)
	return exitOK
}

// benchInput loads n documents, as they are or concatenated to >= 4 KB.
func benchInput(path, size string, n int) ([][]byte, error) {
	src, err := corpus.Docs(path, 0)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i := 0; len(out) < n && len(src) > 0; {
		d := src[i%len(src)]
		cycle := i / len(src)
		id := fmt.Sprintf("b%d/%s", cycle, d.ID)
		text := d.Text
		i++
		if size == "4k" {
			var b strings.Builder
			b.WriteString(text)
			for b.Len() < 4096 {
				b.WriteString("\n\n")
				b.WriteString(src[i%len(src)].Text)
				i++
			}
			text = b.String()
		} else if size != "as-is" {
			return nil, fmt.Errorf("--size %q: want as-is or 4k", size)
		}
		line, _ := json.Marshal(corpus.Doc{ID: id, Text: text})
		out = append(out, line)
	}
	return out, nil
}

func benchRun(ctx context.Context, mode string, warm, docs [][]byte, rate float64, handlers int) (benchResult, error) {
	dir, err := os.MkdirTemp("", "winnow-bench")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	ns, err := startEmbedded(EmbeddedConfig{Host: "127.0.0.1", Port: 0, StoreDir: dir, MaxPayload: 8 << 20}, "", zap.NewNop())
	if err != nil {
		return benchResult{}, err
	}
	defer ns.Shutdown()
	url := ns.ClientURL()
	wc := worker.DefaultConfig()
	wc.PassThrough = mode == "pass-through"
	if handlers > 0 {
		wc.Handlers = handlers
	}
	wnc, err := nats.Connect(url)
	if err != nil {
		return benchResult{}, err
	}
	defer wnc.Close()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	pc := pipeline.DefaultConfig()
	if mode == "winnow-kv" {
		wc.State = "kv"
		if pc.Memory, err = worker.NewSharedMemory(wctx, wnc, worker.DefaultSharedConfig(), pc.CrossOptions.Memory, nil, nil); err != nil {
			return benchResult{}, err
		}
	} else {
		pc.Memory = dedupe.NewMemory(pc.CrossOptions.Memory)
	}
	newPipeline, err := pipeline.Factory(pc)
	if err != nil {
		return benchResult{}, err
	}
	w, err := worker.New(wnc, wc, newPipeline, nil, nil)
	if err != nil {
		return benchResult{}, err
	}
	werr := make(chan error, 1)
	go func() { werr <- w.Run(wctx) }()
	for !w.Ready() {
		select {
		case err := <-werr:
			return benchResult{}, err
		case <-time.After(10 * time.Millisecond):
		}
	}

	// Latency: from when a document was published (or due) to its
	// record's arrival. The warm-up phase, when there is one, is published
	// and drained first and not measured.
	nc, err := nats.Connect(url)
	if err != nil {
		return benchResult{}, err
	}
	defer nc.Close()
	phases := []*benchPhase{newBenchPhase(warm), newBenchPhase(docs)}
	type at struct{ phase, i int }
	index := make(map[string]at, len(warm)+len(docs))
	for pi, ph := range phases {
		for i, d := range ph.docs {
			var doc corpus.Doc
			_ = json.Unmarshal(d, &doc)
			index[doc.ID] = at{pi, i}
		}
	}
	var mu sync.Mutex
	for _, prefix := range []string{wc.Subjects.Clean, wc.Subjects.Dup, wc.Subjects.Rejected, wc.Subjects.DLQ} {
		if _, err := nc.Subscribe(prefix+".>", func(m *nats.Msg) {
			now := time.Now()
			id := m.Header.Get(nats.MsgIdHdr) // not the body: the harness must not spend the CPU it measures
			mu.Lock()
			defer mu.Unlock()
			if a, ok := index[id]; ok {
				phases[a.phase].arrived(a.i, now)
			}
		}); err != nil {
			return benchResult{}, err
		}
	}
	nc.Flush()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(512))
	if err != nil {
		return benchResult{}, err
	}
	if len(warm) > 0 {
		if err := phases[0].publish(js, &mu, 0, mode+" warm-up"); err != nil {
			return benchResult{}, err
		}
	}
	ph := phases[1]
	cpu0 := processCPU()
	start := time.Now()
	if err := ph.publish(js, &mu, rate, mode); err != nil {
		return benchResult{}, err
	}
	secs := time.Since(start).Seconds()
	cpu := processCPU() - cpu0
	stop()
	<-werr
	mu.Lock()
	defer mu.Unlock()
	lat := ph.lat
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return benchResult{Mode: mode, Docs: len(docs), Bytes: ph.bytes, Seconds: secs, DocsPerSec: float64(len(docs)) / secs,
		MBPerSec: float64(ph.bytes) / 1e6 / secs, CPUPerDoc: float64(cpu.Microseconds()) / float64(len(docs)), P50: pct(0.50), P99: pct(0.99), Max: lat[len(lat)-1]}, nil
}

// benchPhase is one batch of documents published and awaited together.
type benchPhase struct {
	docs  [][]byte
	sent  []time.Time // when each was published, or due at a fixed rate
	lat   []time.Duration
	bytes int64
	done  chan struct{}
}

func newBenchPhase(docs [][]byte) *benchPhase {
	return &benchPhase{docs: docs, sent: make([]time.Time, len(docs)), lat: make([]time.Duration, 0, len(docs)), done: make(chan struct{})}
}

// arrived records document i's outcome; the caller holds the lock.
func (p *benchPhase) arrived(i int, now time.Time) {
	if p.sent[i].IsZero() {
		return
	}
	p.lat = append(p.lat, now.Sub(p.sent[i]))
	if len(p.lat) == len(p.docs) {
		close(p.done)
	}
}

// publish sends the phase's documents (at a fixed rate when rate > 0) and
// waits for every outcome.
func (p *benchPhase) publish(js jetstream.JetStream, mu *sync.Mutex, rate float64, what string) error {
	start := time.Now()
	for i, d := range p.docs {
		// Latency counts from when a document was due: a publisher that
		// falls behind does not hide the queueing from the figures
		// (open-loop load).
		at := pace(start, i, rate)
		p.bytes += int64(len(d))
		mu.Lock()
		p.sent[i] = at
		mu.Unlock()
		for {
			if _, err := js.PublishAsync("docs.raw.bench", d); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("%s: %d of %d records after 5 minutes", what, len(p.lat), len(p.docs))
	}
}

// pace waits until document i of a run started at start is due at rate
// documents per second (start + i/rate) and returns that time; with rate
// <= 0 it returns at once, with the time now. Unlike a ticker, which drops
// the ticks a busy publisher misses, it catches up: the rate asked is the
// rate sent.
func pace(start time.Time, i int, rate float64) time.Time {
	if rate <= 0 {
		return time.Now()
	}
	at := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
	if wait := time.Until(at); wait > 0 {
		time.Sleep(wait)
	}
	return at
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type profileFile struct{ f *os.File }

func (p profileFile) Close() error { pprof.StopCPUProfile(); return p.f.Close() }

func startCPUProfile(path string) (io.Closer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return profileFile{f}, nil
}

// writeAllocProfile writes the allocations since the process started (the
// documents loaded before the runs are a fixed share of it).
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
