package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import-path prefixes a pure package must not reach, even
// indirectly.
var forbidden = []string{
	"github.com/nats-io/",
	"go.uber.org/zap",
	"github.com/prometheus/",
	"net/http",
	"os/exec",
	"github.com/winnow-dev/winnow/worker",
	"github.com/winnow-dev/winnow/cmd",
}

func TestPurePackagesStayPure(t *testing.T) {
	for _, pkg := range []string{"dedupe", "moderate", "pipeline", "schemas"} {
		path := "github.com/winnow-dev/winnow/" + pkg
		out, err := exec.Command("go", "list", "-deps", path).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", path, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 2 {
			t.Fatalf("go list -deps %s listed %d packages; the check would prove nothing", path, len(deps))
		}
		for _, dep := range deps {
			for _, bad := range forbidden {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
