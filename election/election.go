package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
)

// Defaults for the Lease, as kube-scheduler's --leader-elect-resource-namespace and -name.
const (
	DefaultNamespace = "kube-system"
	DefaultName      = "kube-scheduler"
)

// watchdogSlack is how long past LeaseDuration a leader may go without renewing before Check reports it
// unhealthy; kube-scheduler uses the same 20 seconds.
const watchdogSlack = 20 * time.Second

// retryJitter is the least ratio of RenewDeadline to RetryPeriod, as in client-go.
const retryJitter = 1.2

// EventSink records leadership changes as Kubernetes events on the Lease, as kube-scheduler does
// (type Normal, reason "LeaderElection").
type EventSink interface {
	// LeaderElection is called from Run's goroutine and must not block. lease is a copy of the Lease
	// with Kind and APIVersion set, ready to be an event's involved object; message is
	// "<identity> became leader" when a term starts and "<identity> stopped leading" when it ends.
	LeaderElection(lease *coordinationv1.Lease, message string)
}

// LeaseClient reads, writes and watches the Leases of one namespace. kubeclient's
// Leases(namespace) and client-go's CoordinationV1().Leases(namespace) both satisfy it. The
// elector calls it from Run's goroutines, concurrently.
type LeaseClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// Config configures an Elector. Zero values of optional fields are replaced by New as documented.
type Config struct {
	// Client reaches the Leases of Namespace (for example kubeclient's Leases(namespace)). The
	// identity needs get, update, list and watch on the named Lease and create on leases. Required.
	Client LeaseClient
	// Namespace and Name locate the Lease; empty means DefaultNamespace and DefaultName. Client
	// must reach the same namespace.
	Namespace, Name string
	// Identity names this candidate in the Lease; empty means DefaultIdentity(). Every candidate must
	// have a distinct identity.
	Identity string
	// LeaseDuration is how long a candidate waits, measured on its own clock from the moment it saw the
	// Lease record change, before it takes over an unrenewed lease. Must exceed RenewDeadline.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps leading without a successful renewal. Must exceed
	// 1.2 × RetryPeriod.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between renewals, and between polls of the Lease by candidates.
	// Must be positive.
	RetryPeriod time.Duration
	// Clock tells time; nil means RealClock.
	Clock Clock
	// Logger receives the elector's log; nil means slog.Default().
	Logger *slog.Logger
	// Events, if not nil, is told when terms start and end.
	Events EventSink
}

// Elector campaigns for one Lease and runs the caller's work while it holds it. IsLeader and Check are
// safe to call concurrently with Run; Run itself may run only once at a time.
type Elector struct {
	cfg         Config
	leases      LeaseClient
	clock       Clock
	log         *slog.Logger
	durationSec int32         // leaseDurationSeconds we write
	callTimeout time.Duration // bound on each API call

	running atomic.Bool

	mu      sync.Mutex // guards leading, renewed and holder
	leading bool
	renewed time.Time // local time our last successful write was sent
	holder  string    // holderIdentity of the Lease as last read or written
}

// New validates cfg, fills its defaults and returns an Elector. Errors name the offending field.
func New(cfg Config) (*Elector, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Identity == "" {
		id, err := DefaultIdentity()
		if err != nil {
			return nil, fmt.Errorf("election: Identity: %w", err)
		}
		cfg.Identity = id
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("election: %w", err)
	}
	return &Elector{
		cfg:         cfg,
		leases:      cfg.Client,
		clock:       cfg.Clock,
		log:         cfg.Logger, // lines name the lease as upstream's do ("lock"), without more context
		durationSec: leaseSeconds(cfg.LeaseDuration),
		callTimeout: max(time.Second, cfg.RenewDeadline/2),
	}, nil
}

// validate reports every bad field of a defaulted Config.
func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Client == nil {
		bad("Client", "must not be nil")
	}
	if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		bad("Namespace", "%q is not a valid namespace: %s", c.Namespace, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Subdomain(c.Name); len(msgs) > 0 {
		bad("Name", "%q is not a valid Lease name: %s", c.Name, strings.Join(msgs, "; "))
	}
	switch {
	case c.RetryPeriod <= 0:
		bad("RetryPeriod", "must be positive, got %s", c.RetryPeriod)
	case c.RenewDeadline <= time.Duration(retryJitter*float64(c.RetryPeriod)):
		bad("RenewDeadline", "must be greater than %.1f × RetryPeriod (%s), got %s", retryJitter, c.RetryPeriod, c.RenewDeadline)
	case c.LeaseDuration <= c.RenewDeadline:
		bad("LeaseDuration", "must be greater than RenewDeadline (%s), got %s", c.RenewDeadline, c.LeaseDuration)
	case c.LeaseDuration > math.MaxInt32*time.Second:
		bad("LeaseDuration", "must be at most %d seconds, got %s", math.MaxInt32, c.LeaseDuration)
	}
	return errors.Join(errs...)
}

// DefaultIdentity returns "<hostname>_<random UUID>", the identity kube-scheduler uses.
func DefaultIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading hostname: %w", err)
	}
	return host + "_" + string(uuid.NewUUID()), nil
}

// Identity returns the identity this Elector writes into the Lease.
func (e *Elector) Identity() string { return e.cfg.Identity }

// IsLeader reports whether we hold the lease and have not yet lost it: from the successful acquisition
// until a renewal misses RenewDeadline, another holder is seen, or the lease is released.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Holder returns the holderIdentity of the Lease as this elector last read or wrote it: our own
// identity while we lead, another candidate's while it does, "" when the Lease is released or
// was never read. A standby's answer can be up to a RetryPeriod old (or a watch event late).
func (e *Elector) Holder() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder
}

func (e *Elector) sawHolder(holder string) {
	e.mu.Lock()
	e.holder = holder
	e.mu.Unlock()
}

// Name is the health check's name, as kube-scheduler's leader-election watchdog is called.
func (e *Elector) Name() string { return "leaderElection" }

// Check is a /healthz watchdog: it fails when we believe we lead but have not renewed for longer than
// LeaseDuration plus 20 seconds, which means Run is wedged. A candidate is always healthy.
func (e *Elector) Check(*http.Request) error {
	e.mu.Lock()
	leading, renewed := e.leading, e.renewed
	e.mu.Unlock()
	if !leading {
		return nil
	}
	if late := e.clock.Now().Sub(renewed); late > e.cfg.LeaseDuration+watchdogSlack {
		return fmt.Errorf("leader election: lease %s/%s not renewed for %s", e.cfg.Namespace, e.cfg.Name, late)
	}
	return nil
}

// setLeading records whether we lead and, when leading, the send time of our latest successful write.
func (e *Elector) setLeading(leading bool, renewed time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = leading
	if leading {
		e.renewed = renewed
	}
}

// Run campaigns for the lease until ctx is done. Each time it acquires the lease it calls lead with a
// context that is cancelled as soon as leadership is lost (no successful renewal within RenewDeadline,
// or another holder seen) or ctx is done. Run waits for lead to return, renewing meanwhile if it still
// holds the lease; then it releases the lease if it still holds it and ctx is done or lead has finished,
// or campaigns again if leadership was lost.
//
// lead returning nil before its context is cancelled means its work is finished: Run releases and
// returns nil. lead returning an error makes Run release and return that error, except that
// context.Canceled or DeadlineExceeded after its context was cancelled counts as a clean return.
// API errors never end Run; they are logged and retried. Run returns nil once ctx is done, and only
// after every goroutine it started has ended.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	if lead == nil {
		return errors.New("election: Run: lead must not be nil")
	}
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("election: Run: already running")
	}
	defer e.running.Store(false)

	var wg sync.WaitGroup
	defer wg.Wait()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	kicks := make(chan struct{}, 1)
	wg.Go(func() { e.watch(watchCtx, kicks) })

	var st state
	for {
		var won time.Time
		var ok bool
		if st, won, ok = e.campaign(ctx, st, kicks); !ok {
			return nil
		}
		if ctx.Err() != nil { // won just as we were told to stop: hand the lease straight back
			e.giveUp(ctx, st)
			return nil
		}
		end := e.term(ctx, st, won, lead)
		st = end.st
		if end.held {
			e.giveUp(ctx, st)
		}
		if end.over {
			return end.err
		}
	}
}

// giveUp releases the lease and logs the outcome; a failed release only delays the next leader.
func (e *Elector) giveUp(ctx context.Context, st state) {
	if err := e.release(ctx, st); err != nil {
		e.log.Error("releasing the lease failed; candidates will take over when it expires", "lock", e.lock(), "err", err)
		return
	}
	e.log.Info("released the lease", "lock", e.lock())
}

// lock describes the Lease as client-go's elector does in its log lines: "namespace/name".
func (e *Elector) lock() string { return e.cfg.Namespace + "/" + e.cfg.Name }
