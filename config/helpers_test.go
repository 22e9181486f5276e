package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// header starts every test document.
const header = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

// loadYAML writes doc to a file and loads it as berth would.
func loadYAML(t *testing.T, doc string) (*KubeSchedulerConfiguration, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

// mustLoad loads header+body and fails the test on error.
func mustLoad(t *testing.T, body string) *KubeSchedulerConfiguration {
	t.Helper()
	cfg, err := loadYAML(t, header+body)
	if err != nil {
		t.Fatalf("loading:\n%s\nerror: %v", body, err)
	}
	return cfg
}

// written returns cfg as Write writes it.
func written(t *testing.T, cfg *KubeSchedulerConfiguration) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// normalised parses YAML or JSON into generic values, so that two documents compare equal
// whatever their key order and formatting.
func normalised(t *testing.T, doc []byte) any {
	t.Helper()
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("parsing %s: %v", doc, err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkError fails unless err is one line containing every part of want.
func checkError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q\ndoes not contain %q", msg, w)
		}
	}
}
