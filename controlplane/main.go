// Command k8s-controlplane is a multi-call ("hyperkube"-style) binary that
// bundles the Kubernetes components pytest-k8ssec's local-cluster harness
// starts as separate processes:
//
//	k8s-controlplane kube-apiserver          [stock kube-apiserver flags]
//	k8s-controlplane kube-controller-manager [stock kube-controller-manager flags]
//	k8s-controlplane kube-scheduler          [stock kube-scheduler flags]
//	k8s-controlplane kubelet                 [stock kubelet flags]
//	k8s-controlplane etcd                    [stock etcd flags]
//	k8s-controlplane version
//
// The component can also be chosen through argv[0]: a symlink named
// kube-apiserver, kube-controller-manager, kube-scheduler, kubelet or etcd
// pointing at this binary behaves like the stock binary of that name.
//
// Why one binary: the programs share most of their dependency graph
// (client-go, apimachinery, the etcd client/server, grpc, prometheus), so one
// link step and one file replace five links and several times its size in
// binaries, and a single version stamp says which release they all come
// from. Each subcommand only forwards its arguments to the upstream entry
// point, so every upstream flag and default applies unchanged; nothing here
// changes how the components behave. Each component still runs in its own
// process (the harness starts the binary once per component): kube-apiserver's
// signal handler may be set up once per process, and the components' global
// klog/feature-gate/metrics state must not be shared.
//
// Why the module has a replace block: see go.mod.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	_ "time/tzdata" // as in the stock kube-apiserver/KCM mains: CronJob time zones

	"github.com/spf13/cobra"
	etcdversion "go.etcd.io/etcd/api/v3/version"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as in the stock mains: --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as in the stock mains: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as in the stock mains: version metric
	kubeversion "k8s.io/component-base/version"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubeletapp "k8s.io/kubernetes/cmd/kubelet/app"
)

// buildStamp is set by build.sh (-X main.buildStamp=...). It names the pinned
// versions and a hash of the build recipe; build.sh compares it with the
// stamp it would build to decide whether the cached binary is current.
var buildStamp = "unstamped (not built by controlplane/build.sh)"

const usage = `usage: k8s-controlplane <component> [flags...]

components:
  kube-apiserver           run k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager  run k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler           run k8s.io/kubernetes/cmd/kube-scheduler
  kubelet                  run k8s.io/kubernetes/cmd/kubelet
  etcd                     run go.etcd.io/etcd/server/v3 (etcdmain)
  version                  print the versions this binary was built from

The component can also be selected by invoking the binary through a symlink
named after it. All flags after the component name go to that component.

Environment:
  K8S_CONTROLPLANE_PARENT_PID=<pid>  ask the kernel to send SIGTERM to this
      process when its parent dies (Linux PR_SET_PDEATHSIG), and exit at once
      if the parent is not <pid> any more; lets a test harness that is killed
      with SIGKILL leave no control-plane processes behind.
`

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if !isComponent(name) {
		if len(args) == 0 {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	if isComponent(name) {
		bindToParent()
	}
	os.Exit(run(name, args))
}

func isComponent(name string) bool {
	switch name {
	case "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "etcd":
		return true
	}
	return false
}

func run(name string, args []string) int {
	switch name {
	case "kube-apiserver":
		return runCobra(apiserverapp.NewAPIServerCommand(), args)
	case "kube-controller-manager":
		return runCobra(kcmapp.NewControllerManagerCommand(), args)
	case "kube-scheduler":
		return runCobra(schedulerapp.NewSchedulerCommand(), args)
	case "kubelet":
		// As the stock kubelet main: the command's context is the
		// background one; kubelet installs its own signal handling.
		return runCobra(kubeletapp.NewKubeletCommand(context.Background()), args)
	case "etcd":
		// etcdmain.Main takes an os.Args-style slice (args[0] is the
		// program name). Its "gateway"/"grpc-proxy" modes are cobra
		// commands that read os.Args themselves, so make os.Args look
		// like a stock etcd invocation too.
		os.Args = append([]string{"etcd"}, args...)
		etcdmain.Main(os.Args)
		return 0
	case "version", "--version", "-version":
		printVersion()
		return 0
	case "help", "--help", "-h", "-help":
		fmt.Fprint(os.Stdout, usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "k8s-controlplane: unknown component %q\n\n%s", name, usage)
	return 2
}

// runCobra runs an upstream cobra command the way its stock main does
// (component-base/cli.Run sets up logging and flag normalisation and returns
// the exit code), but with the arguments after the subcommand name instead
// of os.Args[1:].
func runCobra(cmd *cobra.Command, args []string) int {
	cmd.SetArgs(args)
	return cli.Run(cmd)
}

func printVersion() {
	kv := kubeversion.Get()
	fmt.Printf("stamp: %s\n", buildStamp)
	fmt.Printf("kubernetes: %s (module k8s.io/kubernetes %s)\n", kv.GitVersion, moduleVersion("k8s.io/kubernetes"))
	fmt.Printf("etcd: %s (module go.etcd.io/etcd/server/v3 %s)\n", etcdversion.Version, moduleVersion("go.etcd.io/etcd/server/v3"))
	fmt.Printf("go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return "unknown"
}

// bindToParent implements K8S_CONTROLPLANE_PARENT_PID (see usage).
func bindToParent() {
	v := os.Getenv("K8S_CONTROLPLANE_PARENT_PID")
	if v == "" {
		return
	}
	want, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "k8s-controlplane: bad K8S_CONTROLPLANE_PARENT_PID %q\n", v)
		os.Exit(2)
	}
	if err := setParentDeathSignal(); err != nil {
		fmt.Fprintf(os.Stderr, "k8s-controlplane: PR_SET_PDEATHSIG: %v\n", err)
		os.Exit(1)
	}
	// The parent may have died between fork and prctl; then we were
	// re-parented already and no signal will come.
	if os.Getppid() != want {
		fmt.Fprintf(os.Stderr, "k8s-controlplane: parent %d is gone, exiting\n", want)
		os.Exit(1)
	}
}
