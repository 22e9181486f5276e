// Package secondscheduler tests the manifests that run berth as a second scheduler beside
// kube-scheduler: they must be consistent with each other, and berth must schedule the pods
// that name it, and nothing else, with exactly the rights they grant.
package secondscheduler

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/berth-scheduler/berth/testenv"
)

var (
	cp        *testenv.ControlPlane
	berthPath string
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBerth(m, &cp, &berthPath)) }

// manifests holds the decoded objects of the manifest files.
type manifests struct {
	serviceAccount  *v1.ServiceAccount
	clusterBindings []*rbacv1.ClusterRoleBinding
	roles           []*rbacv1.Role
	roleBindings    []*rbacv1.RoleBinding
	configMap       *v1.ConfigMap
	deployment      *appsv1.Deployment
	rbacFileObjects []runtime.Object
}

// readManifests decodes rbac.yaml, configmap.yaml and deployment.yaml.
func readManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	for _, file := range []string{"rbac.yaml", "configmap.yaml", "deployment.yaml"} {
		for _, obj := range decodeFile(t, file) {
			if file == "rbac.yaml" {
				m.rbacFileObjects = append(m.rbacFileObjects, obj)
			}
			switch o := obj.(type) {
			case *v1.ServiceAccount:
				m.serviceAccount = o
			case *rbacv1.ClusterRoleBinding:
				m.clusterBindings = append(m.clusterBindings, o)
			case *rbacv1.Role:
				m.roles = append(m.roles, o)
			case *rbacv1.RoleBinding:
				m.roleBindings = append(m.roleBindings, o)
			case *v1.ConfigMap:
				m.configMap = o
			case *appsv1.Deployment:
				m.deployment = o
			default:
				t.Fatalf("%s: unexpected object %T", file, obj)
			}
		}
	}
	if m.serviceAccount == nil || m.configMap == nil || m.deployment == nil {
		t.Fatal("the manifests lack the ServiceAccount, ConfigMap or Deployment")
	}
	return m
}

// decodeFile decodes every document of a multi-document YAML file into typed objects.
func decodeFile(t *testing.T, file string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
}

// create creates obj with the admin client; dryRun only asks the API server to validate it.
func create(ctx context.Context, c kubernetes.Interface, obj runtime.Object, dryRun bool) error {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var err error
	switch o := obj.(type) {
	case *v1.ServiceAccount:
		_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *v1.ConfigMap:
		_, err = c.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = c.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = c.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	case *appsv1.Deployment:
		_, err = c.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
	default:
		return fmt.Errorf("creating %T: unexpected kind", obj)
	}
	if err != nil {
		return fmt.Errorf("creating %T: %w", obj, err)
	}
	return nil
}
