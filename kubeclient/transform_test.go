package kubeclient

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestDropManagedFields(t *testing.T) {
	tests := []struct {
		name string
		obj  any
	}{
		{name: "pod", obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}},
		{name: "node", obj: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}}}},
		{name: "tombstone passes through", obj: cache.DeletedFinalStateUnknown{Key: "ns/p"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := dropManagedFields(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := meta.Accessor(out); err == nil && len(m.GetManagedFields()) != 0 {
				t.Errorf("managedFields kept: %v", m.GetManagedFields())
			}
		})
	}
}
