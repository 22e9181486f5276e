package conformance

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/testenv"
)

var flagDRA = flag.Int("conformance.dra", 24, "how many generated scenarios TestDRAGenerated runs (at most 6 with -short)")

// TestDRAGenerated runs generated DRA scenarios through both schedulers (on two copies, as the
// directed DRA cases) and checks, per group of pods, that as many stay pending, that a group left
// wholly pending gets the same FailedScheduling messages, and that placementcheck accepts every
// allocation.
//
// A scenario is 3-5 nodes (some cordoned), each publishing a pool of GPUs (models, NUMA nodes,
// ECC, firmware versions, memory; some tainted), sometimes a network slice for some nodes or for
// all, and 3-6 groups of pods. Every device belongs to one group (attribute grp) and every
// request of a group selects its group's devices only, so groups never compete. Within a group
// the pods are identical and each takes exactly its count of devices from one node (or one
// NUMA node, with a matchAttribute constraint), so how many of them can be placed is the same
// whatever the order: the sum over nodes of what each can hold. Kinds of groups: 1-3 pods
// asking for 1-3 devices with a selector (model, NUMA node, ECC, firmware, memory), with a claim
// template or a claim each, with or without a toleration of the taints; 1-2 pods asking for two
// devices on one NUMA node; 2-4 pods each asking for part of the memory of one device, the
// group's devices allowing multiple allocations (consumable capacity, with no request policy, a
// validRange with steps or validValues: each pod takes one share, so how many fit is the sum of
// what each device holds); and single pods with an All request, a firstAvailable request, a claim
// shared by two pods (allocated once, both on its node), and a missing claim, template or class.
//
// -conformance.dra sets how many scenarios run; -conformance.seed, -conformance.base and
// -conformance.show work as for TestConformance:
//
//	go test ./conformance -run 'TestDRAGenerated$' -conformance.seed=N -v
func TestDRAGenerated(t *testing.T) {
	n := *flagDRA
	if testing.Short() {
		n = min(n, 6)
	}
	start := time.Now()
	var pods, pending, failed int
	list := seeds(t, n)
	for _, seed := range list {
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dc := generateDRA(seed)
			up, be := runDRACase(t, fmt.Sprintf("dg%d", seed), dc)
			if up == nil || be == nil {
				return
			}
			pods += len(up.pods)
			for _, p := range up.pods {
				if p.Spec.NodeName == "" {
					pending++
				}
			}
			compareDRA(t, dc, up, be)
		})
		if !ok {
			failed++
		}
	}
	t.Logf("%d scenarios (%d failed), %d incoming pods (%d left pending by upstream) in %s",
		len(list), failed, pods, pending, time.Since(start).Round(time.Millisecond))
}

// dgen builds one DRA scenario from one seed (one PCG source, iterating only over slices).
type dgen struct {
	r  *rand.Rand
	dc *draCase
	// devices are the devices of each node's pool, in node order; network those of the
	// network slice.
	devices [][]resourcev1.Device
	network []resourcev1.Device
}

func (g *dgen) chance(p float64) bool { return g.r.Float64() < p }

func dpick[T any](g *dgen, list []T) T { return list[g.r.IntN(len(list))] }

var (
	genModels   = []string{"small", "a100", "h100"}
	genMemories = []string{"16Gi", "40Gi", "80Gi"}
	taintKey    = "example.com/degraded"
)

// generateDRA returns the DRA scenario of seed.
func generateDRA(seed uint64) *draCase {
	g := &dgen{r: rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d)),
		dc: &draCase{name: fmt.Sprintf("seed=%d (rerun: go test ./conformance -run 'TestDRAGenerated$' -conformance.seed=%d -v)", seed, seed),
			groups: map[string][]string{}}}
	dc := g.dc
	dc.classes = []*resourcev1.DeviceClass{gpuClass("gpu"),
		gpuClass("big", fmt.Sprintf(`device.capacity[%q].memory.compareTo(quantity("40Gi")) >= 0`, drvGPU))}
	for i := range 3 + g.r.IntN(3) {
		dc.nodes = append(dc.nodes, testenv.NodeSpec{Name: string(rune('a' + i)), Unschedulable: g.chance(0.1)})
		g.devices = append(g.devices, nil)
	}
	networked := g.chance(0.3)
	for i := range 3 + g.r.IntN(4) {
		g.group(fmt.Sprintf("g%d", i), networked)
	}
	for i, spec := range dc.nodes {
		if len(g.devices[i]) > 0 {
			dc.slices = append(dc.slices, gpuSlice(spec.Name, g.devices[i]...))
		}
	}
	if len(g.network) > 0 {
		s := testenv.NewNodeSlice("x", drvGPU, g.network...)
		s.Name, s.Spec.Pool.Name, s.Spec.NodeName = "fabric", "fabric", nil
		if g.chance(0.5) {
			s.Spec.AllNodes = ptrTo(true)
		} else {
			var names []string
			for _, spec := range dc.nodes {
				if g.chance(0.5) {
					names = append(names, spec.Name)
				}
			}
			s.Spec.NodeSelector = &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
				{Key: labelHostname, Operator: v1.NodeSelectorOpIn, Values: append(names, "nowhere")}}}}}
		}
		dc.slices = append(dc.slices, s)
	}
	return dc
}

// devicesFor adds 1-7 devices of group grp to random nodes (or the network slice) and reports
// whether some went to the network slice: a pod may then combine devices of its node's pool and
// of the network slice, and where one pod takes them decides whether the next fits, so such a
// group has one pod.
func (g *dgen) devicesFor(grp string, networked bool) bool {
	shared := false
	for i := range 1 + g.r.IntN(7) {
		numa := g.r.IntN(3)
		d := testenv.NewDevice(fmt.Sprintf("%s-%d", grp, i), map[string]any{"grp": grp, "model": dpick(g, genModels), "numa": numa,
			"ecc": g.chance(0.5), "fw": testenv.Version(fmt.Sprintf("1.%d.0", g.r.IntN(4)))}, map[string]string{"memory": dpick(g, genMemories)})
		if g.chance(0.1) {
			d = testenv.TaintDevice(d, taintKey, "true", resourcev1.DeviceTaintEffectNoSchedule)
		}
		if networked && g.chance(0.25) {
			g.network, shared = append(g.network, d), true
			continue
		}
		n := g.r.IntN(len(g.devices))
		g.devices[n] = append(g.devices[n], d)
	}
	return shared
}

// genAsked are the memory amounts a consumable-capacity group asks for.
var genAsked = []string{"3Gi", "10Gi", "16Gi", "24Gi"}

// shareDevices lets group grp's devices be allocated several times, with one request policy
// for their memory: none, steps of 4Gi from 4Gi, or 8Gi and 16Gi.
func (g *dgen) shareDevices(grp string) {
	q := func(s string) *resource.Quantity { return ptrTo(resource.MustParse(s)) }
	var policy *resourcev1.CapacityRequestPolicy
	switch g.r.IntN(3) {
	case 1:
		policy = &resourcev1.CapacityRequestPolicy{Default: q("4Gi"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("4Gi"), Step: q("4Gi")}}
	case 2:
		policy = &resourcev1.CapacityRequestPolicy{Default: q("8Gi"), ValidValues: []resource.Quantity{resource.MustParse("8Gi"), resource.MustParse("16Gi")}}
	}
	for _, list := range append(slices.Clone(g.devices), g.network) {
		for i := range list {
			d := &list[i]
			if a := d.Attributes["grp"]; a.StringValue == nil || *a.StringValue != grp {
				continue
			}
			d.AllowMultipleAllocations = ptrTo(true)
			c := d.Capacity["memory"]
			c.RequestPolicy = policy
			d.Capacity["memory"] = c
		}
	}
}

// selector returns a group's selectors: its own devices, and maybe one more condition.
func (g *dgen) selector(grp string) []string {
	out := []string{attr("grp") + fmt.Sprintf(" == %q", grp)}
	switch x := g.r.Float64(); {
	case x < 0.15:
		out = append(out, attr("model")+fmt.Sprintf(" == %q", dpick(g, genModels)))
	case x < 0.3:
		out = append(out, attr("numa")+fmt.Sprintf(" <= %d", g.r.IntN(2)))
	case x < 0.4:
		out = append(out, attr("ecc")+" == true")
	case x < 0.5:
		out = append(out, attr("fw")+fmt.Sprintf(`.isGreaterThan(semver("1.%d.0"))`, g.r.IntN(3)))
	case x < 0.6:
		out = append(out, attr("model")+`.startsWith("a") || `+attr("model")+` == "h100"`)
	}
	return out
}

// group adds a group of pods named name (see TestDRAGenerated for the kinds).
func (g *dgen) group(name string, networked bool) {
	dc := g.dc
	single := g.devicesFor(name, networked)
	class := "gpu"
	if g.chance(0.2) {
		class = "big"
	}
	sel := g.selector(name)
	count := int64(1 + g.r.IntN(2))
	if g.chance(0.2) {
		count = 3
	}
	req := testenv.ExactRequest("gpu", class, count, sel...)
	if g.chance(0.4) {
		req = testenv.Tolerating(req, testenv.TolerateTaint(taintKey, resourcev1.DeviceTaintEffectNoSchedule))
	}
	size := 1 + g.r.IntN(3)
	var spec []resourcev1.DeviceRequest
	var constraints []resourcev1.DeviceConstraint
	kind := "template"
	switch x := g.r.Float64(); {
	case x < 0.35:
		spec = []resourcev1.DeviceRequest{req}
	case x < 0.55:
		spec, kind = []resourcev1.DeviceRequest{req}, "claims"
	case x < 0.65:
		req.Exactly.Count = 2
		spec, size = []resourcev1.DeviceRequest{req}, 1+g.r.IntN(2)
		constraints = []resourcev1.DeviceConstraint{testenv.MatchAttribute(drvGPU + "/numa")}
	case x < 0.72:
		spec, size = []resourcev1.DeviceRequest{testenv.AllRequest("gpu", class, sel...)}, 1
	case x < 0.8:
		spec, size = []resourcev1.DeviceRequest{testenv.FirstAvailableRequest("gpu",
			testenv.SubRequest("many", class, 3, sel...), testenv.SubRequest("one", class, 1, sel...))}, 1
	case x < 0.86:
		req.Exactly.Count = 1
		spec, size = []resourcev1.DeviceRequest{asking(req, "memory", dpick(g, genAsked))}, 2+g.r.IntN(3)
		g.shareDevices(name)
	case x < 0.9:
		spec, kind, size = []resourcev1.DeviceRequest{req}, "shared", 2
	case x < 0.93:
		kind, size = "missing-claim", 1
	case x < 0.96:
		kind, size = "missing-template", 1
	default:
		spec, size = []resourcev1.DeviceRequest{testenv.ExactRequest("gpu", "ghost", 1, sel...)}, 1
	}
	if single {
		size = 1
	}
	switch kind {
	case "template":
		t := rTemplate(name, spec...)
		t.Spec.Spec.Devices.Constraints = constraints
		dc.templates = append(dc.templates, t)
	case "shared":
		c := rClaim(name, spec...)
		dc.claims = append(dc.claims, c)
	}
	for i := range size {
		pod := fmt.Sprintf("%s-p%d", name, i)
		var pc v1.PodResourceClaim
		switch kind {
		case "template":
			pc = fromTemplate(name)
		case "claims":
			c := rClaim(pod, spec...)
			c.Spec.Devices.Constraints = constraints
			dc.claims = append(dc.claims, c)
			pc = named(pod)
		case "shared":
			pc = named(name)
		case "missing-claim":
			pc = named(pod)
		case "missing-template":
			pc = fromTemplate(name)
		}
		dc.pods = append(dc.pods, draPod(pod, pc))
		dc.groups[name] = append(dc.groups[name], pod)
	}
}
