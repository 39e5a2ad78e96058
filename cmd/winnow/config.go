package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/winnow-dev/winnow/pipeline"
)

// Config is the whole of winnow's configuration: defaults, then the YAML
// file, then WINNOW_* environment variables, then flags.
type Config struct {
	Pipeline pipeline.Config `yaml:"pipeline"`
}

func defaultConfig() Config {
	return Config{Pipeline: pipeline.DefaultConfig()}
}

// Validate checks every section; the error names the field.
func (c Config) Validate() error {
	if err := c.Pipeline.Validate(); err != nil {
		return fmt.Errorf("config: pipeline: %w", err)
	}
	return nil
}

// loadConfig returns the defaults overlaid with the YAML file at path (if
// any), validated. Unknown keys in the file are errors.
func loadConfig(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
