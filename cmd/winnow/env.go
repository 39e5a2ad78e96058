package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var durationType = reflect.TypeOf(time.Duration(0))

// applyEnv sets every field of the struct v points to from an environment
// variable named prefix_PATH, where PATH is the field's yaml names joined by
// '_' and upper-cased (WINNOW_WORKER_SUBJECTS_INPUT). Lists are
// comma-separated.
func applyEnv(v any, prefix string, lookup func(string) (string, bool)) error {
	return applyEnvValue(reflect.ValueOf(v).Elem(), prefix, lookup)
}

func applyEnvValue(v reflect.Value, name string, lookup func(string) (string, bool)) error {
	if v.Kind() == reflect.Struct {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			if err := applyEnvValue(v.Field(i), name+"_"+strings.ToUpper(tag), lookup); err != nil {
				return err
			}
		}
		return nil
	}
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
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
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
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Slice:
		parts := strings.Split(s, ",")
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setString(out.Index(i), strings.TrimSpace(p)); err != nil {
				return err
			}
		}
		v.Set(out)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
