package conformance

import (
	"fmt"
	"math/rand/v2"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// The generated scenarios' classes.
const (
	genStatic   = "static" // WaitForFirstConsumer, static PVs only
	genDyn      = "dyn"    // WaitForFirstConsumer, provisioned anywhere
	genDynZones = "dyn-z"  // WaitForFirstConsumer, provisioned within allowed zones
	genCapacity = "cap"    // WaitForFirstConsumer, capDriver: published capacity
	genAttach   = "att"    // WaitForFirstConsumer, attDriver: counts against CSINode limits
	genNow      = "now"    // Immediate, no provisioner
	labelFor    = "conf.berth.test/for"
)

// vgen builds one volume scenario from one seed (one PCG source, iterating only over slices).
type vgen struct {
	r     *rand.Rand
	vc    *volCase
	zones map[string]string // node -> zone ("" for none)
}

func (g *vgen) chance(p float64) bool { return g.r.Float64() < p }

func vpick[T any](g *vgen, list []T) T { return list[g.r.IntN(len(list))] }

// generateVolumes returns the volume scenario of seed.
func generateVolumes(seed uint64) *volCase {
	g := &vgen{r: rand.New(rand.NewPCG(seed, seed^0x5bd1e9955bd1e995)), zones: map[string]string{},
		vc: &volCase{name: fmt.Sprintf("seed=%d (rerun: go test ./conformance -run 'TestVolumeGenerated$' -conformance.seed=%d -v)", seed, seed), free: true}}
	vc := g.vc
	allowed := []string{vpick(g, zones)}
	if z := vpick(g, zones); z != allowed[0] && g.chance(0.5) {
		allowed = append(allowed, z)
	}
	vc.classes = []*storagev1.StorageClass{wffc(genStatic, noProvisioner), wffc(genDyn, testProvisioner),
		wffc(genDynZones, testProvisioner, inZones(allowed...)), wffc(genCapacity, capDriver), wffc(genAttach, attDriver),
		immediate(genNow, noProvisioner)}
	vc.provisioned = []string{genDyn, genDynZones, genCapacity, genAttach}
	vc.drivers = []*storagev1.CSIDriver{csiDriver(capDriver, func(s *storagev1.CSIDriverSpec) { s.StorageCapacity = ptrTo(true) })}
	for _, z := range zones {
		if g.chance(0.8) {
			vc.capacities = append(vc.capacities, capacityIn(z, genCapacity, z, vpick(g, []string{"500Mi", "2Gi", "10Gi"}), ""))
		}
	}
	for i := range 3 + g.r.IntN(3) {
		g.node(string(rune('a' + i)))
	}
	for i := range 4 + g.r.IntN(5) {
		name := fmt.Sprintf("p%d", i)
		claims := []string{g.claim(name + "c0")}
		if g.chance(0.25) {
			claims = append(claims, g.claim(name+"c1"))
		}
		vc.pods = append(vc.pods, vPod(name, claims...))
	}
	return vc
}

// node adds a node: in a zone or none, maybe cordoned, maybe full of attDriver volumes (its
// CSINode's limit taken by an existing pod's volumes), else maybe with a CSINode without limits.
func (g *vgen) node(name string) {
	spec := testenv.NodeSpec{Name: name, Labels: map[string]string{}, Unschedulable: g.chance(0.1)}
	if g.chance(0.85) {
		g.zones[name] = vpick(g, zones)
		spec.Labels[labelZone] = g.zones[name]
	}
	g.vc.nodes = append(g.vc.nodes, spec)
	switch {
	case g.chance(0.3):
		k := 1 + g.r.IntN(2)
		var claims []string
		for j := range k {
			pv, pvc := boundPair(fmt.Sprintf("e%s%d", name, j), "", "1Gi", v1.ReadWriteOnce, csiVolume(attDriver))
			g.vc.pvs, g.vc.claims = append(g.vc.pvs, pv), append(g.vc.claims, pvc)
			claims = append(claims, pvc.Name)
		}
		g.vc.existing = append(g.vc.existing, on(name, with(dPod(""), withClaims(claims...))))
		g.vc.csiNodes = append(g.vc.csiNodes, csiNodeOf(name, map[string]int32{attDriver: int32(k)}))
	case g.chance(0.4):
		g.vc.csiNodes = append(g.vc.csiNodes, csiNodeOf(name, map[string]int32{attDriver: -1}))
	}
}

// claim adds a claim named name of a random kind (see TestVolumeGenerated) and returns its name.
func (g *vgen) claim(name string) string {
	vc := g.vc
	size := vpick(g, []string{"1Gi", "2Gi", "4Gi"})
	switch x := g.r.Float64(); {
	case x < 0.4: // static PVs of its own
		vc.claims = append(vc.claims, newClaim(name, genStatic, size, claimSelector(labelFor, name)))
		count := 1 + g.r.IntN(3)
		if g.chance(0.1) {
			count = 0
		}
		for j := range count {
			opts := []pvOpt{pvLabels(labelFor, name)}
			if g.chance(0.1) {
				opts = append(opts, pvModes(v1.ReadOnlyMany))
			}
			opts = append(opts, g.placement()...)
			pvSize := size // fits exactly, or more, or (some of them) less
			if g.chance(0.15) {
				pvSize = "500Mi"
			} else if g.chance(0.5) {
				pvSize = vpick(g, []string{"4Gi", "8Gi"})
			}
			vc.pvs = append(vc.pvs, hostPathPV(fmt.Sprintf("%s-%d", name, j), genStatic, pvSize, opts...))
		}
	case x < 0.55:
		vc.claims = append(vc.claims, newClaim(name, vpick(g, []string{genDyn, genDynZones}), size))
	case x < 0.65:
		vc.claims = append(vc.claims, newClaim(name, genCapacity, vpick(g, []string{"1Gi", "4Gi"})))
	case x < 0.75:
		vc.claims = append(vc.claims, newClaim(name, genAttach, size))
	case x < 0.9: // bound to a PV with node affinity, or zone labels only
		var opts []pvOpt
		if g.chance(0.5) {
			opts = g.placement()
		} else {
			z := vpick(g, zones)
			if g.chance(0.3) {
				z += "__" + vpick(g, zones)
			}
			opts = []pvOpt{pvLabels(labelZone, z)}
		}
		pv, pvc := boundPair(name, "", size, v1.ReadWriteOnce, opts...)
		vc.pvs, vc.claims = append(vc.pvs, pv), append(vc.claims, pvc)
	case x < 0.93: // missing
	case x < 0.96:
		vc.claims = append(vc.claims, newClaim(name, genNow, size))
	default: // ReadWriteOncePod, in use by an existing pod
		pv, pvc := boundPair(name, "", size, v1.ReadWriteOncePod)
		vc.pvs, vc.claims = append(vc.pvs, pv), append(vc.claims, pvc)
		node := vpick(g, vc.nodes).Name
		vc.existing = append(vc.existing, on(node, with(dPod(""), withClaims(name))))
	}
	return name
}

// placement is a PV's node affinity: one node (and its zone label), one zone (and the label), or
// none.
func (g *vgen) placement() []pvOpt {
	switch x := g.r.Float64(); {
	case x < 0.5:
		n := vpick(g, g.vc.nodes).Name
		opts := []pvOpt{onNodes(n)}
		if z := g.zones[n]; z != "" {
			opts = append(opts, pvLabels(labelZone, z))
		}
		return opts
	case x < 0.8:
		z := vpick(g, zones)
		return []pvOpt{pvAffinity(labelZone, z), pvLabels(labelZone, z)}
	}
	return nil
}
