package snapshot

import (
	"cmp"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Storage is the storage side of the cluster as a decision sees it: PersistentVolumeClaims,
// PersistentVolumes, StorageClasses, CSINodes, CSIDrivers, CSIStorageCapacities and
// VolumeAttachments, with this
// scheduler's assumed volume bindings already applied (a PV it chose for a claim carries the
// claimRef, a claim it chose a node for carries the selected-node annotation), and how many
// placed pods use each claim.
//
// The volume plugins read it instead of listers, so that a decision stays a function of its
// snapshot. The objects are the informers' (or the cache's assumed copies) and must not be
// modified. Like the rest of a Snapshot, Storage is changed only by its owner (the scheduler
// cache, through the Set and Delete methods) while no decision reads it; reads are safe from
// many goroutines.
type Storage struct {
	claims     map[types.NamespacedName]*v1.PersistentVolumeClaim
	volumes    map[string]*v1.PersistentVolume
	classes    map[string]*storagev1.StorageClass
	csiNodes   map[string]*storagev1.CSINode
	drivers    map[string]*storagev1.CSIDriver
	capacities map[types.NamespacedName]*storagev1.CSIStorageCapacity
	claimUsers map[types.NamespacedName]int
	// attachments are the VolumeAttachments by name, and by node (spec.nodeName).
	attachments     map[string]*storagev1.VolumeAttachment
	nodeAttachments map[string]map[string]*storagev1.VolumeAttachment

	// unclaimed indexes the PVs without a claimRef by class (VolumeClass), prebound the PVs
	// whose claimRef names a claim, by that claim; capacityByClass the capacities by class,
	// sorted by namespace and name.
	unclaimed       map[string]map[string]*v1.PersistentVolume
	prebound        map[types.NamespacedName][]*v1.PersistentVolume
	capacityByClass map[string][]*storagev1.CSIStorageCapacity
}

// NewStorage returns an empty Storage.
func NewStorage() *Storage {
	return &Storage{
		claims:          map[types.NamespacedName]*v1.PersistentVolumeClaim{},
		volumes:         map[string]*v1.PersistentVolume{},
		classes:         map[string]*storagev1.StorageClass{},
		csiNodes:        map[string]*storagev1.CSINode{},
		drivers:         map[string]*storagev1.CSIDriver{},
		capacities:      map[types.NamespacedName]*storagev1.CSIStorageCapacity{},
		claimUsers:      map[types.NamespacedName]int{},
		attachments:     map[string]*storagev1.VolumeAttachment{},
		nodeAttachments: map[string]map[string]*storagev1.VolumeAttachment{},
		unclaimed:       map[string]map[string]*v1.PersistentVolume{},
		prebound:        map[types.NamespacedName][]*v1.PersistentVolume{},
		capacityByClass: map[string][]*storagev1.CSIStorageCapacity{},
	}
}

// StorageOf builds a Storage holding objs (claims, volumes, classes, CSINodes, CSIDrivers and
// capacities; other types are ignored) and the claim users of pods. It is for tests and for
// building a first snapshot.
func StorageOf(pods []*v1.Pod, objs ...any) *Storage {
	s := NewStorage()
	for _, o := range objs {
		switch o := o.(type) {
		case *v1.PersistentVolumeClaim:
			s.SetClaim(o)
		case *v1.PersistentVolume:
			s.SetVolume(o)
		case *storagev1.StorageClass:
			s.SetClass(o)
		case *storagev1.CSINode:
			s.SetCSINode(o)
		case *storagev1.CSIDriver:
			s.SetDriver(o)
		case *storagev1.CSIStorageCapacity:
			s.SetCapacity(o)
		case *storagev1.VolumeAttachment:
			s.SetAttachment(o)
		}
	}
	for _, p := range pods {
		for _, c := range PodClaims(p) {
			s.claimUsers[c]++
		}
	}
	return s
}

// Claim returns the PersistentVolumeClaim namespace/name, or nil.
func (s *Storage) Claim(namespace, name string) *v1.PersistentVolumeClaim {
	return s.claims[types.NamespacedName{Namespace: namespace, Name: name}]
}

// Volume returns the PersistentVolume called name, or nil.
func (s *Storage) Volume(name string) *v1.PersistentVolume { return s.volumes[name] }

// Class returns the StorageClass called name, or nil.
func (s *Storage) Class(name string) *storagev1.StorageClass { return s.classes[name] }

// CSINode returns the CSINode of the node called name, or nil.
func (s *Storage) CSINode(name string) *storagev1.CSINode { return s.csiNodes[name] }

// Driver returns the CSIDriver called name, or nil.
func (s *Storage) Driver(name string) *storagev1.CSIDriver { return s.drivers[name] }

// Capacities returns the CSIStorageCapacities of the StorageClass called class, ordered by
// namespace and name. The slice must not be modified.
func (s *Storage) Capacities(class string) []*storagev1.CSIStorageCapacity {
	return s.capacityByClass[class]
}

// UnclaimedVolumes returns the PVs of class (see VolumeClass) that have no claimRef, by name.
// The map must not be modified.
func (s *Storage) UnclaimedVolumes(class string) map[string]*v1.PersistentVolume {
	return s.unclaimed[class]
}

// PreboundVolumes returns the PVs whose claimRef names the claim namespace/name (whatever the
// claimRef's UID), ordered by name. The slice must not be modified.
func (s *Storage) PreboundVolumes(namespace, name string) []*v1.PersistentVolume {
	return s.prebound[types.NamespacedName{Namespace: namespace, Name: name}]
}

// ClaimUsers returns how many pods placed on nodes (assumed ones included) use the claim
// namespace/name.
func (s *Storage) ClaimUsers(namespace, name string) int {
	return s.claimUsers[types.NamespacedName{Namespace: namespace, Name: name}]
}

// SetClaim adds or replaces a claim.
func (s *Storage) SetClaim(c *v1.PersistentVolumeClaim) {
	s.claims[types.NamespacedName{Namespace: c.Namespace, Name: c.Name}] = c
}

// DeleteClaim removes the claim namespace/name.
func (s *Storage) DeleteClaim(namespace, name string) {
	delete(s.claims, types.NamespacedName{Namespace: namespace, Name: name})
}

// SetVolume adds or replaces a PV.
func (s *Storage) SetVolume(pv *v1.PersistentVolume) {
	s.DeleteVolume(pv.Name)
	s.volumes[pv.Name] = pv
	if ref := pv.Spec.ClaimRef; ref != nil {
		k := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		list := append(slices.Clone(s.prebound[k]), pv)
		slices.SortFunc(list, func(a, b *v1.PersistentVolume) int { return cmp.Compare(a.Name, b.Name) })
		s.prebound[k] = list
		return
	}
	class := VolumeClass(pv)
	m := s.unclaimed[class]
	if m == nil {
		m = map[string]*v1.PersistentVolume{}
		s.unclaimed[class] = m
	}
	m[pv.Name] = pv
}

// DeleteVolume removes the PV called name.
func (s *Storage) DeleteVolume(name string) {
	old, ok := s.volumes[name]
	if !ok {
		return
	}
	delete(s.volumes, name)
	if ref := old.Spec.ClaimRef; ref != nil {
		k := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		list := slices.DeleteFunc(slices.Clone(s.prebound[k]), func(pv *v1.PersistentVolume) bool { return pv.Name == name })
		if len(list) == 0 {
			delete(s.prebound, k)
		} else {
			s.prebound[k] = list
		}
		return
	}
	class := VolumeClass(old)
	delete(s.unclaimed[class], name)
	if len(s.unclaimed[class]) == 0 {
		delete(s.unclaimed, class)
	}
}

// SetClass adds or replaces a StorageClass.
func (s *Storage) SetClass(c *storagev1.StorageClass) { s.classes[c.Name] = c }

// DeleteClass removes the StorageClass called name.
func (s *Storage) DeleteClass(name string) { delete(s.classes, name) }

// SetCSINode adds or replaces a CSINode.
func (s *Storage) SetCSINode(n *storagev1.CSINode) { s.csiNodes[n.Name] = n }

// DeleteCSINode removes the CSINode called name.
func (s *Storage) DeleteCSINode(name string) { delete(s.csiNodes, name) }

// SetDriver adds or replaces a CSIDriver.
func (s *Storage) SetDriver(d *storagev1.CSIDriver) { s.drivers[d.Name] = d }

// DeleteDriver removes the CSIDriver called name.
func (s *Storage) DeleteDriver(name string) { delete(s.drivers, name) }

// SetCapacity adds or replaces a CSIStorageCapacity.
func (s *Storage) SetCapacity(c *storagev1.CSIStorageCapacity) {
	s.DeleteCapacity(c.Namespace, c.Name)
	s.capacities[types.NamespacedName{Namespace: c.Namespace, Name: c.Name}] = c
	list := append(slices.Clone(s.capacityByClass[c.StorageClassName]), c)
	slices.SortFunc(list, func(a, b *storagev1.CSIStorageCapacity) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	s.capacityByClass[c.StorageClassName] = list
}

// DeleteCapacity removes the CSIStorageCapacity namespace/name.
func (s *Storage) DeleteCapacity(namespace, name string) {
	k := types.NamespacedName{Namespace: namespace, Name: name}
	old, ok := s.capacities[k]
	if !ok {
		return
	}
	delete(s.capacities, k)
	list := slices.DeleteFunc(slices.Clone(s.capacityByClass[old.StorageClassName]), func(c *storagev1.CSIStorageCapacity) bool {
		return c.Namespace == namespace && c.Name == name
	})
	if len(list) == 0 {
		delete(s.capacityByClass, old.StorageClassName)
	} else {
		s.capacityByClass[old.StorageClassName] = list
	}
}

// Attachments returns the VolumeAttachments whose spec.nodeName is node, by name. The map must
// not be modified.
func (s *Storage) Attachments(node string) map[string]*storagev1.VolumeAttachment {
	return s.nodeAttachments[node]
}

// SetAttachment adds or replaces a VolumeAttachment.
func (s *Storage) SetAttachment(a *storagev1.VolumeAttachment) {
	s.DeleteAttachment(a.Name)
	s.attachments[a.Name] = a
	m := s.nodeAttachments[a.Spec.NodeName]
	if m == nil {
		m = map[string]*storagev1.VolumeAttachment{}
		s.nodeAttachments[a.Spec.NodeName] = m
	}
	m[a.Name] = a
}

// DeleteAttachment removes the VolumeAttachment called name.
func (s *Storage) DeleteAttachment(name string) {
	old, ok := s.attachments[name]
	if !ok {
		return
	}
	delete(s.attachments, name)
	delete(s.nodeAttachments[old.Spec.NodeName], name)
	if len(s.nodeAttachments[old.Spec.NodeName]) == 0 {
		delete(s.nodeAttachments, old.Spec.NodeName)
	}
}

// SetClaimUsers records that n placed pods use the claim k (0 forgets it).
func (s *Storage) SetClaimUsers(k types.NamespacedName, n int) {
	if n <= 0 {
		delete(s.claimUsers, k)
		return
	}
	s.claimUsers[k] = n
}

// VolumeClass returns a PV's StorageClass name: the beta annotation when present, else
// spec.storageClassName ("" for none), as kube-scheduler reads it.
func VolumeClass(pv *v1.PersistentVolume) string {
	if c, ok := pv.Annotations[v1.BetaStorageClassAnnotation]; ok {
		return c
	}
	return pv.Spec.StorageClassName
}

// ClaimClass returns a claim's StorageClass name: the beta annotation when present, else
// spec.storageClassName ("" for none).
func ClaimClass(c *v1.PersistentVolumeClaim) string {
	if class, ok := c.Annotations[v1.BetaStorageClassAnnotation]; ok {
		return class
	}
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return ""
}

// PodClaims returns the claims pod's volumes use, in volume order: each persistentVolumeClaim
// volume's claim, and for each generic ephemeral volume the claim the ephemeral volume
// controller creates for it ("<pod>-<volume>").
func PodClaims(pod *v1.Pod) []types.NamespacedName {
	var out []types.NamespacedName
	for i := range pod.Spec.Volumes {
		if name := ClaimName(pod, &pod.Spec.Volumes[i]); name != "" {
			out = append(out, types.NamespacedName{Namespace: pod.Namespace, Name: name})
		}
	}
	return out
}

// ClaimName returns the name of the claim vol (a volume of pod) uses: a persistentVolumeClaim
// volume's claimName, "<pod>-<volume>" for a generic ephemeral volume, "" for other volumes.
func ClaimName(pod *v1.Pod, vol *v1.Volume) string {
	switch {
	case vol.PersistentVolumeClaim != nil:
		return vol.PersistentVolumeClaim.ClaimName
	case vol.Ephemeral != nil:
		return pod.Name + "-" + vol.Name
	}
	return ""
}
