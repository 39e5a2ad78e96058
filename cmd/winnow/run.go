package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/internal/memlimit"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/worker"
)

// runFlags are the flags of `winnow run`; they override file and env.
func runFlags(fs *flag.FlagSet) (cfgPath *string, check *bool, apply func(*Config)) {
	cfgPath = fs.String("config", "", "YAML config `FILE` (also WINNOW_CONFIG)")
	check = fs.Bool("check-config", false, "validate the configuration, print it as YAML (a --config file) and exit")
	natsURL := fs.String("nats-url", "", "NATS server `URL`s, comma-separated (default: embedded server)")
	httpAddr := fs.String("http-addr", "", "health and metrics listen `ADDR` (default 127.0.0.1:8080)")
	storeDir := fs.String("store-dir", "", "embedded server's JetStream store `DIR` (default ./winnow-data)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	handlers := fs.Int("handlers", 0, "documents processed at once (default 4 x GOMAXPROCS)")
	policy := fs.String("policy", "", "moderation policy YAML `FILE` (overrides pipeline.moderation)")
	apply = func(c *Config) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["nats-url"] {
			c.NATS.URL = *natsURL
		}
		if set["http-addr"] {
			c.HTTP.Addr = *httpAddr
		}
		if set["store-dir"] {
			c.Embedded.StoreDir = *storeDir
		}
		if set["log-level"] {
			c.Log.Level = *logLevel
		}
		if set["handlers"] {
			c.Worker.Handlers = *handlers
		}
		c.policyFile = *policy
	}
	return cfgPath, check, apply
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath, check, apply := runFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow [run] [flags]\n\nConsumes documents from docs.raw.> and publishes cleaned records to docs.clean.>,\nduplicates to docs.dup.>, rejections to docs.rejected.> and dead letters to docs.dlq.>.\nWith no NATS URL it embeds a NATS server on 127.0.0.1:4222. Other commands (clean, publish,\naudit, redrive, bench, ...): winnow help.\n\n")
		fs.PrintDefaults()
	}
	if _, code, done := parseArgs(fs, args, 0); done {
		return code
	}
	cfg, err := loadConfig(*cfgPath, os.LookupEnv)
	if err == nil {
		apply(&cfg)
		err = applyPolicy(&cfg.Pipeline, cfg.policyFile)
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "winnow:", err)
		return exitFatal
	}
	unknown := unknownEnv(&Config{}, "WINNOW", os.Environ())
	if *check {
		for _, u := range unknown {
			fmt.Fprintln(stderr, "winnow: warning:", u)
		}
		for _, o := range cfg.overrides {
			fmt.Fprintln(stderr, "winnow: note:", o)
		}
		fmt.Fprintln(stderr, "winnow: configuration is valid")
		printConfig(stdout, cfg)
		return exitOK
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "winnow:", err)
		return exitFatal
	}
	defer log.Sync()
	b := buildOf()
	from := containerMemLimit(memlimit.Root(), os.LookupEnv)
	log.Info("winnow starting", zap.String("version", b.Version), zap.String("commit", b.Commit), zap.String("go", b.Go),
		zap.Int("gomaxprocs", runtime.GOMAXPROCS(0)), zap.String("gomemlimit", memLimit(debug.SetMemoryLimit(-1))),
		zap.String("gomemlimit_from", from), zap.String("config", orNone(cfg.configFile)), zap.String("policy", orNone(cfg.policyFile)))
	for _, u := range unknown {
		log.Warn("unknown environment variable: " + u)
	}
	for _, o := range cfg.overrides {
		log.Info("the environment replaces a setting of the file: " + o)
	}
	// A reload (SIGHUP, policy.watch) reads the moderation policy again,
	// from where start-up read it: the --policy file, or
	// pipeline.moderation in the configuration (file, environment, flags),
	// with the files the policy names.
	policy := func() (Config, error) {
		fresh, err := loadConfig(*cfgPath, os.LookupEnv)
		if err == nil {
			apply(&fresh)
			err = applyPolicy(&fresh.Pipeline, fresh.policyFile)
		}
		if err == nil {
			err = fresh.Pipeline.Validate()
		}
		return fresh, err
	}
	if err := serve(ctx, cfg, log, policy); err != nil {
		log.Error("winnow stopped", zap.Error(err))
		fmt.Fprintln(stderr, "winnow:", err)
		return exitFatal
	}
	return exitOK
}

// serve runs the worker until ctx ends: embedded or remote NATS, the HTTP
// listener, then drain and close in reverse order.
func serve(ctx context.Context, cfg Config, log *zap.Logger, policy func() (Config, error)) error {
	cfg.Worker.StartupWait, cfg.Worker.Shared.StartupWait = cfg.NATS.StartupWait, cfg.NATS.StartupWait
	cfg.Worker.JetStreamDomain, cfg.Worker.Shared.JetStreamDomain = cfg.NATS.JetStreamDomain, cfg.NATS.JetStreamDomain
	url := cfg.NATS.URL
	if url == "" {
		ns, err := startEmbedded(cfg.Embedded, cfg.NATS.JetStreamDomain, log)
		if err != nil {
			return err
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
		url = ns.ClientURL()
	}
	// Health and metrics listen first: while NATS is awaited and the
	// dedupe state replayed, /healthz answers and /readyz says not yet.
	handler, st := &swapHandler{}, newStartup()
	handler.set(st.handler())
	stopHTTP := func() {}
	if cfg.HTTP.Addr != "" {
		l, err := net.Listen("tcp", cfg.HTTP.Addr)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		var root http.Handler = handler
		if cfg.HTTP.Pprof {
			mux := http.NewServeMux()
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			mux.Handle("/", handler)
			root = mux
		}
		srv := &http.Server{Handler: root, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", zap.Error(err))
			}
		}()
		stopHTTP = sync.OnceFunc(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(sctx)
			cancel()
		})
		defer stopHTTP()
		log.Info("health and metrics", zap.String("addr", l.Addr().String()))
	}
	nc, err := connectWaiting(ctx, url, cfg.NATS, log, st)
	if err != nil {
		return err
	}
	if nc == nil {
		log.Info("stopped before NATS answered")
		return nil
	}
	defer nc.Close()
	log.Info("connected to nats", zap.String("url", redactURLs(nc.ConnectedUrl())), zap.String("server", nc.ConnectedServerName()))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(logsDroppedMetric())
	buildOf().register(reg)
	metrics := worker.NewMetrics(reg)
	pc := cfg.Pipeline
	var probe func(context.Context) error
	if pc.Cross && pc.Memory == nil {
		switch cfg.Worker.State {
		case "kv": // shared by every replica through a JetStream KV bucket
			shared := cfg.Worker.Shared
			step := "reading the dedupe bucket " + shared.Bucket + " (worker.state kv)"
			st.at(step)
			shared.Replaying = func(n int64) { st.at(fmt.Sprintf("%s: %d documents replayed", step, n)) }
			mem, err := worker.NewSharedMemory(ctx, nc, shared, pc.CrossOptions.Memory, log.Named("dedupe"), metrics)
			if err != nil {
				return err
			}
			pc.Memory, probe = mem, mem.Probe
		default: // one memory for this process's handlers
			pc.Memory = dedupe.NewMemory(pc.CrossOptions.Memory)
		}
		worker.RegisterMemory(reg, pc.Memory)
	}
	newPipeline, err := pipeline.Factory(pc)
	if err != nil {
		return err
	}
	w, err := worker.New(nc, cfg.Worker, newPipeline, log.Named("worker"), metrics)
	if err != nil {
		return err
	}
	w.WatchState(probe)
	handler.set(w.Handler(reg))
	files := cfg.policyFiles()
	defer reloadPolicy(log, metrics, cfg.Policy.Watch, func() []string { return files }, func() error {
		fresh, err := policy()
		if err != nil {
			return err
		}
		files = fresh.policyFiles()
		next := pc // the same dedupe memory and options: only the policy changes
		f := fresh.Pipeline
		next.Moderate, next.Moderation, next.ModerationOptions = f.Moderate, f.Moderation, f.ModerationOptions
		newPipeline, err := pipeline.Factory(next)
		if err != nil {
			return err
		}
		return w.SetPipeline(newPipeline)
	})()
	// A connection nats.go has closed by itself (the server refused its
	// credentials twice, or ended it over a protocol error) never comes
	// back: winnow stops with that error, so its orchestrator starts it
	// again and the log says why, not "stopped cleanly" with exit 0.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	logClosed := nc.ClosedHandler()
	nc.SetClosedHandler(func(c *nats.Conn) {
		logClosed(c)
		stopRun(errClosed(c))
	})
	runErr := w.Run(runCtx)
	if runErr == nil && nc.IsClosed() { // not by the drain below: it has not begun
		runErr = errClosed(nc)
	}
	stopHTTP() // before the connection's drain, as before
	if nc.IsClosed() {
		return runErr
	}
	if err := nc.Drain(); err != nil {
		log.Warn("nats drain", zap.Error(err))
	}
	for deadline := time.Now().Add(5 * time.Second); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if runErr == nil {
		log.Info("stopped cleanly")
	}
	return runErr
}

// errClosed says why nats.go closed nc by itself.
func errClosed(nc *nats.Conn) error {
	if err := nc.LastError(); err != nil {
		return fmt.Errorf("nats connection closed: %w", err)
	}
	return errors.New("nats connection closed")
}

// reloadPolicy calls reload on each SIGHUP and, with watch set, when the
// bytes of the files the policy came from change (read every watch), until
// the returned stop is called; it logs and counts what came of each
// (winnow_policy_reloads_total{result}): a policy that fails to load or
// validate leaves the running one in place. files is only called from
// reload's goroutine.
func reloadPolicy(log *zap.Logger, metrics *worker.Metrics, watch time.Duration, files func() []string, reload func() error) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var tick <-chan time.Time
		var seen uint64 // the files' digest when last read (watch only)
		if watch > 0 {
			t := time.NewTicker(watch)
			defer t.Stop()
			tick, seen = t.C, digestFiles(files())
		}
		for {
			var why string
			select {
			case <-quit:
				return
			case <-hup:
				why = "SIGHUP"
			case <-tick:
				why = "its files changed"
			}
			before := files()
			if watch > 0 {
				// Read before the reload reads them: a change during it is
				// seen at the next tick. A failed reload waits for a change.
				now := digestFiles(before)
				if why != "SIGHUP" && now == seen {
					continue
				}
				seen = now
			}
			err := reload()
			if after := files(); watch > 0 && !slices.Equal(before, after) {
				seen = digestFiles(after) // the policy names other files now
			}
			metrics.PolicyReloaded(err == nil)
			if err != nil {
				log.Error("moderation policy not reloaded; the running one stays", zap.String("on", why), zap.Error(err))
				continue
			}
			log.Info("moderation policy reloaded", zap.String("on", why))
		}
	}()
	return func() {
		signal.Stop(hup)
		close(quit)
		<-done
	}
}

// digestFiles sums the bytes of files, a missing or unreadable one as
// such, so that a change to any is seen.
func digestFiles(files []string) uint64 {
	h := xxhash.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			b = []byte("\x00unreadable: " + err.Error())
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return h.Sum64()
}

// swapHandler serves with the handler set last.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// startup is what the HTTP listener serves until the worker exists:
// alive, not ready, no metrics yet, the 503 naming the step start-up is
// at ("not ready: starting: waiting for NATS at nats://nats:4222 since
// ..."), which `winnow healthcheck` passes on to the container's health log.
type startup struct{ step atomic.Pointer[string] }

func newStartup() *startup {
	st := &startup{}
	st.at("")
	return st
}

// at sets the step the 503 names.
func (st *startup) at(step string) { st.step.Store(&step) }

func (st *startup) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		why := "not ready: starting"
		if step := *st.step.Load(); step != "" {
			why += ": " + step
		}
		http.Error(w, why, http.StatusServiceUnavailable)
	})
	return mux
}

// logsDropped counts log lines the sampler left out, for
// winnow_log_lines_dropped_total.
var logsDropped atomic.Int64

// orNone is a file for the start line: "none" when no file was given.
func orNone(file string) string {
	if file == "" {
		return "none"
	}
	return file
}

// logLevel reads log.level as operators write it: in any case (INFO, as
// Benthos and many charts write it), and "warning" for warn.
func logLevel(s string) (zapcore.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return zapcore.DebugLevel, true
	case "info":
		return zapcore.InfoLevel, true
	case "warn", "warning":
		return zapcore.WarnLevel, true
	case "error":
		return zapcore.ErrorLevel, true
	}
	return 0, false
}

// newLogger builds the zap logger. Above debug it samples as zap's
// production logger does: of the lines with one message and level, the
// first 100 in each second are written and then every 100th, so a flood
// of bad input or a retried outage cannot flood the logs (per-document
// lines such as "dead letter" and "transient failure" are the ones that
// repeat); the lines left out are counted.
func newLogger(c LogConfig, w io.Writer) (*zap.Logger, error) {
	level, ok := logLevel(c.Level)
	if !ok {
		return nil, fmt.Errorf("log.level: %q: want debug, info, warn or error", c.Level)
	}
	ecfg := zap.NewProductionEncoderConfig()
	ecfg.EncodeTime = zapcore.ISO8601TimeEncoder
	ecfg.EncodeDuration = zapcore.StringDurationEncoder
	enc := zapcore.NewJSONEncoder(ecfg)
	if strings.EqualFold(c.Format, "console") {
		enc = zapcore.NewConsoleEncoder(ecfg)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), level)
	if level > zapcore.DebugLevel {
		core = zapcore.NewSamplerWithOptions(core, time.Second, 100, 100,
			zapcore.SamplerHook(func(_ zapcore.Entry, d zapcore.SamplingDecision) {
				if d&zapcore.LogDropped != 0 {
					logsDropped.Add(1)
				}
			}))
	}
	return zap.New(core), nil
}

func logsDroppedMetric() prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "winnow_log_lines_dropped_total",
		Help: "Log lines the sampler left out: past 100 a second of one message and level, every 100th is written."},
		func() float64 { return float64(logsDropped.Load()) })
}
