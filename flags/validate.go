package flags

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// jitterFactor is client-go's leader-election jitter: the renew deadline must exceed the
// retry period times this factor, or renewals could miss the deadline by design.
const jitterFactor = 1.2

// validate checks the parsed values against each other and against their ranges. The
// first problem found is returned, naming the flag.
func (o *Options) validate() error {
	checks := []func() error{
		o.SecureServing.validate,
		o.Authentication.validate,
		o.Authorization.validate,
		o.Deprecated.validate,
		o.LeaderElection.validateEach,
		o.Metrics.validate,
		o.Logs.validate,
		func() error { return validateGates(o.FeatureGates) },
	}
	// With --config the lease timings come from the file merged with explicit flags, so
	// only the caller can check how they relate (LeaderElection.Validate).
	if o.ConfigFile == "" {
		checks = append(checks, o.LeaderElection.Validate)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *SecureServing) validate() error {
	if s.Port < 0 || s.Port > math.MaxUint16 {
		return fmt.Errorf("--secure-port (%d) must be between 0 and 65535; 0 turns HTTPS off", s.Port)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("--tls-cert-file and --tls-private-key-file must be given together or not at all")
	}
	if s.HTTP2MaxStreamsPerConnection < 0 || int64(s.HTTP2MaxStreamsPerConnection) > math.MaxUint32 {
		return fmt.Errorf("--http2-max-streams-per-connection (%d) must be between 0 and %d", s.HTTP2MaxStreamsPerConnection, uint32(math.MaxUint32))
	}
	for i, c := range s.CurvePreferences {
		for _, d := range s.CurvePreferences[:i] {
			if c == d {
				return fmt.Errorf("--tls-curve-preferences lists curve %d (%s) twice", uint16(c), c)
			}
		}
	}
	return nil
}

func (a *Authentication) validate() error {
	if err := nonNegative("authentication-token-webhook-cache-ttl", a.TokenWebhookCacheTTL); err != nil {
		return err
	}
	rh := &a.RequestHeader
	for _, l := range []struct {
		flag  string
		items []string
	}{
		{"requestheader-username-headers", rh.UsernameHeaders},
		{"requestheader-group-headers", rh.GroupHeaders},
		{"requestheader-extra-headers-prefix", rh.ExtraHeaderPrefixes},
		{"requestheader-allowed-names", rh.AllowedNames},
		{"requestheader-uid-headers", rh.UIDHeaders},
	} {
		for _, it := range l.items {
			if strings.TrimSpace(it) == "" {
				return fmt.Errorf("--%s has an empty entry", l.flag)
			}
		}
	}
	if len(rh.UIDHeaders) > 0 && !hasFold(rh.UIDHeaders, "X-Remote-Uid") {
		return errors.New("--requestheader-uid-headers must include the standard X-Remote-Uid header, or API aggregation breaks")
	}
	return nil
}

func (a *Authorization) validate() error {
	if err := nonNegative("authorization-webhook-cache-authorized-ttl", a.AuthorizedTTL); err != nil {
		return err
	}
	return nonNegative("authorization-webhook-cache-unauthorized-ttl", a.UnauthorizedTTL)
}

func (d *Deprecated) validate() error {
	if d.Burst < 0 {
		return fmt.Errorf("--kube-api-burst (%d) must not be negative", d.Burst)
	}
	return nonNegative("pod-max-in-unschedulable-pods-duration", d.PodMaxInUnschedulablePodsDuration)
}

// validateEach checks what holds whatever a config file says: no negative durations.
func (le *LeaderElection) validateEach() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"leader-elect-lease-duration", le.LeaseDuration},
		{"leader-elect-renew-deadline", le.RenewDeadline},
		{"leader-elect-retry-period", le.RetryPeriod},
	} {
		if err := nonNegative(d.flag, d.v); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks that the leader-election settings work together, as kube-scheduler and
// client-go require: when LeaderElect is true, all durations are positive and
// LeaseDuration > RenewDeadline > 1.2 × RetryPeriod, and the lock is a named Lease.
// Parse calls it when --config is empty; with --config the caller calls it on the values
// merged from the file and the flags. Errors name the flags even if a value came from the
// file.
func (le LeaderElection) Validate() error {
	if !le.LeaderElect {
		return nil
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"leader-elect-lease-duration", le.LeaseDuration},
		{"leader-elect-renew-deadline", le.RenewDeadline},
		{"leader-elect-retry-period", le.RetryPeriod},
	} {
		if d.v <= 0 {
			return fmt.Errorf("--%s (%s) must be greater than zero", d.flag, d.v)
		}
	}
	if le.RenewDeadline >= le.LeaseDuration {
		return fmt.Errorf("--leader-elect-renew-deadline (%s) must be less than --leader-elect-lease-duration (%s)",
			le.RenewDeadline, le.LeaseDuration)
	}
	if floor := time.Duration(jitterFactor * float64(le.RetryPeriod)); le.RenewDeadline <= floor {
		return fmt.Errorf("--leader-elect-renew-deadline (%s) must be greater than %.1f times --leader-elect-retry-period (%s), i.e. %s",
			le.RenewDeadline, jitterFactor, le.RetryPeriod, floor)
	}
	if le.ResourceLock != "leases" {
		return fmt.Errorf("--leader-elect-resource-lock (%q): %w: only \"leases\"", le.ResourceLock, ErrNotSupported)
	}
	if le.ResourceName == "" {
		return errors.New("--leader-elect-resource-name must not be empty")
	}
	if le.ResourceNamespace == "" {
		return errors.New("--leader-elect-resource-namespace must not be empty")
	}
	return nil
}

func (m *Metrics) validate() error {
	if len(m.AllowMetricLabels) > 0 && m.AllowMetricLabelsManifest != "" {
		return errors.New("--allow-metric-labels and --allow-metric-labels-manifest cannot both be given")
	}
	_, err := LabelAllowLists(m.AllowMetricLabels)
	return err
}

func (l *Logs) validate() error {
	if l.FlushFrequency <= 0 {
		return fmt.Errorf("--log-flush-frequency (%s) must be greater than zero", l.FlushFrequency)
	}
	if len(l.VModule) > 0 && l.Format != "text" {
		return fmt.Errorf("--vmodule only works with --logging-format=text, not %q", l.Format)
	}
	return nil
}

func nonNegative(flag string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("--%s (%s) must not be negative", flag, d)
	}
	return nil
}

func hasFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
