package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary documents to the loader: it must never panic, its errors must be one
// line, and whatever it accepts must write out as a document that loads back to the same
// configuration. The seeds are the parity inputs; testdata/fuzz/FuzzLoad keeps the corpus.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "parity", "*", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(header + "profiles: [{plugins: {multiPoint: {enabled: [{name: NodeName}, {name: NodeName}]}}}]\n"))
	f.Add([]byte(header + "a: &a [*a, *a]\n"))
	f.Add([]byte(header + "\"a\\nb\": 1\n\"a\\nb\": 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data)
		if err == nil {
			err = Validate(cfg)
		}
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		complete(cfg)
		first := written(t, cfg)
		again, err := parse(first)
		if err == nil {
			err = Validate(again)
		}
		if err != nil {
			t.Fatalf("the written configuration does not load: %v\n%s", err, first)
		}
		complete(again)
		if second := written(t, again); !bytes.Equal(first, second) {
			t.Fatalf("written twice differs:\n%s\n---\n%s", first, second)
		}
	})
}
