package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/winnow-dev/winnow/moderate"
	"github.com/winnow-dev/winnow/pipeline"
)

// applyPolicy overlays the moderation policy file at path (if any) on the
// pipeline config and reads the files the policy names (a replacement spam
// model, a blocklist file), which the pure packages cannot read themselves.
// `winnow clean --policy` and the worker's --policy / pipeline.moderation
// go through here, so batch and stream moderate alike.
func applyPolicy(pc *pipeline.Config, path string) error {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("policy: %s", fileProblem(err, path))
		}
		if err := decodeYAML(b, &pc.Moderation, "pipeline.moderation"); err != nil {
			return fmt.Errorf("policy: %s: %w", path, err)
		}
	}
	p := pc.Moderation
	var pe *moderate.PolicyError
	if err := p.Validate(); errors.As(err, &pe) {
		return fmt.Errorf("policy: %s: %s", pe.Field, pe.Problem)
	} else if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if p.Spam.ModelFile != "" {
		b, err := os.ReadFile(p.Spam.ModelFile)
		if err != nil {
			return fmt.Errorf("policy: spam.model_file: %s", fileProblem(err, p.Spam.ModelFile))
		}
		m := new(moderate.SpamModel)
		if err := m.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("policy: spam.model_file %s: %w", p.Spam.ModelFile, err)
		}
		pc.ModerationOptions.SpamModel = m
	}
	if p.Blocklist.File != "" {
		b, err := os.ReadFile(p.Blocklist.File)
		if err != nil {
			return fmt.Errorf("policy: blocklist.file: %s", fileProblem(err, p.Blocklist.File))
		}
		pc.ModerationOptions.ExtraBlocklist = moderate.ReadPhrases(b)
	}
	return nil
}
