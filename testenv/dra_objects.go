package testenv

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Objects for dynamic resource allocation (resource.k8s.io/v1) tests. There is no kubelet and no
// DRA driver here: a test plays the driver by creating, for each node, the ResourceSlice a
// node-local driver would publish (NewNodeSlice), and plays the cluster admin with DeviceClasses.
// kube-controller-manager's resourceclaim-controller makes a pod's claims from its templates.
// The builders only build; the caller creates.
//
//	class := testenv.NewDeviceClass("gpu", "gpu.example.com")
//	slice := testenv.NewNodeSlice("n0", "gpu.example.com",
//		testenv.NewDevice("gpu-0", map[string]any{"model": "a100", "numa": 0}, map[string]string{"memory": "80Gi"}))
//	tmpl := testenv.NewClaimTemplate(ns, "one-gpu", testenv.ExactRequest("gpu", "gpu", 1))
//	pod := testenv.WithResourceClaims(testenv.Pod(ns, "p", "", ""), testenv.ClaimFromTemplate("gpu", "one-gpu"))

// Version is a device attribute value that is a semantic version ("1.2.3"): NewDevice stores it
// as a version attribute, which CEL compares with semver(), not as a string.
type Version string

// NewDeviceClass returns a class whose devices are those of driver that every extraCEL expression
// (a CEL device selector, e.g. `device.attributes["gpu.example.com"].model == "a100"`) accepts.
func NewDeviceClass(name, driver string, extraCEL ...string) *resourcev1.DeviceClass {
	return &resourcev1.DeviceClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       resourcev1.DeviceClassSpec{Selectors: celSelectors(append([]string{fmt.Sprintf("device.driver == %q", driver)}, extraCEL...))},
	}
}

// NewNodeSlice returns the ResourceSlice that a node-local driver publishes for node: one pool
// named after the node (generation 1, in this one slice) holding devices. Its name is
// "<node>-<driver>", with the driver's dots as dashes.
func NewNodeSlice(node, driver string, devices ...resourcev1.Device) *resourcev1.ResourceSlice {
	return &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: node + "-" + strings.ReplaceAll(driver, ".", "-")},
		Spec: resourcev1.ResourceSliceSpec{
			Driver:   driver,
			Pool:     resourcev1.ResourcePool{Name: node, Generation: 1, ResourceSliceCount: 1},
			NodeName: &node,
			Devices:  devices,
		},
	}
}

// NewDevice returns a device with attributes (each value a string, an int, an int64, a bool or a
// Version; names unqualified, i.e. in the driver's domain) and capacity (quantities such as
// "80Gi"). Either map may be nil. It panics on a value of another type or a bad quantity: the
// arguments are the test's own constants.
func NewDevice(name string, attrs map[string]any, capacity map[string]string) resourcev1.Device {
	d := resourcev1.Device{Name: name}
	if len(attrs) > 0 {
		d.Attributes = make(map[resourcev1.QualifiedName]resourcev1.DeviceAttribute, len(attrs))
	}
	for k, v := range attrs {
		var a resourcev1.DeviceAttribute
		switch v := v.(type) {
		case string:
			a.StringValue = &v
		case int:
			a.IntValue = new(int64(v))
		case int64:
			a.IntValue = &v
		case bool:
			a.BoolValue = &v
		case Version:
			a.VersionValue = new(string(v))
		default:
			panic(fmt.Sprintf("testenv.NewDevice %s: attribute %s: unsupported value %T", name, k, v))
		}
		d.Attributes[resourcev1.QualifiedName(k)] = a
	}
	if len(capacity) > 0 {
		d.Capacity = make(map[resourcev1.QualifiedName]resourcev1.DeviceCapacity, len(capacity))
	}
	for k, v := range capacity {
		d.Capacity[resourcev1.QualifiedName(k)] = resourcev1.DeviceCapacity{Value: resource.MustParse(v)}
	}
	return d
}

// TaintDevice returns d with one more taint (key=value:effect), as a driver publishes a device
// that is unhealthy or reserved: NoSchedule keeps it from being allocated to a request that does
// not tolerate it.
func TaintDevice(d resourcev1.Device, key, value string, effect resourcev1.DeviceTaintEffect) resourcev1.Device {
	d.Taints = append(append([]resourcev1.DeviceTaint(nil), d.Taints...), resourcev1.DeviceTaint{Key: key, Value: value, Effect: effect})
	return d
}

// ExactRequest returns a request named name for count devices of class, each accepted by every
// CEL selector.
func ExactRequest(name, class string, count int64, selectors ...string) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: class,
		Selectors:       celSelectors(selectors),
		AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
		Count:           count,
	}}
}

// AllRequest returns a request named name for every device of class, on the node chosen, that
// every CEL selector accepts (allocationMode All; at least one must exist).
func AllRequest(name, class string, selectors ...string) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: class,
		Selectors:       celSelectors(selectors),
		AllocationMode:  resourcev1.DeviceAllocationModeAll,
	}}
}

// FirstAvailableRequest returns a request named name satisfied by the first of subs that can be
// allocated, in order of preference. The allocation names the one chosen "name/sub".
func FirstAvailableRequest(name string, subs ...resourcev1.DeviceSubRequest) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, FirstAvailable: subs}
}

// SubRequest returns a subrequest of FirstAvailableRequest: count devices of class, each accepted
// by every CEL selector.
func SubRequest(name, class string, count int64, selectors ...string) resourcev1.DeviceSubRequest {
	return resourcev1.DeviceSubRequest{
		Name:            name,
		DeviceClassName: class,
		Selectors:       celSelectors(selectors),
		AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
		Count:           count,
	}
}

// Tolerating returns r whose devices may carry a taint tols tolerate (on each subrequest, for a
// FirstAvailableRequest).
func Tolerating(r resourcev1.DeviceRequest, tols ...resourcev1.DeviceToleration) resourcev1.DeviceRequest {
	if r.Exactly != nil {
		e := *r.Exactly
		e.Tolerations = append(append([]resourcev1.DeviceToleration(nil), e.Tolerations...), tols...)
		r.Exactly = &e
	}
	subs := make([]resourcev1.DeviceSubRequest, len(r.FirstAvailable))
	for i, s := range r.FirstAvailable {
		s.Tolerations = append(append([]resourcev1.DeviceToleration(nil), s.Tolerations...), tols...)
		subs[i] = s
	}
	if len(subs) > 0 {
		r.FirstAvailable = subs
	}
	return r
}

// TolerateTaint returns the toleration of every taint with key and effect, whatever its value.
func TolerateTaint(key string, effect resourcev1.DeviceTaintEffect) resourcev1.DeviceToleration {
	return resourcev1.DeviceToleration{Key: key, Operator: resourcev1.DeviceTolerationOpExists, Effect: effect}
}

// MatchAttribute returns the constraint that the devices allocated for requests (all of the
// claim's when none is named) share the value of attribute attr, fully qualified
// ("gpu.example.com/numa").
func MatchAttribute(attr string, requests ...string) resourcev1.DeviceConstraint {
	a := resourcev1.FullyQualifiedName(attr)
	return resourcev1.DeviceConstraint{Requests: requests, MatchAttribute: &a}
}

// NewResourceClaim returns a plain claim (one that pods name directly and may share) for
// requests. (NewClaim is the PersistentVolumeClaim builder.)
func NewResourceClaim(namespace, name string, requests ...resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       claimSpec(requests),
	}
}

// NewClaimTemplate returns a claim template for requests: the resourceclaim controller makes one
// claim from it for each pod that names it.
func NewClaimTemplate(namespace, name string, requests ...resourcev1.DeviceRequest) *resourcev1.ResourceClaimTemplate {
	return &resourcev1.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       resourcev1.ResourceClaimTemplateSpec{Spec: claimSpec(requests)},
	}
}

// ClaimFromTemplate returns a pod's claim entry called name, made from the claim template.
func ClaimFromTemplate(name, template string) v1.PodResourceClaim {
	return v1.PodResourceClaim{Name: name, ResourceClaimTemplateName: &template}
}

// ExistingClaim returns a pod's claim entry called name for the plain ResourceClaim claim.
func ExistingClaim(name, claim string) v1.PodResourceClaim {
	return v1.PodResourceClaim{Name: name, ResourceClaimName: &claim}
}

// WithResourceClaims adds the claims to pod's spec.resourceClaims and to every container's
// resources.claims (as a workload that uses the devices does), and returns pod.
func WithResourceClaims(pod *v1.Pod, claims ...v1.PodResourceClaim) *v1.Pod {
	pod.Spec.ResourceClaims = append(pod.Spec.ResourceClaims, claims...)
	for i := range pod.Spec.Containers {
		for _, c := range claims {
			pod.Spec.Containers[i].Resources.Claims = append(pod.Spec.Containers[i].Resources.Claims, v1.ResourceClaim{Name: c.Name})
		}
	}
	return pod
}

func claimSpec(requests []resourcev1.DeviceRequest) resourcev1.ResourceClaimSpec {
	return resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: requests}}
}

func celSelectors(exprs []string) []resourcev1.DeviceSelector {
	var out []resourcev1.DeviceSelector
	for _, e := range exprs {
		out = append(out, resourcev1.DeviceSelector{CEL: &resourcev1.CELDeviceSelector{Expression: e}})
	}
	return out
}
