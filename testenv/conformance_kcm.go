package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// StartControllerManagerWith is StartControllerManager with extra kube-controller-manager flags
// (e.g. "--kube-api-qps=200": the default client limit, 20 requests per second, makes the PV
// binder take a second or more over a few dozen volumes). The flags come after testenv's own, so
// they may override them; they must not start a scheduler.
func (cp *ControlPlane) StartControllerManagerWith(ctx context.Context, flags []string, controllers ...string) (*Process, error) {
	if len(controllers) == 0 {
		return nil, fmt.Errorf("starting kube-controller-manager: no controllers named")
	}
	admin, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return nil, fmt.Errorf("building admin client: %w", err)
	}
	if err := bindControllerRoles(ctx, admin, controllers); err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.kcmStarted++
	file := fmt.Sprintf("kube-controller-manager-%d", cp.kcmStarted)
	cp.mu.Unlock()
	_, kubeconfig, err := cp.identity(file, ControllerManagerUser)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--root-ca-file=" + cp.CAFile,
		"--v=1", // logs "Controller starting...", which waitControllersSynced reads
	}, flags...)
	p, err := StartProcess(cp.Binaries.ControllerManager, args...)
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.controllerManagers = append(cp.controllerManagers, p)
	cp.mu.Unlock()
	if err := waitControllersSynced(ctx, p, controllers, time.Minute); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}
