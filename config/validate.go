package config

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a defaulted configuration as kube-scheduler v1.37 does, at load and when it
// builds its profiles, and refuses in addition what berth does not support: extenders, plugins
// that are not kube-scheduler's in-tree plugins, and negative score weights. It returns nil or
// an aggregate of every problem, each naming its field path.
func Validate(c *KubeSchedulerConfiguration) error {
	var errs field.ErrorList
	cc := &c.ClientConnection
	if cc.Burst < 0 {
		errs = append(errs, field.Invalid(field.NewPath("clientConnection", "burst"), cc.Burst, "must be non-negative"))
	}
	errs = append(errs, validateLeaderElection(&c.LeaderElection, field.NewPath("leaderElection"))...)
	if par := deref(c.Parallelism); par <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("parallelism"), par, "should be an integer value greater than zero"))
	}
	profiles := field.NewPath("profiles")
	if len(c.Profiles) == 0 {
		errs = append(errs, field.Required(profiles, ""))
	}
	seen := map[string]int{}
	for i := range c.Profiles {
		p, path := &c.Profiles[i], profiles.Index(i)
		errs = append(errs, validateProfile(p, path)...)
		if first, dup := seen[p.Name()]; dup {
			errs = append(errs, field.Duplicate(path.Child("schedulerName"), fmt.Sprintf("%s (as profiles[%d])", p.Name(), first)))
		} else {
			seen[p.Name()] = i
		}
	}
	errs = append(errs, validateCommonQueueSort(c.Profiles, profiles)...)
	errs = append(errs, validatePercentage(c.PercentageOfNodesToScore, field.NewPath("percentageOfNodesToScore"))...)
	initial, maxBackoff := deref(c.PodInitialBackoffSeconds), deref(c.PodMaxBackoffSeconds)
	if initial <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("podInitialBackoffSeconds"), initial, "must be greater than 0"))
	}
	if maxBackoff < initial {
		errs = append(errs, field.Invalid(field.NewPath("podMaxBackoffSeconds"), maxBackoff, "must be greater than or equal to PodInitialBackoffSeconds"))
	}
	if len(c.Extenders) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("extenders"), "berth does not support scheduler extenders"))
	}
	return errs.ToAggregate()
}

func validateLeaderElection(le *LeaderElection, path *field.Path) field.ErrorList {
	if !deref(le.LeaderElect) {
		return nil
	}
	var errs field.ErrorList
	for _, d := range []namedDuration{{"leaseDuration", &le.LeaseDuration}, {"renewDeadline", &le.RenewDeadline}, {"retryPeriod", &le.RetryPeriod}} {
		if d.d.Duration <= 0 {
			errs = append(errs, field.Invalid(path.Child(d.name), d.d.Duration.String(), "must be greater than zero"))
		}
	}
	if le.LeaseDuration.Duration <= le.RenewDeadline.Duration {
		errs = append(errs, field.Invalid(path.Child("leaseDuration"), le.LeaseDuration.Duration.String(),
			fmt.Sprintf("must be greater than renewDeadline (%s)", le.RenewDeadline.Duration)))
	}
	for _, f := range []struct{ name, v string }{{"resourceLock", le.ResourceLock}, {"resourceNamespace", le.ResourceNamespace}, {"resourceName", le.ResourceName}} {
		if f.v == "" {
			errs = append(errs, field.Required(path.Child(f.name), ""))
		}
	}
	if le.ResourceLock != "" && le.ResourceLock != "leases" {
		errs = append(errs, field.Invalid(path.Child("resourceLock"), le.ResourceLock, `resourceLock value must be "leases"`))
	}
	return errs
}

func validatePercentage(v *int32, path *field.Path) field.ErrorList {
	if v != nil && (*v < 0 || *v > 100) {
		return field.ErrorList{field.Invalid(path, *v, "not in valid range [0-100]")}
	}
	return nil
}

func validateProfile(p *Profile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Name() == "" {
		errs = append(errs, field.Required(path.Child("schedulerName"), ""))
	}
	errs = append(errs, validatePercentage(p.PercentageOfNodesToScore, path.Child("percentageOfNodesToScore"))...)
	errs = append(errs, validateNames(p, path)...)
	needed := p.needed()
	configured := map[string]bool{}
	for i, pc := range p.PluginConfig {
		pcPath := path.Child("pluginConfig").Index(i)
		if configured[pc.Name] {
			errs = append(errs, field.Duplicate(pcPath, pc.Name))
		}
		configured[pc.Name] = true
		// Upstream checks NodeResourcesFit's arguments only when it builds the plugin.
		if pc.Args.Object != nil && (pc.Name != "NodeResourcesFit" || needed[pc.Name]) {
			errs = append(errs, pc.Args.Object.validate(pcPath.Child("args"))...)
		}
	}
	if len(errs) > 0 {
		return errs // the plugin sets are resolved only once names and arguments are sound
	}
	return validatePluginSets(p, path.Child("plugins"))
}

// validateNames refuses plugin names that are not kube-scheduler's in-tree plugins.
func validateNames(p *Profile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	unknown := func(path *field.Path, name string) {
		errs = append(errs, field.Invalid(path, name,
			"not a kube-scheduler v1.37 in-tree plugin: berth does not support other plugins"))
	}
	if p.Plugins != nil {
		for _, point := range pluginSets {
			set, setPath := p.Plugins.set(point), path.Child("plugins", string(point))
			for i, pl := range set.Enabled {
				if !Known(pl.Name) {
					unknown(setPath.Child("enabled").Index(i).Child("name"), pl.Name)
				}
			}
			for i, pl := range set.Disabled {
				if pl.Name != "*" && !Known(pl.Name) {
					unknown(setPath.Child("disabled").Index(i).Child("name"), pl.Name)
				}
			}
		}
	}
	for i, pc := range p.PluginConfig {
		if !Known(pc.Name) {
			unknown(path.Child("pluginConfig").Index(i).Child("name"), pc.Name)
		}
	}
	return errs
}

// validatePluginSets resolves every extension point as upstream's framework does when it builds
// a profile, and refuses what it refuses there.
func validatePluginSets(p *Profile, path *field.Path) field.ErrorList {
	if p.Plugins == nil {
		return field.ErrorList{field.Required(path, "set by defaulting")}
	}
	var errs field.ErrorList
	counts := map[ExtensionPoint]int{}
	for _, point := range extensionPoints {
		plugins, err := p.expand(point)
		if err != nil { // upstream stops at the first point it cannot build
			return field.ErrorList{field.Invalid(path.Child(string(point)), field.OmitValueType{}, err.Error())}
		}
		counts[point] = len(plugins)
	}
	if n := counts[QueueSort]; n != 1 {
		errs = append(errs, field.Invalid(path.Child(string(QueueSort)), n, "exactly one queue sort plugin must be enabled"))
	}
	if counts[Bind] == 0 {
		errs = append(errs, field.Required(path.Child(string(Bind)), "at least one bind plugin must be enabled"))
	}
	if n := counts[PlacementGenerate]; n > 1 {
		errs = append(errs, field.Invalid(path.Child(string(PlacementGenerate)), n, "at most one placement generate plugin may be enabled"))
	}
	for _, point := range []ExtensionPoint{Score, PlacementScore} {
		for _, pl := range append(p.Plugins.set(point).Enabled, p.Plugins.MultiPoint.Enabled...) {
			if w := deref(pl.Weight); w < 0 && implements(pl.Name, point) {
				errs = append(errs, field.Invalid(path.Child(string(point)), w,
					fmt.Sprintf("weight of plugin %s: berth does not support negative weights", pl.Name)))
			}
		}
	}
	return errs
}

// validateCommonQueueSort requires every profile to sort the queue as the first does: one queue
// shared by all profiles can have only one order (upstream's rule, compared as upstream does,
// on the queueSort sets as written after defaulting and on the sort plugin's arguments).
func validateCommonQueueSort(profiles []Profile, path *field.Path) field.ErrorList {
	if len(profiles) == 0 {
		return nil
	}
	var errs field.ErrorList
	first := queueSortOf(&profiles[0])
	if n := len(first.Enabled); n > 1 {
		errs = append(errs, field.Invalid(path.Index(0).Child("plugins", "queueSort", "enabled"), n, "only one queue sort plugin can be enabled"))
	}
	var sortName string
	var sortArgs []byte
	if len(first.Enabled) > 0 {
		sortName = first.Enabled[0].Name
		sortArgs = argsOf(&profiles[0], sortName)
	}
	for i := 1; i < len(profiles); i++ {
		if cur := queueSortOf(&profiles[i]); !sameSet(first, cur) {
			errs = append(errs, field.Invalid(path.Index(i).Child("plugins", "queueSort"), cur, "must be the same for all profiles"))
		}
		for _, pc := range profiles[i].PluginConfig {
			if sortName != "" && pc.Name == sortName && !bytes.Equal(mustJSON(pc.Args), sortArgs) {
				errs = append(errs, field.Invalid(path.Index(i).Child("pluginConfig", "args"), pc.Name, "queueSort must be the same for all profiles"))
			}
		}
	}
	return errs
}

func queueSortOf(p *Profile) PluginSet {
	if p.Plugins == nil {
		return PluginSet{}
	}
	return p.Plugins.QueueSort
}

func argsOf(p *Profile, name string) []byte {
	for _, pc := range p.PluginConfig {
		if pc.Name == name {
			return mustJSON(pc.Args)
		}
	}
	return nil
}

// sameSet compares plugin sets as upstream's semantic equality does: nil and empty lists are
// equal, and an unset weight equals 0.
func sameSet(a, b PluginSet) bool {
	same := func(x, y []Plugin) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Name != y[i].Name || deref(x[i].Weight) != deref(y[i].Weight) {
				return false
			}
		}
		return true
	}
	return same(a.Enabled, b.Enabled) && same(a.Disabled, b.Disabled)
}

// mustJSON returns the arguments as JSON; arguments that decoded always encode.
func mustJSON(a Args) []byte {
	b, err := a.MarshalJSON()
	if err != nil {
		return nil
	}
	return b
}
