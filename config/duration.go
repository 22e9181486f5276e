package config

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Duration is a time.Duration written as Go duration text ("15s", "10m0s"), as
// metav1.Duration is. Text that does not parse is kept so that decoding can report it with its
// field path, which a failing UnmarshalJSON could not.
type Duration struct {
	time.Duration
	// bad is set when the JSON value did not parse; text is that value.
	bad  bool
	text string
}

// UnmarshalJSON parses a duration string; anything else is recorded as invalid.
func (d *Duration) UnmarshalJSON(b []byte) error {
	*d = Duration{}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		d.bad, d.text = true, string(b)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.bad, d.text = true, s
		return nil
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// checkDurations reports each named duration that did not parse; nil entries are skipped.
func checkDurations(path *field.Path, fields []namedDuration) []error {
	var errs []error
	for _, f := range fields {
		if f.d != nil && f.d.bad {
			errs = append(errs, field.Invalid(path.Child(f.name), f.d.text,
				fmt.Sprintf("must be a duration such as %q", "15s")))
		}
	}
	return errs
}

type namedDuration struct {
	name string
	d    *Duration
}
