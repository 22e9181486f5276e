package interpodaffinity

import "fmt"

// Name is the plugin's name in kube-scheduler's configuration.
const Name = "InterPodAffinity"

// InterPodAffinity is the filter and score plugin. It is immutable after New and safe for
// concurrent use; all per-pod state lives in the values PreFilter and PreScore return.
type InterPodAffinity struct {
	args Args
}

// New returns the plugin configured by args, which must be valid (see Args.Validate).
func New(args Args) (*InterPodAffinity, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("creating %s plugin: %w", Name, err)
	}
	return &InterPodAffinity{args: args}, nil
}

// Name returns "InterPodAffinity".
func (pl *InterPodAffinity) Name() string { return Name }
