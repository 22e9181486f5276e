package deploy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
	line int
}

// stage is the instructions from one FROM up to the next.
type stage struct {
	from  instruction
	image string // the FROM image reference
	name  string // the AS name, if any
	body  []instruction
}

// parseDockerfile splits the Dockerfile into stages. It understands what ours uses: comments,
// backslash continuations, FROM [--platform=...] image [AS name].
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var ins []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continued instruction
			continue
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(strings.TrimSpace(body) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	var stages []stage
	for _, in := range ins {
		if in.cmd != "FROM" {
			if len(stages) == 0 {
				if in.cmd != "ARG" {
					t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
				}
				continue
			}
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
			continue
		}
		words := strings.Fields(in.args)
		words = slices.DeleteFunc(words, func(w string) bool { return strings.HasPrefix(w, "--") })
		st := stage{from: in}
		switch {
		case len(words) == 1:
			st.image = words[0]
		case len(words) == 3 && strings.EqualFold(words[1], "AS"):
			st.image, st.name = words[0], words[2]
		default:
			t.Fatalf("line %d: cannot read FROM %s", in.line, in.args)
		}
		stages = append(stages, st)
	}
	return stages
}

// shellWords splits s into words as a shell would for what Dockerfiles hold: blanks separate
// words, double or single quotes group them and are removed.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// find returns the stage's instructions of kind cmd.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// dockerfileStages parses the repository's Dockerfile and checks it has a builder and a final stage.
func dockerfileStages(t *testing.T) (builder, final stage) {
	t.Helper()
	stages := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (builder and final)", len(stages))
	}
	return stages[0], stages[1]
}

// entrypoint returns the final stage's ENTRYPOINT, which must be in exec (JSON) form.
func entrypoint(t *testing.T, final stage) []string {
	t.Helper()
	eps := final.find("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINTs, want 1", len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil {
		t.Fatalf("ENTRYPOINT %s is not the exec (JSON) form, which needs no shell: %v", eps[0].args, err)
	}
	return ep
}

func TestDockerfileBuilder(t *testing.T) {
	builder, final := dockerfileStages(t)
	goVersion := goDirective(t)

	t.Run("official Go image matching go.mod", func(t *testing.T) {
		repo, tag, _ := strings.Cut(builder.image, ":")
		if repo != "golang" && repo != "docker.io/library/golang" {
			t.Errorf("builder image %q is not the official golang image", builder.image)
		}
		if !strings.HasPrefix(tag, goVersion) {
			t.Errorf("builder tag %q does not match go.mod's go %s", tag, goVersion)
		}
		if strings.Contains(tag, "alpine") {
			t.Errorf("builder tag %q: the alpine variants have no make", tag)
		}
	})

	t.Run("builds with make build, the shared definition", func(t *testing.T) {
		var builds []string
		for _, run := range builder.find("RUN") {
			w := shellWords(run.args)
			for i := 0; i+1 < len(w); i++ {
				if w[i] == "make" && w[i+1] == "build" {
					builds = append(builds, run.args)
				}
			}
			if strings.Contains(run.args, "go build") {
				t.Errorf("line %d runs go build directly; use make build: %s", run.line, run.args)
			}
		}
		if len(builds) != 1 {
			t.Fatalf("builder runs make build %d times, want once", len(builds))
		}
		w := shellWords(builds[0])
		bin := argValue(w, "BIN")
		if bin == "" {
			t.Fatalf("make build without BIN=: %s", builds[0])
		}
		copies := final.find("COPY")
		if len(copies) == 1 {
			cw := strings.Fields(copies[0].args)
			if len(cw) == 3 && cw[1] != bin {
				t.Errorf("final stage copies %s, but make build writes %s", cw[1], bin)
			}
		}
		for _, v := range []string{"VERSION", "COMMIT"} {
			if got := argValue(w, v); got != "$"+v {
				t.Errorf("make build %s=%q, want the build argument $%s", v, got, v)
			}
			if !declaresArg(builder, v) {
				t.Errorf("builder stage does not declare ARG %s", v)
			}
		}
	})
}

// argValue returns the value of NAME=value among make's words.
func argValue(words []string, name string) string {
	for _, w := range words {
		if v, ok := strings.CutPrefix(w, name+"="); ok {
			return v
		}
	}
	return ""
}

func declaresArg(s stage, name string) bool {
	for _, a := range s.find("ARG") {
		for _, w := range strings.Fields(a.args) {
			if n, _, _ := strings.Cut(w, "="); n == name {
				return true
			}
		}
	}
	return false
}

func TestDockerfileFinalStage(t *testing.T) {
	builder, final := dockerfileStages(t)

	t.Run("distroless static nonroot base", func(t *testing.T) {
		if final.image != "gcr.io/distroless/static-debian12:nonroot" {
			t.Errorf("final image %q, want gcr.io/distroless/static-debian12:nonroot", final.image)
		}
	})
	t.Run("no shell and nothing run", func(t *testing.T) {
		allowed := map[string]bool{"ARG": true, "LABEL": true, "COPY": true, "USER": true, "ENTRYPOINT": true}
		for _, in := range final.body {
			if !allowed[in.cmd] {
				t.Errorf("line %d: %s in the final stage (only ARG, LABEL, COPY, USER, ENTRYPOINT)", in.line, in.cmd)
			}
		}
	})
	t.Run("only the binary copied in", func(t *testing.T) {
		copies := final.find("COPY")
		if len(copies) != 1 {
			t.Fatalf("final stage has %d COPY instructions, want 1", len(copies))
		}
		w := strings.Fields(copies[0].args)
		if len(w) != 3 || w[0] != "--from="+builder.name || w[2] != "/berth" {
			t.Errorf("COPY %s: want --from=%s <binary> /berth", copies[0].args, builder.name)
		}
	})
	t.Run("USER nonroot", func(t *testing.T) {
		users := final.find("USER")
		if len(users) != 1 || users[0].args != "nonroot" {
			t.Errorf("USER instructions %v, want one USER nonroot", users)
		}
	})
	t.Run("ENTRYPOINT /berth in exec form", func(t *testing.T) {
		if ep := entrypoint(t, final); !slices.Equal(ep, []string{"/berth"}) {
			t.Errorf("ENTRYPOINT %q, want [\"/berth\"]", ep)
		}
	})
	t.Run("OCI labels", func(t *testing.T) {
		labels := map[string]string{}
		for _, l := range final.find("LABEL") {
			for _, kv := range shellWords(l.args) {
				k, v, _ := strings.Cut(kv, "=")
				labels[k] = v
			}
		}
		want := map[string]string{
			"org.opencontainers.image.source":   "https://github.com/berth-scheduler/berth",
			"org.opencontainers.image.version":  "$VERSION",
			"org.opencontainers.image.revision": "$COMMIT",
		}
		for k, v := range want {
			if labels[k] != v {
				t.Errorf("LABEL %s=%q, want %q", k, labels[k], v)
			}
		}
		for _, v := range []string{"VERSION", "COMMIT"} {
			if !declaresArg(final, v) {
				t.Errorf("final stage uses $%s in a label but does not declare ARG %s", v, v)
			}
		}
	})
}

// TestDockerfileParser keeps the parser the other tests rely on honest.
func TestDockerfileParser(t *testing.T) {
	text := "# syntax=docker/dockerfile:1\nARG X\nFROM --platform=$P a:1 AS b\nRUN one \\\n  # note\n  two\nFROM c\nENTRYPOINT [\"/x\"]\n"
	st := parseDockerfile(t, text)
	if len(st) != 2 || st[0].image != "a:1" || st[0].name != "b" || st[1].image != "c" {
		t.Fatalf("stages %+v", st)
	}
	if runs := st[0].find("RUN"); len(runs) != 1 || runs[0].args != "one two" {
		t.Errorf("RUN %+v, want one instruction \"one two\"", runs)
	}
	if got := shellWords(`a="b c" d 'e'`); !slices.Equal(got, []string{"a=b c", "d", "e"}) {
		t.Errorf("shellWords = %q", got)
	}
}
