package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-scheduler/berth/flags"
)

const unitPath = "deploy/systemd/berth.service"

// unitFile is a parsed systemd unit: section → key → values in order (a key may repeat).
type unitFile map[string]map[string][]string

// parseUnit reads the unit syntax ours uses: [Section] headers, Key=Value lines, comments
// starting with # or ;, and trailing-backslash continuations (joined with a space).
func parseUnit(t *testing.T, text string) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	var pending strings.Builder
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending.Len() == 0 && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			pending.WriteString(strings.TrimSpace(body) + " ")
			continue
		}
		pending.WriteString(line)
		line = pending.String()
		pending.Reset()
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("line %d: %q is not Key=Value inside a section", i+1, line)
		}
		k = strings.TrimSpace(k)
		u[section][k] = append(u[section][k], strings.TrimSpace(v))
	}
	return u
}

// last returns a key's effective value (the last assignment), or "" and false.
func (u unitFile) last(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

func TestSystemdUnitDirectives(t *testing.T) {
	u := parseUnit(t, readRepoFile(t, unitPath))
	cases := []struct {
		key, want string // want "" means: present with an empty value
	}{
		{"Type", "notify"},
		{"Restart", "always"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"CapabilityBoundingSet", ""},
		{"DynamicUser", "yes"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := u.last("Service", tc.key)
			if !ok || got != tc.want {
				t.Errorf("[Service] %s=%q (set: %v), want %q", tc.key, got, ok, tc.want)
			}
		})
	}
	t.Run("WatchdogSec", func(t *testing.T) {
		if got, ok := u.last("Service", "WatchdogSec"); !ok || got == "" || got == "0" || got == "infinity" {
			t.Errorf("WatchdogSec=%q: want a finite watchdog so systemd restarts a wedged scheduler", got)
		}
	})
	t.Run("no ambient capabilities", func(t *testing.T) {
		if got, _ := u.last("Service", "AmbientCapabilities"); got != "" {
			t.Errorf("AmbientCapabilities=%q", got)
		}
	})
	t.Run("installable", func(t *testing.T) {
		if got, _ := u.last("Install", "WantedBy"); got != "multi-user.target" {
			t.Errorf("[Install] WantedBy=%q, want multi-user.target", got)
		}
	})
}

// TestSystemdUnitCommandLine runs ExecStart through berth's own flag parser, as systemd would
// start it, and checks the kubeconfig comes from the credential systemd loads from
// /etc/kubernetes (readable by the dynamic user even though kubeadm writes it 0600 root).
func TestSystemdUnitCommandLine(t *testing.T) {
	u := parseUnit(t, readRepoFile(t, unitPath))
	execStart, ok := u.last("Service", "ExecStart")
	if !ok {
		t.Fatal("no ExecStart")
	}
	const credDir = "/run/credentials/berth.service"
	words := strings.Fields(strings.ReplaceAll(execStart, "${CREDENTIALS_DIRECTORY}", credDir))
	if words[0] != "/usr/local/bin/berth" {
		t.Errorf("ExecStart runs %s, want /usr/local/bin/berth (where the README installs it)", words[0])
	}
	opts, err := flags.Parse(words[1:])
	if err != nil {
		t.Fatalf("berth refuses the unit's flags: %v", err)
	}
	if w := opts.Warnings(); len(w) > 0 {
		t.Errorf("flags accepted with warnings: %q", w)
	}
	creds := map[string]string{} // path as berth sees it → source on the host
	for _, lc := range u["Service"]["LoadCredential"] {
		id, src, _ := strings.Cut(lc, ":")
		creds[credDir+"/"+id] = src
	}
	for flag, path := range map[string]string{
		"--kubeconfig":                opts.Deprecated.Kubeconfig,
		"--authentication-kubeconfig": opts.Authentication.Kubeconfig,
		"--authorization-kubeconfig":  opts.Authorization.Kubeconfig,
	} {
		src, ok := creds[path]
		if !ok {
			t.Errorf("%s=%s is not a LoadCredential= of the unit", flag, path)
			continue
		}
		if !strings.HasPrefix(src, "/etc/kubernetes/") {
			t.Errorf("%s is loaded from %s, want a kubeconfig under /etc/kubernetes", flag, src)
		}
	}
	if !opts.LeaderElection.LeaderElect {
		t.Error("--leader-elect is false")
	}
	if !opts.SecureServing.BindAddress.IsLoopback() || opts.SecureServing.Port != 10259 {
		t.Errorf("serves on %v:%d, want 127.0.0.1:10259 as kubeadm's kube-scheduler", opts.SecureServing.BindAddress, opts.SecureServing.Port)
	}
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on the unit, with ExecStart pointed at
// the release binary (verify insists the program exists). Warnings fail the test as errors do.
func TestSystemdAnalyzeVerify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install -y systemd); the unit was not verified")
	}
	text := readRepoFile(t, unitPath)
	if !strings.Contains(text, "/usr/local/bin/berth") {
		t.Fatal("ExecStart does not run /usr/local/bin/berth")
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "berth.service")
	text = strings.ReplaceAll(text, "/usr/local/bin/berth", releaseBinary(t))
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := verifyUnit(tool, unit)
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if problems := linesAbout(out, unit); len(problems) > 0 {
		t.Errorf("systemd-analyze verify warns:\n%s", strings.Join(problems, "\n"))
	}
}

// TestSystemdAnalyzeVerifyCatchesMistakes shows the verify step fails on a bad key or value.
func TestSystemdAnalyzeVerifyCatchesMistakes(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	cases := []struct{ name, from, to string }{
		{"unknown key", "Type=notify", "Type=notify\nRestartAlways=yes"},
		{"bad value", "Restart=always", "Restart=sometimes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(readRepoFile(t, unitPath), tc.from, tc.to, 1)
			text = strings.ReplaceAll(text, "/usr/local/bin/berth", "/bin/true")
			unit := filepath.Join(t.TempDir(), "berth.service")
			if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := verifyUnit(tool, unit)
			if err == nil && len(linesAbout(out, unit)) == 0 {
				t.Errorf("verify passed a unit with %s:\n%s", tc.name, out)
			}
		})
	}
}

func verifyUnit(tool, unit string) (string, error) {
	cmd := exec.Command(tool, "verify", "--man=no", unit)
	cmd.Dir = filepath.Dir(unit)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// linesAbout returns the output lines that mention the unit (verify prefixes its findings with
// the file or unit name); other noise from a machine without systemd running is ignored.
func linesAbout(out, unit string) []string {
	var found []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, unit) || strings.Contains(line, filepath.Base(unit)) {
			found = append(found, line)
		}
	}
	return found
}
