package devicecel

import (
	"sync/atomic"
	"unsafe"

	resourceapi "k8s.io/api/resource/v1"
)

// Upstream converts every attribute of a device before it evaluates a selector, so a device with
// an attribute that has no value, or a version that is not a semantic version, fails every
// selector. checkAttributes does the same, but walking all attributes on every Match would cost
// more than evaluating a typical selector. validDevices remembers the devices that passed: a
// direct-mapped table keyed by the device's address, the address of its attribute map and the
// map's length. It holds no pointers (a device it remembers can still be collected) and needs no
// lock. A device whose attributes are changed in place, without changing their number, is not
// checked again: devices come from the informer's cache, which nobody modifies.
type validEntry struct {
	dev, attrs uintptr
	n          int
}

const validSlots = 1024

var validDevices [validSlots]atomic.Pointer[validEntry]

func deviceKey(d *resourceapi.Device) validEntry {
	var attrs uintptr
	if d.Attributes != nil {
		attrs = uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&d.Attributes)))
	}
	return validEntry{dev: uintptr(unsafe.Pointer(d)), attrs: attrs, n: len(d.Attributes)}
}

// checkDevice is checkAttributes, remembered.
func checkDevice(d *resourceapi.Device) error {
	key := deviceKey(d)
	slot := &validDevices[(key.dev>>4^key.dev>>14)%validSlots]
	if e := slot.Load(); e != nil && *e == key {
		return nil
	}
	if err := checkAttributes(d); err != nil {
		return err
	}
	remembered := new(validEntry)
	*remembered = key
	slot.Store(remembered)
	return nil
}
