package decide_test

import (
	"fmt"
	"math"
	"slices"

	v1 "k8s.io/api/core/v1"
)

// The seed corpus: one script per kind of constraint, on a few small clusters. Each helper
// below writes one record, its arguments looked up in the vocabularies by value.

// rec is one record of a script: an opcode and three arguments.
type rec [4]byte

func script(parts ...[]rec) []byte {
	var out []byte
	for _, p := range parts {
		for _, r := range p {
			out = append(out, r[:]...)
		}
	}
	return out
}

// at is the index of v in list; seeds name values, never indices.
func at[T comparable](list []T, v T) byte {
	i := slices.Index(list, v)
	if i < 0 {
		panic(fmt.Sprintf("seed uses %v, which is not in the vocabulary %v", v, list))
	}
	return byte(i)
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Node flags (see addNode).
const (
	cordoned   = 1
	noHostname = 2
	withRegion = 4
	withRack   = 8
)

func node(zone string, preset int, flags byte) rec {
	return rec{opNode, at(zones, zone), byte(preset), flags}
}
func nodeLabel(k, v string) rec { return rec{opNodeLabel, at(labelKeys, k), at(values, v)} }
func taint(k, v string, e v1.TaintEffect) rec {
	return rec{opNodeTaint, at(taintKeys, k), at(taintValues, v), at(effects, e)}
}
func alloc(r v1.ResourceName, q string) rec {
	return rec{opNodeAlloc, at(allocResources, r), at(allocQuantities, q)}
}

// existing binds a pod to node i with the app and role labels ("" for none).
func existing(i int, ns, app, role string) rec {
	return rec{opExisting, byte(i), at(namespaces, ns), at([]string{"", "web", "db"}, app) + 3*at([]string{"", "x", "y"}, role)}
}
func existingRequest(r v1.ResourceName, q string) rec {
	return rec{opExistingRequest, at(resources, r), at(quantities, q), inFirst}
}
func existingPort(port int32, proto v1.Protocol, ip string, kind byte) rec {
	return rec{opExistingPort, portArg(port, proto, ip), 0, kind}
}
func existingTerm(key string, sel byte, shape byte) rec {
	return rec{opExistingTerm, at(topoKeys, key), sel, shape}
}
func terminating() rec { return rec{opExistingGone} }

func label(k, v string) rec { return rec{opLabel, at(podKeys, k), at(podValues, v)} }
func namespace(ns string) rec {
	return rec{opNamespace, at(namespaces, ns)}
}

// Where a request goes (see addRequest).
const (
	inFirst = iota
	inSecond
	inInit
	inSidecar
	inOverhead
	inPodLevel
)

func request(r v1.ResourceName, q string, where byte) rec {
	return rec{opRequest, at(resources, r), at(quantities, q), where}
}
func nodeSelector(k, v string) rec { return rec{opNodeSelector, at(labelKeys, k), at(values, v)} }

// Node selector operators in addNodeTerm's order.
const (
	opIn = iota
	opNotIn
	opExists
	opDoesNotExist
	opGt
	opLt
	opMatchName
	opNothing
)

// nodeTerm adds a node affinity requirement on key; arg is the value index (see addNodeTerm).
func nodeTerm(key string, arg byte, op byte, preferred, newTerm bool) rec {
	return rec{opNodeTerm, at(labelKeys, key), arg, b2i(preferred) | b2i(newTerm)<<1 | op<<2}
}
func tolerate(key, value string, exists bool, e v1.TaintEffect) rec {
	return rec{opToleration, at(tolerationKeys, key), at(taintValues, value), b2i(exists) | at(effects, e)<<1}
}

// Container kinds of a host port (see addPort).
const (
	portMain = iota
	portInit
	portSidecar
)

func portArg(port int32, proto v1.Protocol, ip string) byte {
	return at(ports, port) + 4*at(protocols, proto) + 16*at(hostIPs, ip)
}
func hostPort(port int32, proto v1.Protocol, ip string, kind byte) rec {
	return rec{opPort, portArg(port, proto, ip), 0, kind}
}

// Spread options (see addSpread).
type spreadOpts struct {
	anyway           bool
	maxSkew          byte // 1..4
	minDomains       byte // 0..3, 0 for none
	affinity, taints byte // policy: 0 unset, 1 Honor, 2 Ignore
	matchLabelKeys   byte // 0 none, 1 app, 2 role, 3 both
}

func spread(key string, sel byte, o spreadOpts) rec {
	return rec{opSpread, at(topoKeys, key), sel | o.matchLabelKeys<<4 | o.taints<<6,
		b2i(o.anyway) | (max(o.maxSkew, 1)-1)<<1 | o.minDomains<<3 | o.affinity<<5}
}

// Namespaces of a pod affinity term (see addPodTerm).
const (
	nsOwn = iota
	nsB
	nsAC
	nsAll
	nsTeamB
	nsCAndTeamA
)

// Label keys of a pod affinity term.
const (
	noKeys = iota
	matchApp
	mismatchRole
)

func termShape(anti, preferred bool, ns, keys byte) byte {
	return b2i(anti) | b2i(preferred)<<1 | 4*(ns+6*keys)
}
func podTerm(key string, sel byte, shape byte) rec {
	return rec{opPodTerm, at(topoKeys, key), sel, shape}
}
func seed(n uint64) rec { return rec{opSeed, byte(n >> 16), byte(n >> 8), byte(n)} }
func nodeImage(name string, size int64) rec {
	return rec{opImage, at(images, name), at(imageSizes, size), 0}
}
func podImage(name string) rec { return rec{opImage, at(images, name), 0, 1} }

// threeNodes: n0 and n1 in zone a, n2 in zone b, 4 cpu, 8Gi, 110 pods each.
var threeNodes = []rec{node("a", 0, 0), node("a", 0, 0), node("b", 0, 0)}

var decideSeeds = []struct {
	name   string
	script []byte
}{
	{"no nodes", script()},
	{"a plain pod", script(threeNodes)},
	{"cpu beyond every node", script(threeNodes, []rec{request(v1.ResourceCPU, "3E", inFirst)})},
	{"exabytes over a node with fewer", script(threeNodes, []rec{alloc(v1.ResourceMemory, "2E"), request(v1.ResourceMemory, "3E", inFirst)})},
	{"beyond int64", script([]rec{node("a", 4, 0), existingRequest(v1.ResourceMemory, "8Ei")}, []rec{request(v1.ResourceMemory, "1e30", inFirst)})},
	{"extended resource on one node", script([]rec{node("a", 0, 0), node("b", 2, 0)}, []rec{request(resGPU, "1", inFirst), request(v1.ResourceCPU, "100m", inFirst)})},
	{"extended resource no node has", script(threeNodes, []rec{request("example.com/none", "1", inFirst)})},
	{"fractions and zero", script([]rec{node("a", 5, 0), node("b", 5, 0)}, []rec{request(v1.ResourceCPU, "1.5m", inFirst), request(v1.ResourceMemory, "0.5", inFirst), request("hugepages-2Mi", "0", inFirst)})},
	{"a node with nothing", script([]rec{node("a", 3, 0), node("a", 0, 0), alloc(v1.ResourceCPU, "-1")})},
	{"pod count", script([]rec{node("a", 1, 0), existing(0, "ns-a", "web", ""), existing(0, "ns-b", "", ""), node("b", 1, 0), existing(1, "ns-a", "", "")})},
	{"sidecar, init container and overhead", script([]rec{node("a", 1, 0), node("b", 0, 0)}, []rec{request(v1.ResourceCPU, "250m", inSidecar), request(v1.ResourceCPU, "1", inInit),
		request(v1.ResourceCPU, "250m", inFirst), request(v1.ResourceCPU, "250m", inSecond), request(v1.ResourceMemory, "512Mi", inOverhead)})},
	{"existing pods' sidecars and pod-level requests", script([]rec{node("a", 1, 0), existing(0, "ns-a", "", ""),
		{opExistingRequest, at(resources, v1.ResourceCPU), at(quantities, "250m"), inSidecar}, {opExistingRequest, at(resources, v1.ResourceCPU), at(quantities, "1"), inInit},
		node("b", 1, 0), existing(1, "ns-a", "", ""), {opExistingRequest, at(resources, v1.ResourceMemory), at(quantities, "512Mi"), inPodLevel}},
		[]rec{request(v1.ResourceCPU, "250m", inFirst), request(v1.ResourceMemory, "512Mi", inFirst)})},
	{"pod-level requests", script(threeNodes, []rec{existing(0, "ns-a", "", ""), existingRequest(v1.ResourceCPU, "3"), request(v1.ResourceCPU, "2", inPodLevel), request(v1.ResourceCPU, "1m", inFirst)})},
	{"nodeSelector", script(threeNodes, []rec{nodeLabel("disk", "ssd"), nodeSelector("disk", "ssd"), nodeSelector(labelZone, "b")})},
	{"nodeSelector on a repeated key", script(threeNodes, []rec{nodeSelector(labelZone, "a"), nodeSelector(labelZone, "b")})},
	{"node affinity Gt and NotIn", script(threeNodes, []rec{nodeLabel("gen", "3"), nodeTerm("gen", at(intValues, "2"), opGt, false, false),
		nodeTerm(labelZone, at(values, "a"), opNotIn, false, true), nodeTerm(labelZone, at(values, "b"), opIn, false, false)})},
	{"node affinity Lt on a non-integer", script(threeNodes, []rec{nodeLabel("gen", "x"), nodeTerm("gen", at(intValues, "10"), opLt, false, false)})},
	{"matchFields", script(threeNodes, []rec{nodeTerm(labelZone, 1, opMatchName, false, false)})},
	{"matchFields on a missing node", script(threeNodes, []rec{nodeTerm(labelZone, 9, opMatchName, false, false)})},
	{"empty node selector term", script(threeNodes, []rec{nodeTerm(labelZone, 0, opNothing, false, true)})},
	{"preferred node affinity", script(threeNodes, []rec{nodeTerm(labelZone, at(values, "b"), opIn, true, true), nodeTerm("disk", 0, opExists, true, true)})},
	{"taints", script([]rec{node("a", 0, 0), taint("k1", "v", v1.TaintEffectNoSchedule), node("b", 0, 0), taint("k2", "", v1.TaintEffectNoExecute),
		node("c", 0, 0), taint("k1", "w", v1.TaintEffectPreferNoSchedule)}, []rec{tolerate("k1", "v", false, "")})},
	{"tolerate everything", script([]rec{node("a", 0, cordoned), taint("dedicated", "v", v1.TaintEffectNoExecute)}, []rec{tolerate("", "", true, "")})},
	{"every node tainted", script([]rec{node("a", 0, 0), taint("k1", "v", v1.TaintEffectNoSchedule), node("b", 0, 0), taint("k2", "", v1.TaintEffectNoExecute)},
		[]rec{tolerate("k1", "w", false, v1.TaintEffectNoSchedule)})},
	{"every node cordoned", script([]rec{node("a", 0, cordoned), node("b", 0, cordoned)}, []rec{tolerate("k1", "", true, "")})},
	{"cordoned", script([]rec{node("a", 0, cordoned), node("b", 0, cordoned)}, []rec{tolerate(v1.TaintNodeUnschedulable, "", true, v1.TaintEffectNoSchedule)})},
	{"host ports", script(threeNodes, []rec{existing(0, "ns-a", "", ""), existingPort(80, "", "", portMain), existing(1, "ns-b", "", ""), existingPort(80, v1.ProtocolTCP, "10.0.0.1", portSidecar),
		existing(2, "ns-a", "", ""), existingPort(80, v1.ProtocolUDP, "", portMain)}, []rec{hostPort(80, "", "10.0.0.2", portMain), hostPort(53, v1.ProtocolSCTP, "::", portInit)})},
	{"host ports on other addresses", script(threeNodes, []rec{existing(0, "ns-a", "", ""), existingPort(443, "", "10.0.0.1", portMain), existing(1, "ns-a", "", ""), existingPort(443, "", "::", portMain)},
		[]rec{hostPort(443, "", "10.0.0.2", portSidecar), hostPort(443, "", "0.0.0.0", portInit)})},
	{"hard spread over zones", script(threeNodes, []rec{existing(0, "ns-a", "web", ""), existing(1, "ns-a", "web", "")},
		[]rec{label("app", "web"), spread(labelZone, selAppWeb, spreadOpts{maxSkew: 1})})},
	{"hard spread with minDomains", script(threeNodes, []rec{existing(2, "ns-a", "web", "")}, []rec{label("app", "web"), spread(labelZone, selAppWeb, spreadOpts{maxSkew: 1, minDomains: 3})})},
	{"spread inclusion policies", script(threeNodes, []rec{taint("k1", "", v1.TaintEffectNoSchedule), existing(0, "ns-a", "web", ""), node("c", 0, 0), existing(3, "ns-a", "web", "")},
		[]rec{nodeSelector(labelZone, "a"), spread(labelZone, selAppWeb, spreadOpts{maxSkew: 1, affinity: 2, taints: 1}), spread(labelHostname, selAppIn, spreadOpts{maxSkew: 2, affinity: 1, taints: 2})})},
	{"spread matchLabelKeys", script(threeNodes, []rec{existing(0, "ns-a", "web", "x"), existing(2, "ns-a", "web", "y")},
		[]rec{label("app", "web"), label("role", "x"), spread(labelZone, selAppExists, spreadOpts{maxSkew: 1, matchLabelKeys: 2})})},
	{"spread with empty selector and a missing key", script(threeNodes, []rec{node("", 0, 0), existing(0, "ns-a", "web", "")},
		[]rec{spread(labelZone, selEmpty, spreadOpts{maxSkew: 1}), spread("rack", selNil, spreadOpts{anyway: true, maxSkew: 2})})},
	{"soft spread", script(threeNodes, []rec{existing(0, "ns-a", "web", ""), existing(0, "ns-a", "web", "")}, []rec{label("app", "web"), spread(labelHostname, selAppWeb, spreadOpts{anyway: true, maxSkew: 1})})},
	{"required pod affinity", script(threeNodes, []rec{existing(2, "ns-a", "db", "")}, []rec{podTerm(labelZone, selAppIn, termShape(false, false, nsOwn, noKeys))})},
	{"first of an affinity series", script(threeNodes, []rec{label("app", "web"), podTerm(labelZone, selAppWeb, termShape(false, false, nsOwn, noKeys))})},
	{"required anti-affinity", script(threeNodes, []rec{existing(0, "ns-b", "web", "")}, []rec{podTerm(labelZone, selAppWeb, termShape(true, false, nsB, noKeys))})},
	{"anti-affinity by namespace selector", script(threeNodes, []rec{existing(0, "ns-b", "web", ""), existing(2, "ns-c", "web", "")},
		[]rec{podTerm(labelHostname, selAppWeb, termShape(true, false, nsTeamB, noKeys)), podTerm(labelZone, selAppWeb, termShape(true, false, nsCAndTeamA, noKeys))})},
	{"anti-affinity to all namespaces", script(threeNodes, []rec{existing(1, "default", "db", "")}, []rec{podTerm(labelZone, selAppIn, termShape(true, false, nsAll, noKeys))})},
	{"an existing pod's anti-affinity", script(threeNodes, []rec{existing(0, "ns-a", "", "x"), existingTerm(labelZone, selAppWeb, termShape(true, false, nsOwn, noKeys)), terminating()},
		[]rec{label("app", "web")})},
	{"affinity matchLabelKeys and mismatchLabelKeys", script(threeNodes, []rec{existing(0, "ns-a", "web", "x"), existing(2, "ns-a", "web", "y")},
		[]rec{label("app", "web"), label("role", "x"), podTerm(labelZone, selAppExists, termShape(false, false, nsOwn, matchApp)), podTerm(labelHostname, selAppExists, termShape(true, false, nsOwn, mismatchRole))})},
	{"preferred pod terms", script(threeNodes, []rec{existing(0, "ns-a", "web", ""), existingTerm(labelZone, selAppWeb, termShape(false, true, nsOwn, noKeys)), existing(2, "ns-a", "db", "")},
		[]rec{podTerm(labelZone, selAppWeb, termShape(false, true, nsAC, noKeys)), podTerm(labelHostname, selAppIn, termShape(true, true, nsAll, noKeys)), seed(7)})},
	{"images", script([]rec{node("a", 0, 0), nodeImage("nginx", 500<<20), nodeImage("registry.k8s.io/pause:3.10", math.MaxInt64), node("b", 0, 0), nodeImage("nginx:latest", 3000<<20),
		node("c", 0, 0)}, []rec{podImage("nginx")})},
	{"huge and contradictory selectors", script(threeNodes, []rec{existing(0, "ns-a", "web", "x")},
		[]rec{podTerm(labelZone, selHuge, termShape(true, false, nsOwn, noKeys)), spread(labelZone, selContradiction, spreadOpts{maxSkew: 1}), podTerm(labelHostname, selRepeatedKey, termShape(false, true, nsOwn, noKeys))})},
	{"invalid selector", script(threeNodes, []rec{podTerm(labelZone, selNoValues, termShape(true, false, nsOwn, noKeys)), spread(labelZone, selBadKey, spreadOpts{maxSkew: 1})})},
	{"topology key no node has", script(threeNodes, []rec{podTerm("missing", selAppWeb, termShape(true, false, nsOwn, noKeys)), podTerm("missing", selEmpty, termShape(false, false, nsOwn, noKeys))})},
	{"everything at once", script([]rec{node("a", 0, withRegion|withRack), taint("k1", "v", v1.TaintEffectNoSchedule), existing(0, "ns-a", "web", "x"), existingPort(8080, "", "", portMain),
		node("b", 1, withRegion), existing(1, "ns-b", "db", "y"), existingTerm(labelHostname, selAppIn, termShape(true, false, nsAll, noKeys)),
		node("c", 0, noHostname|withRack), node("-", 4, 0), node("", 5, cordoned)},
		[]rec{namespace("ns-b"), label("app", "web"), label("tier", ""), request(v1.ResourceCPU, "100m", inFirst), request(resGPU, "0", inFirst), nodeSelector("rack", "r0"),
			nodeTerm(labelRegion, 0, opExists, false, false), tolerate("k1", "v", false, v1.TaintEffectNoSchedule), hostPort(8080, "", "10.0.0.1", portMain),
			spread(labelZone, selAppWeb, spreadOpts{maxSkew: 2}), spread(labelRegion, selAppWeb, spreadOpts{anyway: true, maxSkew: 1}),
			podTerm(labelZone, selWebAndX, termShape(true, false, nsOwn, noKeys)), podTerm(labelRegion, selTier, termShape(false, true, nsOwn, noKeys))})},
}
