package placementcheck

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Devices is the cluster's dynamic resources at the end of a phase: what Check reads to judge
// the incoming pods' ResourceClaims. Check only reads it.
type Devices struct {
	// Claims are the ResourceClaims by "namespace/name": the incoming pods' and every other
	// claim that may hold devices (an allocated claim's devices are taken).
	Claims map[string]*resourcev1.ResourceClaim
	// Slices are the ResourceSlices, every generation.
	Slices []*resourcev1.ResourceSlice
	// Classes are the DeviceClasses by name.
	Classes map[string]*resourcev1.DeviceClass
}

// deviceKey names a device: driver, pool and device name.
type deviceKey struct{ driver, pool, device string }

func (k deviceKey) String() string { return k.driver + "/" + k.pool + "/" + k.device }

// published is a device as the newest generation of its pool publishes it.
type published struct {
	dev   *resourcev1.Device
	slice *resourcev1.ResourceSlice
}

// newestGenerations returns each pool's newest generation, by driver and pool name.
func (d *Devices) newestGenerations() map[[2]string]int64 {
	newest := map[[2]string]int64{}
	for _, s := range d.Slices {
		k := [2]string{s.Spec.Driver, s.Spec.Pool.Name}
		if g, ok := newest[k]; !ok || s.Spec.Pool.Generation > g {
			newest[k] = s.Spec.Pool.Generation
		}
	}
	return newest
}

// inventory indexes the devices of the newest generation of every pool.
func (d *Devices) inventory() map[deviceKey]published {
	newest := d.newestGenerations()
	out := map[deviceKey]published{}
	for _, s := range d.Slices {
		if s.Spec.Pool.Generation != newest[[2]string{s.Spec.Driver, s.Spec.Pool.Name}] {
			continue
		}
		for i := range s.Spec.Devices {
			dev := &s.Spec.Devices[i]
			out[deviceKey{s.Spec.Driver, s.Spec.Pool.Name, dev.Name}] = published{dev: dev, slice: s}
		}
	}
	return out
}

// podClaimName returns the name of the ResourceClaim behind one of p's spec.resourceClaims
// entries: resourceClaimName, or the claim the resourceclaim controller made from a template
// (status.resourceClaimStatuses); "" when none is known.
func podClaimName(p *v1.Pod, pc v1.PodResourceClaim) string {
	if pc.ResourceClaimName != nil {
		return *pc.ResourceClaimName
	}
	for _, st := range p.Status.ResourceClaimStatuses {
		if st.Name == pc.Name && st.ResourceClaimName != nil {
			return *st.ResourceClaimName
		}
	}
	return ""
}

// checkDevices judges the bound incoming pods' ResourceClaims; nothing when w.Devices is nil.
//
//   - Every claim of the pod exists, is allocated and reserved for the pod, and its allocation's
//     node selector (if any) selects the node.
//   - Every device allocated exists in the newest generation of its pool, in a slice that
//     reaches the node (spec.nodeName, allNodes, a node selector, or per device), is of the
//     request's class, satisfies the class's and the request's selectors where they are simple
//     enough to evaluate here (see evalSelector; others are not judged), carries no NoSchedule
//     or NoExecute taint the request does not tolerate (taints published in the slice;
//     DeviceTaintRules are not read), and has admin access exactly when its request asks for
//     it; the allocation carries the class's opaque configuration for the request.
//   - Counts: an exact request gets exactly its count (a firstAvailable request the count of
//     one of its subrequests, all its devices for that one); an All request at least one.
//   - matchAttribute constraints: the devices of the requests named share the attribute's
//     value; distinctAttribute: no two share it.
//   - Capacity (see capacity.go): what a request asks for, rounded up by each capacity's
//     requestPolicy, is allowed by the policy and fits in the device's capacity; a device that
//     allows multiple allocations is held in shares, each result with a shareID and the
//     consumedCapacity the request implies, and one that does not is held whole.
//   - No device is allocated whole to two claims, or whole and shared, unless with admin
//     access; the shares of a device consume no more than its capacity; and the devices
//     allocated without admin access (a shared one once) consume no more of a pool's shared
//     counters than its counter sets hold.
func checkDevices(w *World, all []placed) []Violation {
	d := w.Devices
	if d == nil {
		return nil
	}
	inv := d.inventory()
	var out []Violation
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		for _, pc := range pl.pod.Spec.ResourceClaims {
			name := podClaimName(pl.pod, pc)
			bad := func(format string, args ...any) {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "DynamicResources",
					fmt.Sprintf("claim %s (%s): ", name, pc.Name) + fmt.Sprintf(format, args...)})
			}
			c := d.Claims[pl.pod.Namespace+"/"+name]
			switch {
			case name == "":
				bad("no claim was made from template %s", deref(pc.ResourceClaimTemplateName))
				continue
			case c == nil:
				bad("does not exist")
				continue
			case c.Status.Allocation == nil:
				bad("is not allocated")
				continue
			}
			if !slices.ContainsFunc(c.Status.ReservedFor, func(r resourcev1.ResourceClaimConsumerReference) bool {
				return r.Resource == "pods" && r.Name == pl.pod.Name && (r.UID == "" || pl.pod.UID == "" || r.UID == pl.pod.UID)
			}) {
				bad("is not reserved for the pod")
			}
			if ns := c.Status.Allocation.NodeSelector; ns != nil && !nodeSelectorMatches(ns, pl.node) {
				bad("its allocation's node selector does not select the node")
			}
			for _, msg := range checkAllocation(d, inv, c, pl.node) {
				bad("%s", msg)
			}
		}
	}
	out = append(out, checkDeviceSharing(d, inv, all)...)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nodeSelectorMatches reports whether any term of ns selects n.
func nodeSelectorMatches(ns *v1.NodeSelector, n *v1.Node) bool {
	return slices.ContainsFunc(ns.NodeSelectorTerms, func(t v1.NodeSelectorTerm) bool { return termMatchesNode(t, n) })
}

// reaches reports whether a device published in s may be used on n.
func reaches(p published, n *v1.Node) bool {
	s := p.slice.Spec
	sel := func(name *string, all *bool, ns *v1.NodeSelector) bool {
		switch {
		case name != nil && *name != "":
			return *name == n.Name
		case all != nil && *all:
			return true
		case ns != nil:
			return nodeSelectorMatches(ns, n)
		}
		return false
	}
	if s.PerDeviceNodeSelection != nil && *s.PerDeviceNodeSelection {
		return sel(p.dev.NodeName, p.dev.AllNodes, p.dev.NodeSelector)
	}
	return sel(s.NodeName, s.AllNodes, s.NodeSelector)
}

// requestSpec is what a result's request ("req" or "req/sub") asked for.
type requestSpec struct {
	class       string
	selectors   []resourcev1.DeviceSelector
	mode        resourcev1.DeviceAllocationMode
	count       int64
	tolerations []resourcev1.DeviceToleration
	admin       bool
	capacity    *resourcev1.CapacityRequirements
}

// findRequest resolves a result's request name in the claim's spec.
func findRequest(c *resourcev1.ResourceClaim, name string) (requestSpec, bool) {
	base, sub, _ := strings.Cut(name, "/")
	for _, r := range c.Spec.Devices.Requests {
		if r.Name != base {
			continue
		}
		if e := r.Exactly; e != nil && sub == "" {
			return requestSpec{e.DeviceClassName, e.Selectors, e.AllocationMode, e.Count, e.Tolerations, e.AdminAccess != nil && *e.AdminAccess, e.Capacity}, true
		}
		for _, s := range r.FirstAvailable {
			if s.Name == sub {
				return requestSpec{s.DeviceClassName, s.Selectors, s.AllocationMode, s.Count, s.Tolerations, false, s.Capacity}, true
			}
		}
	}
	return requestSpec{}, false
}

// checkAllocation judges claim c's allocation on node n (see checkDevices) and returns what is
// wrong with it.
func checkAllocation(d *Devices, inv map[deviceKey]published, c *resourcev1.ResourceClaim, n *v1.Node) []string {
	var out []string
	results := c.Status.Allocation.Devices.Results
	perRequest := map[string][]string{} // base request -> full request names of its results
	for _, r := range results {
		key := deviceKey{r.Driver, r.Pool, r.Device}
		base, _, _ := strings.Cut(r.Request, "/")
		perRequest[base] = append(perRequest[base], r.Request)
		p, ok := inv[key]
		if !ok {
			out = append(out, fmt.Sprintf("device %s is not published by the newest generation of its pool", key))
			continue
		}
		if !reaches(p, n) {
			out = append(out, fmt.Sprintf("device %s is not available on the node", key))
		}
		spec, ok := findRequest(c, r.Request)
		if !ok {
			out = append(out, fmt.Sprintf("device %s is allocated for request %s, which the claim does not have", key, r.Request))
			continue
		}
		if got := r.AdminAccess != nil && *r.AdminAccess; got != spec.admin {
			out = append(out, fmt.Sprintf("device %s is allocated with admin access %v, request %s asks for %v", key, got, r.Request, spec.admin))
		}
		out = append(out, checkCapacity(key, p.dev, r, spec.capacity)...)
		class := d.Classes[spec.class]
		if class == nil {
			out = append(out, fmt.Sprintf("request %s names device class %s, which does not exist", r.Request, spec.class))
		} else {
			if missing := missingClassConfig(c.Status.Allocation, class, r.Request); missing != "" {
				out = append(out, fmt.Sprintf("request %s: the allocation lacks class %s's configuration for driver %s", r.Request, class.Name, missing))
			}
			for i, s := range class.Spec.Selectors {
				if s.CEL != nil && evalSelector(s.CEL.Expression, r.Driver, p.dev) == selFalse {
					out = append(out, fmt.Sprintf("device %s fails selector #%d of class %s: %s", key, i, class.Name, s.CEL.Expression))
				}
			}
		}
		for i, s := range spec.selectors {
			if s.CEL != nil && evalSelector(s.CEL.Expression, r.Driver, p.dev) == selFalse {
				out = append(out, fmt.Sprintf("device %s fails selector #%d of request %s: %s", key, i, r.Request, s.CEL.Expression))
			}
		}
		for _, t := range p.dev.Taints {
			if (t.Effect == resourcev1.DeviceTaintEffectNoSchedule || t.Effect == resourcev1.DeviceTaintEffectNoExecute) &&
				!slices.ContainsFunc(spec.tolerations, func(tol resourcev1.DeviceToleration) bool { return deviceTolerates(tol, t) }) {
				out = append(out, fmt.Sprintf("device %s has taint %s=%s:%s, which request %s does not tolerate", key, t.Key, t.Value, t.Effect, r.Request))
			}
		}
	}
	for _, r := range c.Spec.Devices.Requests {
		got := perRequest[r.Name]
		if len(got) == 0 {
			out = append(out, fmt.Sprintf("request %s got no device", r.Name))
			continue
		}
		if len(r.FirstAvailable) > 0 && slices.ContainsFunc(got, func(n string) bool { return n != got[0] }) {
			out = append(out, fmt.Sprintf("request %s got devices for several subrequests: %v", r.Name, got))
			continue
		}
		spec, ok := findRequest(c, got[0])
		if !ok {
			continue // reported above
		}
		if spec.mode != resourcev1.DeviceAllocationModeAll {
			want := max(spec.count, 1)
			if int64(len(got)) != want {
				out = append(out, fmt.Sprintf("request %s got %d devices, it asks for %d", got[0], len(got), want))
			}
		}
	}
	return append(out, checkConstraints(inv, c)...)
}

// missingClassConfig returns the driver of the first opaque configuration of class that the
// allocation does not carry, from the class, for request; "" when it carries them all.
func missingClassConfig(a *resourcev1.AllocationResult, class *resourcev1.DeviceClass, request string) string {
	for _, cc := range class.Spec.Config {
		if cc.Opaque == nil {
			continue
		}
		if !slices.ContainsFunc(a.Devices.Config, func(ac resourcev1.DeviceAllocationConfiguration) bool {
			return ac.Source == resourcev1.AllocationConfigSourceClass && ac.Opaque != nil && ac.Opaque.Driver == cc.Opaque.Driver &&
				string(ac.Opaque.Parameters.Raw) == string(cc.Opaque.Parameters.Raw) &&
				(len(ac.Requests) == 0 || slices.Contains(ac.Requests, request))
		}) {
			return cc.Opaque.Driver
		}
	}
	return ""
}

// deviceTolerates is the device toleration rule: same effect (any when empty), same key (any when
// empty), same value unless the operator is Exists.
func deviceTolerates(tol resourcev1.DeviceToleration, t resourcev1.DeviceTaint) bool {
	if (tol.Effect != "" && tol.Effect != t.Effect) || (tol.Key != "" && tol.Key != t.Key) {
		return false
	}
	if tol.Operator == resourcev1.DeviceTolerationOpExists {
		return true
	}
	return tol.Value == t.Value
}

// checkConstraints judges the claim's matchAttribute and distinctAttribute constraints.
func checkConstraints(inv map[deviceKey]published, c *resourcev1.ResourceClaim) []string {
	var out []string
	for i, con := range c.Spec.Devices.Constraints {
		attr := con.MatchAttribute
		if attr == nil {
			attr = con.DistinctAttribute
		}
		if attr == nil {
			continue
		}
		seen := map[string]string{} // value -> device
		for _, r := range c.Status.Allocation.Devices.Results {
			base, _, _ := strings.Cut(r.Request, "/")
			if len(con.Requests) > 0 && !slices.Contains(con.Requests, base) && !slices.Contains(con.Requests, r.Request) {
				continue
			}
			key := deviceKey{r.Driver, r.Pool, r.Device}
			p, ok := inv[key]
			if !ok {
				continue
			}
			v, ok := attributeValue(p.dev, r.Driver, string(*attr))
			if !ok {
				out = append(out, fmt.Sprintf("constraint #%d: device %s has no attribute %s", i, key, *attr))
				continue
			}
			if con.DistinctAttribute != nil {
				if other, dup := seen[v]; dup {
					out = append(out, fmt.Sprintf("constraint #%d: devices %s and %s share %s=%s", i, other, key, *attr, v))
				}
			} else if len(seen) > 0 {
				if _, same := seen[v]; !same {
					out = append(out, fmt.Sprintf("constraint #%d: device %s has %s=%s, other devices %v", i, key, *attr, v, seen))
				}
			}
			seen[v] = key.String()
		}
	}
	return out
}

// attribute finds a device attribute by name: fully qualified ("domain/id") or bare, a bare
// name being in the driver's domain.
func attribute(d *resourcev1.Device, driver, name string) (resourcev1.DeviceAttribute, bool) {
	if a, ok := d.Attributes[resourcev1.QualifiedName(name)]; ok {
		return a, true
	}
	domain, id, found := strings.Cut(name, "/")
	if !found {
		a, ok := d.Attributes[resourcev1.QualifiedName(driver+"/"+name)]
		return a, ok
	}
	if domain == driver {
		a, ok := d.Attributes[resourcev1.QualifiedName(id)]
		return a, ok
	}
	return resourcev1.DeviceAttribute{}, false
}

// attributeValue renders an attribute's value with its type, so that values of different types
// never compare equal.
func attributeValue(d *resourcev1.Device, driver, name string) (string, bool) {
	a, ok := attribute(d, driver, name)
	switch {
	case !ok:
		return "", false
	case a.StringValue != nil:
		return "string:" + *a.StringValue, true
	case a.IntValue != nil:
		return "int:" + strconv.FormatInt(*a.IntValue, 10), true
	case a.BoolValue != nil:
		return "bool:" + strconv.FormatBool(*a.BoolValue), true
	case a.VersionValue != nil:
		return "version:" + *a.VersionValue, true
	}
	return "", false
}

// checkDeviceSharing reports devices held wrongly (see deviceUse.problems) and pools whose shared
// counters are overdrawn, against the incoming pods whose claims hold them.
func checkDeviceSharing(d *Devices, inv map[deviceKey]published, all []placed) []Violation {
	holders := map[deviceKey]*deviceUse{} // how the device is held without admin access
	var keys []string
	for k := range d.Claims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := d.Claims[k]
		if c.Status.Allocation == nil {
			continue
		}
		for _, r := range c.Status.Allocation.Devices.Results {
			if r.AdminAccess != nil && *r.AdminAccess {
				continue
			}
			key := deviceKey{r.Driver, r.Pool, r.Device}
			if holders[key] == nil {
				holders[key] = &deviceUse{}
			}
			holders[key].add(k, r)
		}
	}
	wrong := map[deviceKey][]string{}
	for key, u := range holders {
		p, ok := inv[key]
		if msgs := u.problems(p, ok); len(msgs) > 0 {
			wrong[key] = msgs
		}
	}
	// used counters per pool and counter set.
	type counterKey struct{ driver, pool, set, counter string }
	used := map[counterKey]resource.Quantity{}
	for key := range holders {
		p, ok := inv[key]
		if !ok {
			continue
		}
		for _, cc := range p.dev.ConsumesCounters {
			for name, v := range cc.Counters {
				ck := counterKey{key.driver, key.pool, cc.CounterSet, name}
				q := used[ck].DeepCopy()
				q.Add(v.Value)
				used[ck] = q
			}
		}
	}
	newest := d.newestGenerations()
	overdrawn := map[[2]string]string{} // pool -> why
	for ck, q := range used {
		var avail *resource.Quantity
		for _, s := range d.Slices {
			if s.Spec.Driver != ck.driver || s.Spec.Pool.Name != ck.pool || s.Spec.Pool.Generation != newest[[2]string{ck.driver, ck.pool}] {
				continue
			}
			for _, cs := range s.Spec.SharedCounters {
				if c, ok := cs.Counters[ck.counter]; ok && cs.Name == ck.set {
					avail = &c.Value
				}
			}
		}
		if avail == nil || q.Cmp(*avail) > 0 {
			have := "none"
			if avail != nil {
				have = avail.String()
			}
			overdrawn[[2]string{ck.driver, ck.pool}] = fmt.Sprintf("devices allocated consume %s of counter %s/%s, the pool has %s", q.String(), ck.set, ck.counter, have)
		}
	}
	var out []Violation
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		for _, pc := range pl.pod.Spec.ResourceClaims {
			k := pl.pod.Namespace + "/" + podClaimName(pl.pod, pc)
			c := d.Claims[k]
			if c == nil || c.Status.Allocation == nil {
				continue
			}
			reported := map[deviceKey]bool{}
			for _, r := range c.Status.Allocation.Devices.Results {
				key := deviceKey{r.Driver, r.Pool, r.Device}
				if msgs := wrong[key]; len(msgs) > 0 && !reported[key] && (r.AdminAccess == nil || !*r.AdminAccess) {
					reported[key] = true
					for _, msg := range msgs {
						out = append(out, Violation{podName(pl.pod), pl.node.Name, "DynamicResources", fmt.Sprintf("device %s %s", key, msg)})
					}
				}
				if why, ok := overdrawn[[2]string{r.Driver, r.Pool}]; ok && (r.AdminAccess == nil || !*r.AdminAccess) {
					out = append(out, Violation{podName(pl.pod), pl.node.Name, "DynamicResources",
						fmt.Sprintf("device %s: pool %s/%s is overdrawn: %s", key, r.Driver, r.Pool, why)})
				}
			}
		}
	}
	return out
}

// What evalSelector makes of a selector.
const (
	selUnknown = iota // too complex for this checker, or an error: not judged
	selTrue
	selFalse
)

// The selector forms evalSelector understands, joined by "&&": every other expression is not
// judged. The value is always the same kind of literal the attribute holds.
var (
	reDriver     = regexp.MustCompile(`^device\.driver\s*(==|!=)\s*"([^"]*)"$`)
	reAttrCmp    = regexp.MustCompile(`^device\.attributes\["([^"]+)"\]\.([A-Za-z0-9_]+)\s*(==|!=|<=|>=|<|>)\s*(.+)$`)
	reCapCmp     = regexp.MustCompile(`^device\.capacity\["([^"]+)"\]\.([A-Za-z0-9_]+)\.compareTo\(quantity\("([^"]+)"\)\)\s*(==|!=|<=|>=|<|>)\s*(-?\d+)$`)
	reVersionCmp = regexp.MustCompile(`^device\.attributes\["([^"]+)"\]\.([A-Za-z0-9_]+)\.(isGreaterThan|isLessThan)\(semver\("([^"]+)"\)\)$`)
)

// evalSelector evaluates a CEL device selector of the simple forms above against device dev of
// driver: selTrue, selFalse, or selUnknown when the expression (or one of its terms) is of
// another form or would be a CEL error (a missing attribute).
func evalSelector(expr, driver string, dev *resourcev1.Device) int {
	expr = strings.TrimSpace(expr)
	if strings.Contains(expr, "||") || strings.HasPrefix(expr, "!") {
		return selUnknown
	}
	result := selTrue
	for _, term := range strings.Split(expr, "&&") {
		switch evalTerm(strings.TrimSpace(term), driver, dev) {
		case selUnknown:
			return selUnknown
		case selFalse:
			result = selFalse
		}
	}
	return result
}

func evalTerm(term, driver string, dev *resourcev1.Device) int {
	verdict := func(b bool) int {
		if b {
			return selTrue
		}
		return selFalse
	}
	if term == "true" {
		return selTrue
	}
	if m := reDriver.FindStringSubmatch(term); m != nil {
		return verdict((driver == m[2]) == (m[1] == "=="))
	}
	if m := reCapCmp.FindStringSubmatch(term); m != nil {
		c, ok := dev.Capacity[resourcev1.QualifiedName(m[1]+"/"+m[2])]
		if !ok && m[1] == driver {
			c, ok = dev.Capacity[resourcev1.QualifiedName(m[2])]
		}
		q, err := resource.ParseQuantity(m[3])
		want, _ := strconv.Atoi(m[5])
		if !ok || err != nil {
			return selUnknown
		}
		return verdict(compareInts(int64(c.Value.Cmp(q)), m[4], int64(want)))
	}
	if m := reVersionCmp.FindStringSubmatch(term); m != nil {
		a, ok := attribute(dev, driver, m[1]+"/"+m[2])
		if !ok || a.VersionValue == nil {
			return selUnknown
		}
		cmp, ok := compareVersions(*a.VersionValue, m[4])
		if !ok {
			return selUnknown
		}
		if m[3] == "isGreaterThan" {
			return verdict(cmp > 0)
		}
		return verdict(cmp < 0)
	}
	if m := reAttrCmp.FindStringSubmatch(term); m != nil {
		a, ok := attribute(dev, driver, m[1]+"/"+m[2])
		if !ok {
			return selUnknown
		}
		lit := strings.TrimSpace(m[4])
		switch {
		case a.StringValue != nil && strings.HasPrefix(lit, `"`) && strings.HasSuffix(lit, `"`) && len(lit) >= 2:
			return verdict(compareStrings(*a.StringValue, m[3], lit[1:len(lit)-1]))
		case a.IntValue != nil:
			n, err := strconv.ParseInt(lit, 10, 64)
			if err != nil {
				return selUnknown
			}
			return verdict(compareInts(*a.IntValue, m[3], n))
		case a.BoolValue != nil && (lit == "true" || lit == "false") && (m[3] == "==" || m[3] == "!="):
			return verdict((strconv.FormatBool(*a.BoolValue) == lit) == (m[3] == "=="))
		}
	}
	return selUnknown
}

func compareInts(a int64, op string, b int64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}

func compareStrings(a, op, b string) bool {
	return compareInts(int64(strings.Compare(a, b)), op, 0)
}

// compareVersions compares two plain semantic versions "MAJOR.MINOR.PATCH" (no pre-release or
// build part; false when either has one).
func compareVersions(a, b string) (int, bool) {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) != 3 || len(pb) != 3 {
		return 0, false
	}
	for i := range 3 {
		x, err1 := strconv.ParseUint(pa[i], 10, 64)
		y, err2 := strconv.ParseUint(pb[i], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}
