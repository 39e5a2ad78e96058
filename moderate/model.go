package moderate

import (
	_ "embed"
	"sync"
)

// spamModelFile is the committed model, made by `winnow train-spam` (see
// README "Spam model"). Retraining with the same corpus and code gives the
// same bytes.
//
//go:embed model/spam.bin
var spamModelFile []byte

var builtin struct {
	once sync.Once
	m    *SpamModel
	err  error
}

// BuiltinSpamModel returns the embedded model, decoded once.
func BuiltinSpamModel() (*SpamModel, error) {
	builtin.once.Do(func() {
		m := new(SpamModel)
		builtin.err = m.UnmarshalBinary(spamModelFile)
		builtin.m = m
	})
	return builtin.m, builtin.err
}
