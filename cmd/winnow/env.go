package main

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/winnow-dev/winnow/worker"
)

var (
	durationType = reflect.TypeOf(time.Duration(0))
	bytesType    = reflect.TypeOf(worker.Bytes(0))
)

// applyEnv sets every field of the struct v points to from an environment
// variable named prefix_PATH, where PATH is the field's yaml names joined by
// '_' and upper-cased (WINNOW_WORKER_SUBJECTS_INPUT). Lists are
// comma-separated.
func applyEnv(v any, prefix string, lookup func(string) (string, bool)) error {
	return applyEnvValue(reflect.ValueOf(v).Elem(), prefix, "", lookup)
}

// envVar is the variable that sets the setting at the dotted yaml path
// (worker.subjects.input: WINNOW_WORKER_SUBJECTS_INPUT).
func envVar(prefix, path string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

func applyEnvValue(v reflect.Value, prefix, path string, lookup func(string) (string, bool)) error {
	if v.Kind() == reflect.Struct {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			sub := tag
			if path != "" {
				sub = path + "." + tag
			}
			if err := applyEnvValue(v.Field(i), prefix, sub, lookup); err != nil {
				return err
			}
		}
		return nil
	}
	name := envVar(prefix, path)
	s, ok := lookup(name)
	if !ok {
		return nil
	}
	if err := setString(v, s); err != nil {
		return fmt.Errorf("config: %s=%q: %w", name, s, err)
	}
	return nil
}

func setString(v reflect.Value, s string) error {
	if v.Type() == bytesType {
		b, err := worker.ParseBytes(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(b))
		return nil
	}
	if v.Type() == durationType {
		d, err := parseDuration(s)
		if err != nil {
			return errors.New("want " + durationSyntax)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("want a whole number")
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("want a number")
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := parseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Slice:
		parts := strings.Split(s, ",")
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setString(out.Index(i), strings.TrimSpace(p)); err != nil {
				return fmt.Errorf("item %d, %q: %w", i+1, strings.TrimSpace(p), err)
			}
		}
		v.Set(out)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// parseBool reads a boolean as strconv.ParseBool does, and also the words a
// YAML file may give a boolean setting (yes, no, on, off, y, n; yaml.v3 takes
// them for a bool), so a value means the same in the file and the
// environment.
func parseBool(s string) (bool, error) {
	if b, err := strconv.ParseBool(s); err == nil {
		return b, nil
	}
	switch strings.ToLower(s) {
	case "yes", "on", "y":
		return true, nil
	case "no", "off", "n":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// otherEnv are WINNOW_* variables winnow reads that are not settings.
var otherEnv = map[string]bool{"WINNOW_CONFIG": true, "WINNOW_CORPUS": true, "WINNOW_CACHE": true}

// serviceEnv matches the variables Kubernetes gives a pod for each Service
// of its namespace: a Service named winnow (or winnow-nats, ...) sets
// WINNOW_SERVICE_HOST, WINNOW_PORT, WINNOW_PORT_8080_TCP_ADDR and the like.
var serviceEnv = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

// unknownEnv returns, for each variable of environ named prefix_... that
// names no setting of the struct v points to (a typo such as
// WINNOW_WORKER_HANDLER would otherwise be ignored without a word), a line
// saying so, with the setting it is closest to when one is.
func unknownEnv(v any, prefix string, environ []string) []string {
	var known []string
	_ = applyEnv(v, prefix, func(name string) (string, bool) {
		known = append(known, name)
		return "", false
	})
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, prefix+"_") || slices.Contains(known, name) || otherEnv[name] || serviceEnv.MatchString(name) {
			continue
		}
		line := name + " names no setting; ignored"
		if near := closest(name, known); near != "" {
			line += " (" + near + "?)"
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

// closest returns the name of names nearest s by edit distance, if within
// a quarter of s's length (at least 2 edits), else "".
func closest(s string, names []string) string {
	best, bestD := "", max(2, len(s)/4)+1
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// durationSyntax says what a duration takes, in the words of the
// configuration's errors ("want " + durationSyntax).
const durationSyntax = "a duration with its unit: 500ms, 30s, 5m, 2h, 7d"

// leadingDays is a duration led by whole days: 7d, 1d12h.
var leadingDays = regexp.MustCompile(`^(\d+)d(\d.*)?$`)

// errTooLong is parseDuration's error for days past time.Duration's range.
var errTooLong = errors.New("longer than a duration holds (292 years)")

// parseDuration reads a duration as Go writes it (90s, 1h30m) or led by
// whole days (7d, 1d12h), as operators write a TTL and NATS's tools take
// one: `ttl: 7d` was refused ("want a duration with its unit").
func parseDuration(s string) (time.Duration, error) {
	m := leadingDays.FindStringSubmatch(s)
	if m == nil {
		return time.ParseDuration(s)
	}
	var rest time.Duration
	if m[2] != "" {
		var err error
		if rest, err = time.ParseDuration(m[2]); err != nil {
			return 0, err
		}
	}
	days, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || days > (math.MaxInt64-int64(rest))/int64(24*time.Hour) {
		return 0, errTooLong
	}
	return time.Duration(days)*24*time.Hour + rest, nil
}
