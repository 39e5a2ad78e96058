package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/winnow-dev/winnow/worker"
)

// parse parses a subcommand's flags. When done is true the command returns
// code at once: 0 after -h, 1 after a bad flag (the flag package has
// printed why).
func parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitFatal, true
	}
	return 0, false
}

// parseArgs parses flags wherever they stand among the positional
// arguments, which it returns, and refuses more than most of them (-1:
// any number). The flag package alone stops at the first positional argument
// and leaves the flags after it unread: `winnow run winnow.yaml
// --check-config` started a worker with the defaults, and `winnow publish
// docs.jsonl --subject docs.raw.site` published to the default subject.
// "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string, most int) (pos []string, code int, done bool) {
	for {
		if code, done := parse(fs, args); done {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if most >= 0 && len(pos) > most {
		what := "takes flags only"
		if most > 0 {
			what = fmt.Sprintf("takes at most %d argument(s) besides its flags", most)
		}
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q: it %s (%s -h lists them)\n", fs.Name(), pos[most], what, fs.Name())
		return nil, exitFatal, true
	}
	return pos, 0, false
}

// sizeFlag is a flag that takes a size as the configuration does: bytes,
// or KiB, MiB or GiB (8MiB; worker.ParseBytes). It took bytes only, so
// `--max-doc-bytes 8MiB` was refused ("parse error") where the same value
// in the file or the environment was read.
type sizeFlag struct {
	n   worker.Bytes
	set bool
}

func (f *sizeFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.Itoa(int(f.n))
}

func (f *sizeFlag) Set(s string) error {
	n, err := worker.ParseBytes(s)
	if err != nil {
		return err
	}
	f.n, f.set = n, true
	return nil
}

// durationFlag is a duration flag that reads one as the configuration
// does: Go's (90s, 1h30m) or led by whole days (2d, 1d12h); fs.Duration
// refused days, which --since and the configuration take.
type durationFlag time.Duration

func (f *durationFlag) String() string { return time.Duration(*f).String() }

func (f *durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	switch {
	case errors.Is(err, errTooLong):
		return err
	case err != nil:
		return errors.New("want " + durationSyntax)
	case d < 0:
		return errors.New("want a duration of 0 or more")
	}
	*f = durationFlag(d)
	return nil
}

// sinceFlag is --since of `winnow show` and `redrive`: where on the output
// stream to start reading, as a duration back from now (90m, 6h; days too:
// 2d, 1d12h) or as a time (2026-12-06T15:04:05Z, 2026-12-06T15:04, or a
// date, 2026-12-06; UTC where no zone is given). It took a Go duration
// only: `--since 2d` and `--since 2026-12-06` were "parse error".
type sinceFlag struct {
	ago  time.Duration
	at   time.Time
	text string
}

// sinceLayouts are the times --since reads, RFC 3339's first.
var sinceLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

func (f *sinceFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *sinceFlag) Set(s string) error {
	*f = sinceFlag{text: s}
	if ago, err := parseDuration(s); err == nil {
		if ago < 0 {
			return errors.New("want a positive duration: how far back to read (6h)")
		}
		f.ago = ago
		return nil
	} else if errors.Is(err, errTooLong) {
		return errors.New("too far back")
	}
	for _, layout := range sinceLayouts {
		if at, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if at.After(time.Now()) {
				return fmt.Errorf("%s is in the future", at.Format(time.RFC3339))
			}
			f.at = at
			return nil
		}
	}
	return errors.New("want a duration back from now (90m, 6h, 2d) or a time (2026-12-06T15:04:05Z, 2026-12-06; UTC where no zone is given)")
}

// from is where the read starts: zero for the whole stream.
func (f *sinceFlag) from(now time.Time) time.Time {
	if f.ago > 0 {
		return now.Add(-f.ago)
	}
	return f.at
}

// given says whether --since chose a start.
func (f *sinceFlag) given() bool { return f.ago > 0 || !f.at.IsZero() }

// fail prints a subcommand's error on w and returns the fatal exit code.
func fail(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "%s: %v\n", cmd, err)
	return exitFatal
}

// remoteFlags are the flags `winnow publish`, `audit`, `redrive` and
// `show` share: where the configuration is and which NATS to reach. (They
// took `winnow run`'s, whose --handlers, --http-addr, --store-dir,
// --policy, --log-level and --check-config they ignored.)
func remoteFlags(fs *flag.FlagSet) (cfgPath *string, apply func(*Config) error) {
	cfgPath = fs.String("config", "", "YAML config `FILE` (also WINNOW_CONFIG): NATS, streams and subjects")
	natsURL := fs.String("nats-url", "", "NATS server `URL`s, comma-separated (also WINNOW_NATS_URL; required without --context)")
	natsCtx := fs.String("context", "", "reach NATS as the nats CLI's context `NAME` does (its URL, credentials, TLS files, inbox prefix and domain; or a context file's path)")
	apply = func(c *Config) error {
		var err error
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "context" {
				var nctx natsContext
				if nctx, err = loadNATSContext(*natsCtx); err == nil {
					nctx.apply(&c.NATS)
				} else {
					err = fmt.Errorf("--context: %w", err)
				}
			}
		})
		if err != nil {
			return err
		}
		// --nats-url comes last: the context's credentials to another URL.
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "nats-url" {
				c.NATS.URL = *natsURL
			}
		})
		return nil
	}
	return cfgPath, apply
}

// remoteConfig is the configuration of a subcommand that talks to a running
// NATS server (publish, audit, redrive, show): file, environment, then
// flags (--context, then --nats-url); a URL is required since there is
// nothing to embed.
func remoteConfig(cfgPath string, apply func(*Config) error) (Config, error) {
	cfg, err := loadConfig(cfgPath, os.LookupEnv)
	if err != nil {
		return cfg, err
	}
	if err := apply(&cfg); err != nil {
		return cfg, err
	}
	cfg.Worker.JetStreamDomain = cfg.NATS.JetStreamDomain
	if cfg.NATS.URL == "" {
		if u, ok := os.LookupEnv("NATS_URL"); ok && u != "" {
			// The nats CLI's variable, set in many shells: not read, as
			// its credentials (NATS_CREDS, NATS_USER, ...) would not be.
			return cfg, errors.New("--nats-url (or WINNOW_NATS_URL) or --context is required; NATS_URL, the nats CLI's, is not read: --nats-url \"$NATS_URL\"")
		}
		if name := selectedContext(); name != "" {
			return cfg, fmt.Errorf("--nats-url (or WINNOW_NATS_URL) or --context is required; the nats CLI's selected context is not read unasked: --context %s", name)
		}
		return cfg, errors.New("--nats-url (or WINNOW_NATS_URL) or --context is required")
	}
	if problem := natsURLsProblem(cfg.NATS.URL); problem != "" {
		return cfg, errors.New("--nats-url: " + problem)
	}
	return cfg, nil
}
