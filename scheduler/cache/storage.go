package cache

import (
	"strconv"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// objects is one kind of storage object, by key, with the keys changed since the snapshot last
// copied them.
type objects[K comparable, V any] struct {
	live  map[K]V
	dirty map[K]struct{}
}

func newObjects[K comparable, V any]() objects[K, V] {
	return objects[K, V]{live: map[K]V{}, dirty: map[K]struct{}{}}
}

func (o *objects[K, V]) set(k K, v V) { o.live[k] = v; o.dirty[k] = struct{}{} }
func (o *objects[K, V]) del(k K)      { delete(o.live, k); o.dirty[k] = struct{}{} }

// flush calls set for every dirty key that has an object, del for the others, and forgets the
// dirty keys; all applies every object instead.
func (o *objects[K, V]) flush(all bool, set func(V), del func(K)) {
	if all {
		for _, v := range o.live {
			set(v)
		}
	} else {
		for k := range o.dirty {
			if v, ok := o.live[k]; ok {
				set(v)
			} else {
				del(k)
			}
		}
	}
	clear(o.dirty)
}

// assumable is a kind of object the scheduler may assume changed (a PV bound, a claim allocated)
// before the API server has the change: the effective objects decisions see, the informer's, and
// which keys are assumed. An assumed object stays until the informer delivers a newer version of
// it, or it is restored.
type assumable[K comparable, V metav1.Object] struct {
	objects[K, V] // effective: assumed or the informer's
	api           map[K]V
	assumed       map[K]bool
	// keep, when set, keeps an assumed version not yet written (pending) although the
	// informer's is newer: the informer's does not have the change yet (another writer's update
	// came first).
	keep    func(api, assumed V) bool
	pending map[K]bool
}

func newAssumable[K comparable, V metav1.Object]() assumable[K, V] {
	return assumable[K, V]{objects: newObjects[K, V](), api: map[K]V{}, assumed: map[K]bool{}, pending: map[K]bool{}}
}

// setAPI records the informer's v; it replaces an assumed version when it is newer.
func (a *assumable[K, V]) setAPI(k K, v V) {
	a.api[k] = v
	if a.assumed[k] {
		if cur, ok := a.live[k]; ok && (!newer(v.GetResourceVersion(), cur.GetResourceVersion()) || (a.pending[k] && a.keep(v, cur))) {
			return
		}
		delete(a.assumed, k)
		delete(a.pending, k)
	}
	a.set(k, v)
}

// remove forgets k, assumed or not.
func (a *assumable[K, V]) remove(k K) {
	delete(a.api, k)
	delete(a.assumed, k)
	delete(a.pending, k)
	a.del(k)
}

// assume makes v, a change not written yet, the effective object of k.
func (a *assumable[K, V]) assume(k K, v V) {
	a.assumed[k] = true
	if a.keep != nil {
		a.pending[k] = true
	}
	a.set(k, v)
}

// assumeWritten makes v, the API server's answer to a write, the effective object of k until
// the informer delivers it or a newer version.
func (a *assumable[K, V]) assumeWritten(k K, v V) {
	a.assumed[k] = true
	delete(a.pending, k)
	a.set(k, v)
}

// restore drops the assumed version of k, if any: the informer's is effective again.
func (a *assumable[K, V]) restore(k K) {
	if !a.assumed[k] {
		return
	}
	delete(a.assumed, k)
	delete(a.pending, k)
	if v, ok := a.api[k]; ok {
		a.set(k, v)
	} else {
		a.del(k)
	}
}

// storage is the cache's storage side: the informers' objects, the claims and volumes this
// scheduler has assumed (they override the informers' until the informer delivers a newer
// version, or they are restored), and how many placed pods use each claim.
type storage struct {
	claims      assumable[types.NamespacedName, *v1.PersistentVolumeClaim]
	volumes     assumable[string, *v1.PersistentVolume]
	classes     objects[string, *storagev1.StorageClass]
	csiNodes    objects[string, *storagev1.CSINode]
	drivers     objects[string, *storagev1.CSIDriver]
	capacities  objects[types.NamespacedName, *storagev1.CSIStorageCapacity]
	attachments objects[string, *storagev1.VolumeAttachment]
	users       objects[types.NamespacedName, int]

	// watchers are the watches of claims and PVs (see Cache.WatchStorage), by watched key.
	watchers map[watchKey]map[*storageWatch]struct{}
}

// watchKey names a watched claim (namespace and name) or PV (name, namespace empty, volume set).
type watchKey struct {
	types.NamespacedName
	volume bool
}

type storageWatch struct {
	ch   chan struct{}
	keys []watchKey
}

func newStorage() storage {
	return storage{
		claims: newAssumable[types.NamespacedName, *v1.PersistentVolumeClaim](), volumes: newAssumable[string, *v1.PersistentVolume](),
		classes: newObjects[string, *storagev1.StorageClass](), csiNodes: newObjects[string, *storagev1.CSINode](),
		drivers: newObjects[string, *storagev1.CSIDriver](), capacities: newObjects[types.NamespacedName, *storagev1.CSIStorageCapacity](),
		attachments: newObjects[string, *storagev1.VolumeAttachment](), users: newObjects[types.NamespacedName, int](),
		watchers: map[watchKey]map[*storageWatch]struct{}{},
	}
}

// notify ends the watches of k: their channels are closed.
func (s *storage) notify(k watchKey) {
	for w := range s.watchers[k] {
		close(w.ch)
		s.unwatch(w)
	}
}

func (s *storage) unwatch(w *storageWatch) {
	for _, k := range w.keys {
		delete(s.watchers[k], w)
		if len(s.watchers[k]) == 0 {
			delete(s.watchers, k)
		}
	}
}

// apply brings st up to date: every object when all, else what changed since the last call.
func (s *storage) apply(st *snapshot.Storage, all bool) {
	s.claims.flush(all, st.SetClaim, func(k types.NamespacedName) { st.DeleteClaim(k.Namespace, k.Name) })
	s.volumes.flush(all, st.SetVolume, st.DeleteVolume)
	s.classes.flush(all, st.SetClass, st.DeleteClass)
	s.csiNodes.flush(all, st.SetCSINode, st.DeleteCSINode)
	s.drivers.flush(all, st.SetDriver, st.DeleteDriver)
	s.capacities.flush(all, st.SetCapacity, func(k types.NamespacedName) { st.DeleteCapacity(k.Namespace, k.Name) })
	s.attachments.flush(all, st.SetAttachment, st.DeleteAttachment)
	if all {
		for k, n := range s.users.live {
			st.SetClaimUsers(k, n)
		}
	} else {
		for k := range s.users.dirty {
			st.SetClaimUsers(k, s.users.live[k])
		}
	}
	clear(s.users.dirty)
}

// addUsers counts pod's claims up (delta 1) or down (-1).
func (s *storage) addUsers(pod *v1.Pod, delta int) {
	for _, k := range snapshot.PodClaims(pod) {
		n := s.users.live[k] + delta
		if n <= 0 {
			s.users.del(k)
		} else {
			s.users.set(k, n)
		}
	}
}

// newer reports whether resource version a is newer than b (an unparsable one counts as newer,
// so that the informer's object wins).
func newer(a, b string) bool {
	av, err1 := strconv.ParseUint(a, 10, 64)
	bv, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return a != b
	}
	return av > bv
}

func claimKey(c *v1.PersistentVolumeClaim) types.NamespacedName {
	return types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
}

// SetClaim records a claim the informer delivered. It replaces an assumed version of the claim
// when it is newer.
func (c *Cache) SetClaim(pvc *v1.PersistentVolumeClaim) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := claimKey(pvc)
	c.storage.claims.setAPI(k, pvc)
	c.storage.notify(watchKey{NamespacedName: k})
}

// RemoveClaim forgets a claim, assumed or not.
func (c *Cache) RemoveClaim(pvc *v1.PersistentVolumeClaim) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := claimKey(pvc)
	c.storage.claims.remove(k)
	c.storage.notify(watchKey{NamespacedName: k})
}

// SetVolume records a PV the informer delivered. It replaces an assumed version of the PV when
// it is newer.
func (c *Cache) SetVolume(pv *v1.PersistentVolume) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storage.volumes.setAPI(pv.Name, pv)
	c.storage.notify(volumeKey(pv.Name))
}

// RemoveVolume forgets a PV, assumed or not.
func (c *Cache) RemoveVolume(pv *v1.PersistentVolume) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storage.volumes.remove(pv.Name)
	c.storage.notify(volumeKey(pv.Name))
}

// AssumeClaim makes pvc (a changed copy of a claim the cache holds) the claim decisions see,
// until the informer delivers a newer version or RestoreClaim is called.
func (c *Cache) AssumeClaim(pvc *v1.PersistentVolumeClaim) {
	c.lock(func() { c.storage.claims.assume(claimKey(pvc), pvc) })
}

// RestoreClaim drops the assumed version of the claim namespace/name, if any.
func (c *Cache) RestoreClaim(namespace, name string) {
	c.lock(func() { c.storage.claims.restore(types.NamespacedName{Namespace: namespace, Name: name}) })
}

// AssumeVolume makes pv (a changed copy of a PV the cache holds) the PV decisions see, until the
// informer delivers a newer version or RestoreVolume is called.
func (c *Cache) AssumeVolume(pv *v1.PersistentVolume) {
	c.lock(func() { c.storage.volumes.assume(pv.Name, pv) })
}

// RestoreVolume drops the assumed version of the PV called name, if any.
func (c *Cache) RestoreVolume(name string) {
	c.lock(func() { c.storage.volumes.restore(name) })
}

// APIClaim returns the claim namespace/name as the informer last delivered it (never an assumed
// version), or nil.
func (c *Cache) APIClaim(namespace, name string) *v1.PersistentVolumeClaim {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storage.claims.api[types.NamespacedName{Namespace: namespace, Name: name}]
}

// APIVolume returns the PV called name as the informer last delivered it, or nil.
func (c *Cache) APIVolume(name string) *v1.PersistentVolume {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storage.volumes.api[name]
}

func volumeKey(name string) watchKey {
	return watchKey{NamespacedName: types.NamespacedName{Name: name}, volume: true}
}

// WatchStorage returns a channel that is closed when the informers deliver a change (or the
// deletion) of one of claims or of the PVs named volumes, so that a binding waiting for its
// volumes need not poll; and stop, which ends the watch (call it when no longer waiting).
func (c *Cache) WatchStorage(claims []types.NamespacedName, volumes []string) (changed <-chan struct{}, stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &storageWatch{ch: make(chan struct{})}
	for _, k := range claims {
		w.keys = append(w.keys, watchKey{NamespacedName: k})
	}
	for _, name := range volumes {
		w.keys = append(w.keys, volumeKey(name))
	}
	for _, k := range w.keys {
		m := c.storage.watchers[k]
		if m == nil {
			m = map[*storageWatch]struct{}{}
			c.storage.watchers[k] = m
		}
		m[w] = struct{}{}
	}
	return w.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.storage.unwatch(w)
	}
}

// Node returns the node object called name, or nil.
func (c *Cache) Node(name string) *v1.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[name]; ok {
		return n.Node
	}
	return nil
}

// SetClass records a StorageClass.
func (c *Cache) SetClass(sc *storagev1.StorageClass) {
	c.lock(func() { c.storage.classes.set(sc.Name, sc) })
}

// RemoveClass forgets a StorageClass.
func (c *Cache) RemoveClass(sc *storagev1.StorageClass) {
	c.lock(func() { c.storage.classes.del(sc.Name) })
}

// SetCSINode records a CSINode.
func (c *Cache) SetCSINode(n *storagev1.CSINode) {
	c.lock(func() { c.storage.csiNodes.set(n.Name, n) })
}

// RemoveCSINode forgets a CSINode.
func (c *Cache) RemoveCSINode(n *storagev1.CSINode) {
	c.lock(func() { c.storage.csiNodes.del(n.Name) })
}

// SetDriver records a CSIDriver.
func (c *Cache) SetDriver(d *storagev1.CSIDriver) {
	c.lock(func() { c.storage.drivers.set(d.Name, d) })
}

// RemoveDriver forgets a CSIDriver.
func (c *Cache) RemoveDriver(d *storagev1.CSIDriver) {
	c.lock(func() { c.storage.drivers.del(d.Name) })
}

// SetCapacity records a CSIStorageCapacity.
func (c *Cache) SetCapacity(sc *storagev1.CSIStorageCapacity) {
	c.lock(func() { c.storage.capacities.set(types.NamespacedName{Namespace: sc.Namespace, Name: sc.Name}, sc) })
}

// RemoveCapacity forgets a CSIStorageCapacity.
func (c *Cache) RemoveCapacity(sc *storagev1.CSIStorageCapacity) {
	c.lock(func() { c.storage.capacities.del(types.NamespacedName{Namespace: sc.Namespace, Name: sc.Name}) })
}

// SetAttachment records a VolumeAttachment.
func (c *Cache) SetAttachment(a *storagev1.VolumeAttachment) {
	c.lock(func() { c.storage.attachments.set(a.Name, a) })
}

// RemoveAttachment forgets a VolumeAttachment.
func (c *Cache) RemoveAttachment(a *storagev1.VolumeAttachment) {
	c.lock(func() { c.storage.attachments.del(a.Name) })
}

func (c *Cache) lock(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}
