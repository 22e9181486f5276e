package deploy_test

import (
	"strings"
	"testing"
)

// TestREADMEDocumentsEachWay checks README.md tells operators how to build berth with the shared
// build definition and how to run it each way, with its RBAC and the way back to kube-scheduler.
func TestREADMEDocumentsEachWay(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	for _, want := range []string{
		"make build", // the one build definition
		"make image", // the container image, built by the Dockerfile
		"deploy/static-pod/berth.yaml",
		"deploy/systemd/berth.service",
		"system:kube-scheduler", // the RBAC it needs
		"system:volume-scheduler",
		"Roll back",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %q", want)
		}
	}
}
