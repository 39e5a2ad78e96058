package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/winnow-dev/winnow/dedupe"
	"github.com/winnow-dev/winnow/worker"
)

// scaledObject follows KEDA's documented ScaledObject fields
// (keda.sh/v1alpha1) and its nats-jetstream trigger's metadata; decoding is
// strict, so a misspelt field fails.
type scaledObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval  *int `json:"pollingInterval,omitempty"`
		CooldownPeriod   *int `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount *int `json:"idleReplicaCount,omitempty"`
		MinReplicaCount  *int `json:"minReplicaCount,omitempty"`
		MaxReplicaCount  *int `json:"maxReplicaCount,omitempty"`
		Triggers         []struct {
			Type     string `json:"type"`
			Metadata struct {
				NatsServerMonitoringEndpoint string `json:"natsServerMonitoringEndpoint"`
				Account                      string `json:"account,omitempty"`
				Stream                       string `json:"stream"`
				Consumer                     string `json:"consumer"`
				LagThreshold                 string `json:"lagThreshold"`
				ActivationLagThreshold       string `json:"activationLagThreshold,omitempty"`
				UseHTTPS                     string `json:"useHttps,omitempty"`
			} `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// strict decodes one YAML object into v, refusing unknown fields.
func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

// kustomize builds deploy/k8s as `kubectl apply -k` does, in namespace
// when it is not empty (the kustomization's namespace line set to it, as
// a user sets it), and returns each object it makes.
func kustomize(t *testing.T, namespace string) []*resource.Resource {
	t.Helper()
	return kustomizeDir(t, "k8s", namespace)
}

// kustomizeDir builds deploy/<dir> as kustomize does, beside the other
// deploy/ directories it names (bases: deploy/k8s for deploy/k8s-mail). A
// namespace that is not empty is set on the namespace line of the
// kustomization that has one.
func kustomizeDir(t *testing.T, dir, namespace string, bases ...string) []*resource.Resource {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	line := regexp.MustCompile(`(?m)^namespace: .*$`)
	named := false
	for _, d := range append([]string{dir}, bases...) {
		files, _ := filepath.Glob(filepath.Join("../../deploy", d, "*"))
		if len(files) == 0 {
			t.Fatalf("no manifests in deploy/%s", d)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if namespace != "" && filepath.Base(f) == "kustomization.yaml" && line.Match(b) {
				b, named = line.ReplaceAll(b, []byte("namespace: "+namespace)), true
			}
			if err := fs.WriteFile(filepath.Join("/", d, filepath.Base(f)), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if namespace != "" && !named {
		t.Fatalf("no kustomization.yaml of deploy/%s %v has a namespace line", dir, bases)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+dir)
	if err != nil {
		t.Fatalf("kustomize build deploy/%s: %v", dir, err)
	}
	return m.Resources()
}

// TestKubernetesManifests decodes every object `kubectl apply -k
// deploy/k8s` applies strictly into its API type and checks what the
// deployment relies on.
func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]int{}
	var dep appsv1.Deployment
	var cm corev1.ConfigMap
	var so scaledObject
	var services []corev1.Service
	for _, r := range kustomize(t, "") {
		f := r.GetKind() + "/" + r.GetName()
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil || head.Kind == "" {
			t.Fatalf("%s: object without a kind: %v", f, err)
		}
		kinds[head.Kind]++
		switch head.Kind {
		case "Deployment":
			strict(t, doc, &dep)
		case "ConfigMap":
			strict(t, doc, &cm)
		case "Service":
			var svc corev1.Service
			strict(t, doc, &svc)
			services = append(services, svc)
		case "PodDisruptionBudget":
			var pdb policyv1.PodDisruptionBudget
			strict(t, doc, &pdb)
			// KEDA may leave one replica: minAvailable 1 (or any
			// minimum) would then refuse every eviction and hold up node
			// drains for good. One at a time never blocks; the backlog
			// waits in the input stream meanwhile.
			if u := pdb.Spec.MaxUnavailable; pdb.Spec.MinAvailable != nil || u == nil || u.IntValue() != 1 {
				t.Errorf("PodDisruptionBudget: want maxUnavailable 1 and no minAvailable, got %+v", pdb.Spec)
			}
		case "ServiceMonitor":
			strict(t, doc, &monitoringv1.ServiceMonitor{})
		case "ScaledObject":
			strict(t, doc, &so)
		default:
			t.Errorf("%s: no check for kind %s", f, head.Kind)
		}
	}
	for _, k := range []string{"Deployment", "ConfigMap", "Service", "PodDisruptionBudget", "ScaledObject", "ServiceMonitor"} {
		if kinds[k] != 1 {
			t.Errorf("%d objects of kind %s, want 1", kinds[k], k)
		}
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	// The ConfigMap's file loads and is valid in the container's
	// environment: a ${NAME} it takes must be one the container sets.
	p := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(p, []byte(cm.Data["winnow.yaml"]), 0o644)
	cfg, err := loadConfig(p, func(name string) (string, bool) {
		for _, e := range c.Env {
			if e.Name == name {
				return "from-" + strings.ToLower(name), true
			}
		}
		return "", false
	})
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Errorf("ConfigMap winnow.yaml: %v", err)
	} else if cfg.NATS.Name != "from-pod_name" {
		t.Errorf("ConfigMap winnow.yaml: nats.name %q, want the pod's name", cfg.NATS.Name)
	}
	// What the pod's environment holds that names no setting: the
	// container's own variables, and those Kubernetes adds for each Service.
	var environ []string
	for _, e := range c.Env {
		environ = append(environ, e.Name+"=x")
	}
	for _, svc := range services {
		p := strings.ToUpper(strings.ReplaceAll(svc.Name, "-", "_"))
		environ = append(environ, p+"_SERVICE_HOST=10.0.0.1", p+"_PORT=tcp://10.0.0.1:1")
		for _, port := range svc.Spec.Ports {
			tcp := fmt.Sprintf("%s_PORT_%d_%s", p, port.Port, port.Protocol)
			environ = append(environ, p+"_SERVICE_PORT=1", p+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(port.Name, "-", "_"))+"=1",
				tcp+"=tcp://10.0.0.1:1", tcp+"_PROTO=tcp", tcp+"_PORT=1", tcp+"_ADDR=10.0.0.1")
		}
	}
	if len(services) == 0 || len(c.Env) == 0 {
		t.Fatalf("%d services, %d container variables: the environment check would prove nothing", len(services), len(c.Env))
	}
	if u := unknownEnv(&Config{}, "WINNOW", environ); len(u) > 0 {
		t.Errorf("winnow run would warn in this pod: %q", u)
	}
	switch {
	case c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz":
		t.Error("readiness probe must be GET /readyz")
	case c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz":
		t.Error("liveness probe must be GET /healthz")
	case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
		t.Error("pod must run as non-root")
	case c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem:
		t.Error("container root filesystem must be read-only")
	case c.Resources.Limits.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero():
		t.Error("resources must be set")
	case pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= int64(worker.DefaultConfig().DrainTimeout.Seconds()):
		t.Error("terminationGracePeriodSeconds must exceed the drain deadline")
	}
	tr := so.Spec.Triggers
	if len(tr) != 1 || tr[0].Type != "nats-jetstream" || tr[0].Metadata.Stream != worker.DefaultConfig().InputStream ||
		tr[0].Metadata.Consumer != worker.DefaultConfig().Durable || so.Spec.ScaleTargetRef.Name != dep.Name {
		t.Errorf("ScaledObject must scale the Deployment on WINNOW_RAW/winnow lag: %+v", so.Spec)
	}
}

// TestKubernetesNamespace: the kustomization's namespace line places every
// object and points KEDA's scaler, which reads the NATS server's
// monitoring from KEDA's own namespace, at the NATS Service in that
// namespace, where winnow's nats.url (nats://nats:4222) finds it. The
// manifest named the default namespace there, so winnow applied to another
// one scaled on a server it did not use, or on none.
func TestKubernetesNamespace(t *testing.T) {
	for _, ns := range []string{"", "crawl-prod"} {
		want := ns
		if ns == "" {
			want = "default"
		}
		n := 0
		for _, r := range kustomize(t, ns) {
			n++
			if got := r.GetNamespace(); got != want {
				t.Errorf("namespace %q: %s/%s is in %q", want, r.GetKind(), r.GetName(), got)
			}
			if r.GetKind() != "ScaledObject" {
				continue
			}
			doc, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			var so scaledObject
			strict(t, doc, &so)
			endpoint := "nats." + want + ".svc.cluster.local:8222"
			if got := so.Spec.Triggers[0].Metadata.NatsServerMonitoringEndpoint; got != endpoint {
				t.Errorf("namespace %q: KEDA reads the NATS monitoring at %q, want %q", want, got, endpoint)
			}
		}
		if n == 0 {
			t.Fatalf("namespace %q: no objects", want)
		}
	}
}

// TestKubernetesSecondDeployment: deploy/k8s-mail, a second winnow in the
// same namespace as an overlay of deploy/k8s. Every object takes its
// suffix, and the custom resources follow (kustomizeconfig.yaml): KEDA
// scales the renamed Deployment on the consumer its configuration names,
// and the ServiceMonitor, Service, PodDisruptionBudget and Deployment
// select only its pods; its configuration loads and names streams, a
// consumer and a bucket of its own; it reads its own NATS Secret.
func TestKubernetesSecondDeployment(t *testing.T) {
	const instance = "app.kubernetes.io/instance"
	var dep appsv1.Deployment
	var so scaledObject
	var svc corev1.Service
	var sm monitoringv1.ServiceMonitor
	var pdb policyv1.PodDisruptionBudget
	var cm corev1.ConfigMap
	into := map[string]any{"Deployment": &dep, "ScaledObject": &so, "Service": &svc,
		"ServiceMonitor": &sm, "PodDisruptionBudget": &pdb, "ConfigMap": &cm}
	for _, r := range kustomizeDir(t, "k8s-mail", "", "k8s") {
		if !strings.HasSuffix(r.GetName(), "-mail") {
			t.Errorf("%s/%s has no -mail suffix", r.GetKind(), r.GetName())
		}
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := into[r.GetKind()]; ok {
			strict(t, doc, v)
		}
	}
	if so.Spec.ScaleTargetRef.Name != dep.Name || dep.Name != "winnow-mail" {
		t.Errorf("KEDA scales %q, the Deployment is %q", so.Spec.ScaleTargetRef.Name, dep.Name)
	}
	pod := dep.Spec.Template.Labels
	for what, sel := range map[string]map[string]string{
		"Deployment":          dep.Spec.Selector.MatchLabels,
		"Service":             svc.Spec.Selector,
		"PodDisruptionBudget": pdb.Spec.Selector.MatchLabels,
	} {
		if sel[instance] != "mail" || pod[instance] != "mail" {
			t.Errorf("%s selects %v, pods labelled %v: want the instance label in both", what, sel, pod)
		}
	}
	if sel := sm.Spec.Selector.MatchLabels; sel[instance] != "mail" || svc.Labels[instance] != "mail" {
		t.Errorf("ServiceMonitor selects %v, the Service is labelled %v: want the instance label in both", sel, svc.Labels)
	}
	spec := dep.Spec.Template.Spec
	if v := spec.Volumes[0].ConfigMap; v == nil || v.Name != cm.Name || cm.Name != "winnow-mail" {
		t.Errorf("the Deployment mounts ConfigMap %+v, the ConfigMap is %q", v, cm.Name)
	}
	secrets := 0
	for _, e := range spec.Containers[0].Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			secrets++
			if ref.SecretKeyRef.Name != "winnow-nats-mail" {
				t.Errorf("%s comes from Secret %s, want winnow-nats-mail", e.Name, ref.SecretKeyRef.Name)
			}
		}
	}
	if secrets != 2 {
		t.Errorf("%d variables from Secrets, want the NATS user and password", secrets)
	}
	// Its configuration loads, and names what deploy/k8s's does not.
	p := filepath.Join(t.TempDir(), "winnow.yaml")
	os.WriteFile(p, []byte(cm.Data["winnow.yaml"]), 0o644)
	cfg, err := loadConfig(p, func(name string) (string, bool) { return "pod", name == "POD_NAME" })
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("deploy/k8s-mail winnow.yaml: %v", err)
	}
	w, base := cfg.Worker, worker.DefaultConfig()
	if trig := so.Spec.Triggers[0].Metadata; trig.Stream != w.InputStream || trig.Consumer != w.Durable {
		t.Errorf("KEDA watches %s/%s, the worker consumes %s/%s", trig.Stream, trig.Consumer, w.InputStream, w.Durable)
	}
	if w.InputStream == base.InputStream || w.OutputStream == base.OutputStream || w.Durable == base.Durable ||
		w.Shared.Bucket == base.Shared.Bucket || w.Subjects.Input == base.Subjects.Input {
		t.Errorf("deploy/k8s-mail shares a stream, consumer, bucket or subject with deploy/k8s: %+v", w)
	}
	// Named on deploy/k8s's namespace line, the namespace is the overlay's too.
	for _, r := range kustomizeDir(t, "k8s-mail", "crawl-prod", "k8s") {
		if r.GetNamespace() != "crawl-prod" {
			t.Errorf("%s/%s is in namespace %q, want crawl-prod", r.GetKind(), r.GetName(), r.GetNamespace())
		}
	}
}

// TestObservabilityNamesRealMetrics: every winnow_ metric the alert rules
// and the dashboard query is one winnow exports.
func TestObservabilityNamesRealMetrics(t *testing.T) {
	// Metrics are named by what their collectors describe: some export a
	// sample only once they know one (winnow_consumer_pending, a label
	// value not seen yet).
	known := describedNames{}
	worker.NewMetrics(known)
	worker.RegisterMemory(known, dedupe.NewMemory(dedupe.DefaultMemoryOptions()))
	worker.RegisterMemory(known, &worker.SharedMemory{}) // worker.state kv
	buildOf().register(known)                            // as serve() does
	for _, name := range []string{"winnow_documents_total", "winnow_consumer_pending", "winnow_dedupe_bucket_bytes", "winnow_build_info"} {
		if !known[name] {
			t.Fatalf("%s not among the described metrics %v", name, known)
		}
	}
	re := regexp.MustCompile(`winnow_[a-z_]+`)
	for _, f := range []string{"../../deploy/observability/alerts.yaml", "../../deploy/observability/dashboard.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".json") && !json.Valid(b) {
			t.Fatalf("%s is not valid JSON", f)
		}
		if strings.HasSuffix(f, ".yaml") {
			var rules struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Alert       string            `json:"alert"`
						Expr        string            `json:"expr"`
						For         string            `json:"for"`
						Labels      map[string]string `json:"labels"`
						Annotations map[string]string `json:"annotations"`
					} `json:"rules"`
				} `json:"groups"`
			}
			strict(t, b, &rules)
			if len(rules.Groups) == 0 || len(rules.Groups[0].Rules) == 0 {
				t.Fatalf("%s: no rules", f)
			}
		}
		var unknown []string
		for _, name := range re.FindAllString(string(b), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !known[name] && !known[base] {
				unknown = append(unknown, name)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s names metrics winnow does not export: %v", f, unknown)
		}
	}
}

// TestObservabilityPerDeployment: two winnows scraped by one Prometheus
// keep apart. Every aggregation in the alert rules is by namespace and job
// (a rule that aggregates nothing keeps every label), and every dashboard
// query selects the deployment its namespace and job variables name.
func TestObservabilityPerDeployment(t *testing.T) {
	b, err := os.ReadFile("../../deploy/observability/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	agg := regexp.MustCompile(`\b(sum|min|max|avg|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*(by\s*\(([^)]*)\))?\s*\(`)
	// A match on() labels that leave the deployment out joins one
	// deployment's series with another's.
	on := regexp.MustCompile(`\bon\s*\(([^)]*)\)`)
	checked := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, m := range agg.FindAllStringSubmatch(r.Expr, -1) {
				checked++
				if !hasLabels(m[3], "namespace", "job") {
					t.Errorf("%s: %q aggregates over every deployment; write it %s by (namespace, job, ...) (...)", r.Alert, m[0], m[1])
				}
			}
			for _, m := range on.FindAllStringSubmatch(r.Expr, -1) {
				if !hasLabels(m[1], "namespace", "job") {
					t.Errorf("%s: %q matches series of different deployments; write on(namespace, job, ...)", r.Alert, m[0])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no aggregation found in alerts.yaml: the check proves nothing")
	}

	b, err = os.ReadFile("../../deploy/observability/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct {
				Name     string `json:"name"`
				AllValue string `json:"allValue"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int `json:"id"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.AllValue
	}
	for _, v := range []string{"namespace", "job"} {
		// All must match a series without the label (a Prometheus
		// outside Kubernetes has no namespace): .*, not Grafana's
		// default alternation of the values it found.
		if a, ok := vars[v]; !ok || a != ".*" {
			t.Errorf("dashboard variable %s: present %v, allValue %q, want .*", v, ok, a)
		}
	}
	sel := regexp.MustCompile(`winnow_[a-z_]+(\{[^}]*\})?`)
	queries := 0
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			queries++
			for _, m := range sel.FindAllStringSubmatch(q.Expr, -1) {
				if !strings.Contains(m[1], `namespace=~"$namespace"`) || !strings.Contains(m[1], `job=~"$job"`) {
					t.Errorf("panel %d: %s does not select the deployment the dashboard shows", p.ID, m[0])
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("no queries in dashboard.json")
	}
}

// hasLabels reports whether a by clause's label list holds every label.
func hasLabels(list string, labels ...string) bool {
	have := map[string]bool{}
	for _, l := range strings.Split(list, ",") {
		have[strings.TrimSpace(l)] = true
	}
	for _, l := range labels {
		if !have[l] {
			return false
		}
	}
	return true
}

// describedNames is a prometheus.Registerer that keeps the names of the
// metrics its collectors describe.
type describedNames map[string]bool

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d describedNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

func (d describedNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d describedNames) Unregister(prometheus.Collector) bool { return true }

var update = flag.Bool("update", false, "rewrite deploy/observability/prometheusrule.yaml from alerts.yaml")

// prometheusRule returns alerts.yaml's rule groups as a Prometheus
// Operator PrometheusRule: the file from its groups: line on, comments
// and all, indented under spec.
func prometheusRule(alerts []byte) []byte {
	i := bytes.Index(alerts, []byte("\ngroups:"))
	if i < 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`# Code generated from alerts.yaml by go test ./cmd/winnow -run TestObservabilityPackaged -update. DO NOT EDIT.
#
# alerts.yaml's rules as a Prometheus Operator PrometheusRule, applied by
# kubectl apply -k deploy/observability (see kustomization.yaml).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: winnow
  labels: {app.kubernetes.io/name: winnow}
spec:
`)
	for _, line := range strings.SplitAfter(string(alerts[i+1:]), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// TestObservabilityPackaged: `kubectl apply -k deploy/observability`
// applies a PrometheusRule whose rules are alerts.yaml's (what promtool
// checks and alerts_test.yaml tests) and a ConfigMap holding dashboard.json
// under the label Grafana's dashboard sidecar looks for, both in the
// kustomization's namespace. With -update it rewrites prometheusrule.yaml.
func TestObservabilityPackaged(t *testing.T) {
	alerts, err := os.ReadFile("../../deploy/observability/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := os.ReadFile("../../deploy/observability/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	const generated = "../../deploy/observability/prometheusrule.yaml"
	if *update {
		if err := os.WriteFile(generated, prometheusRule(alerts), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(generated); err != nil || !bytes.Equal(b, prometheusRule(alerts)) {
		t.Errorf("prometheusrule.yaml is not generated from alerts.yaml (%v): run go test ./cmd/winnow -run TestObservabilityPackaged -update", err)
	}
	var want monitoringv1.PrometheusRuleSpec
	strict(t, alerts, &want)
	if len(want.Groups) == 0 || len(want.Groups[0].Rules) == 0 {
		t.Fatal("alerts.yaml: no rules")
	}
	for _, ns := range []string{"", "monitoring"} {
		wantNS := ns
		if ns == "" {
			wantNS = "default"
		}
		kinds := map[string]int{}
		for _, r := range kustomizeDir(t, "observability", ns) {
			kinds[r.GetKind()]++
			if r.GetNamespace() != wantNS {
				t.Errorf("%s/%s in namespace %q, want %q", r.GetKind(), r.GetName(), r.GetNamespace(), wantNS)
			}
			doc, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			switch r.GetKind() {
			case "PrometheusRule":
				var rule monitoringv1.PrometheusRule
				strict(t, doc, &rule)
				if !reflect.DeepEqual(rule.Spec, want) {
					t.Errorf("the PrometheusRule's rules differ from alerts.yaml's")
				}
			case "ConfigMap":
				var cm corev1.ConfigMap
				strict(t, doc, &cm)
				if cm.Name != "winnow-dashboard" || cm.Labels["grafana_dashboard"] != "1" {
					t.Errorf("dashboard ConfigMap %s, labels %v: want winnow-dashboard with grafana_dashboard: \"1\"", cm.Name, cm.Labels)
				}
				if cm.Data["winnow.json"] != string(dashboard) {
					t.Errorf("the ConfigMap's winnow.json is not dashboard.json")
				}
			default:
				t.Errorf("unexpected object %s/%s", r.GetKind(), r.GetName())
			}
		}
		if kinds["PrometheusRule"] != 1 || kinds["ConfigMap"] != 1 {
			t.Errorf("namespace %q: objects %v, want one PrometheusRule and one ConfigMap", wantNS, kinds)
		}
	}
}
