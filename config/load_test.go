package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/flags"
)

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := Load(missing)
	checkError(t, err, "reading the config file", missing)

	_, err = Load(dir)
	checkError(t, err, "reading the config file", dir)
}

func TestFromFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	body := header + "clientConnection: {kubeconfig: /from/file, qps: 7}\nleaderElection: {resourceName: from-file, leaseDuration: 40s}\nenableProfiling: false\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c *KubeSchedulerConfiguration)
	}{
		{"defaults without flags", nil, func(t *testing.T, c *KubeSchedulerConfiguration) {
			if !reflect.DeepEqual(normalised(t, written(t, c)), normalised(t, written(t, Default()))) {
				t.Errorf("configuration without flags differs from Default()")
			}
		}},
		{"deprecated flags apply without --config", []string{"--kubeconfig=/k", "--kube-api-qps=5", "--kube-api-burst=6", "--kube-api-content-type=application/json", "--profiling=false"},
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				cc := c.ClientConnection
				if cc.Kubeconfig != "/k" || cc.QPS != 5 || cc.Burst != 6 || cc.ContentType != "application/json" || *c.EnableProfiling {
					t.Errorf("clientConnection = %+v, profiling %v", cc, *c.EnableProfiling)
				}
				if !*c.EnableContentionProfiling {
					t.Errorf("contention profiling off, want it left at its default as upstream does")
				}
			}},
		{"leader election flags apply without --config", []string{"--leader-elect=false", "--leader-elect-resource-name=mine"},
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if *c.LeaderElection.LeaderElect || c.LeaderElection.ResourceName != "mine" {
					t.Errorf("leaderElection = %+v", c.LeaderElection)
				}
			}},
		{"deprecated flags are ignored with --config", []string{"--config", file, "--kubeconfig=/k", "--kube-api-qps=5", "--profiling=true"},
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if c.ClientConnection.Kubeconfig != "/from/file" || c.ClientConnection.QPS != 7 || *c.EnableProfiling {
					t.Errorf("clientConnection = %+v, profiling %v; want the file's", c.ClientConnection, *c.EnableProfiling)
				}
			}},
		{"leader election flags given win over --config", []string{"--config", file, "--leader-elect-resource-name=from-flag", "--leader-elect-renew-deadline=20s"},
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				le := c.LeaderElection
				if le.ResourceName != "from-flag" || le.RenewDeadline.Duration != 20*time.Second || le.LeaseDuration.Duration != 40*time.Second {
					t.Errorf("leaderElection = %+v, want name and renew deadline from the flags, lease duration from the file", le)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := flags.Parse(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			c, err := FromFlags(opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestFromFlagsValidatesTheMergedResult(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte(header+"leaderElection: {leaseDuration: 15s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := flags.Parse([]string{"--config", file, "--leader-elect-renew-deadline=20s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromFlags(opts)
	checkError(t, err, file, "leaderElection.leaseDuration", "must be greater than renewDeadline (20s)")
}

// TestWriteRoundTrip checks that a written configuration loads back to itself.
func TestWriteRoundTrip(t *testing.T) {
	bodies := map[string]string{
		"default": "",
		"custom": `profiles:
- schedulerName: a
  plugins:
    multiPoint:
      disabled: [{name: ImageLocality}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: RequestedToCapacityRatio
        requestedToCapacityRatio: {shape: [{utilization: 0, score: 0}, {utilization: 100, score: 10}]}
- schedulerName: b
  percentageOfNodesToScore: 20
`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			first := written(t, mustLoad(t, body))
			again, err := loadYAML(t, string(first))
			if err != nil {
				t.Fatalf("loading the written configuration: %v", err)
			}
			second := written(t, again)
			if !bytes.Equal(first, second) {
				t.Errorf("written twice differs:\n%s\n---\n%s", first, second)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.yaml")
	if err := WriteFile(path, Default()); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written(t, got), written(t, Default())) {
		t.Errorf("the written file does not load back to the default")
	}
	err = WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir"), Default())
	checkError(t, err, "--write-config-to")
}
