// Package sdnotify tells systemd how the daemon is doing, over the sd_notify protocol, with the
// standard library only.
//
// When systemd starts a service with Type=notify it passes the address of a unix datagram socket
// in $NOTIFY_SOCKET: a file system path, or an abstract socket name written with a leading '@'.
// The service sends newline-separated VAR=value assignments to it: READY=1 once it serves,
// STATUS=<text> for `systemctl status`, STOPPING=1 when it begins to shut down, and, when the
// unit sets WatchdogSec=, WATCHDOG=1 more often than every $WATCHDOG_USEC microseconds, or
// systemd kills and restarts it. $WATCHDOG_PID, when set, names the process the watchdog is
// meant for; any other process must not send WATCHDOG=1.
//
// Use from main:
//
//	notify, err := sdnotify.FromEnv() // nil and no error outside systemd
//	if err != nil { log.Warn("not notifying systemd", "err", err) }
//	g.Go(func() error { return notify.Watchdog(ctx, healthy) })
//	...once serving: notify.Ready(); notify.Status("standby")
//	...on shutdown: notify.Stopping()
//
// A nil *Notifier is valid and does nothing, so callers need no "under systemd?" branches.
// Every message opens its own socket, exactly as systemd's C library does, so a Notifier keeps no
// connection, survives systemd re-executing itself, and is safe for concurrent use. Nothing here
// unsets the variables: berth starts no child processes that could inherit them.
package sdnotify

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Names of the environment variables systemd sets for the service.
const (
	EnvSocket       = "NOTIFY_SOCKET"
	EnvWatchdogUSec = "WATCHDOG_USEC"
	EnvWatchdogPID  = "WATCHDOG_PID"
)

// Notifier sends sd_notify messages to one socket. Build it with FromEnv. A nil *Notifier does
// nothing and reports no error. Its methods are safe for concurrent use.
type Notifier struct {
	addr *net.UnixAddr
	// interval is how often Watchdog pings: half of $WATCHDOG_USEC; 0 when the watchdog is off
	// or meant for another process.
	interval time.Duration
	// newTicker makes Watchdog's ticker; tests replace it to drive ticks by hand.
	newTicker func(time.Duration) (<-chan time.Time, func())
}

// FromEnv reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. It returns nil and no error
// when $NOTIFY_SOCKET is unset or empty (not started by systemd, or not Type=notify), and an
// error naming the variable when one is malformed. It does not contact the socket.
func FromEnv() (*Notifier, error) {
	return fromEnv(os.Getenv, os.Getpid())
}

func fromEnv(getenv func(string) string, pid int) (*Notifier, error) {
	socket := getenv(EnvSocket)
	if socket == "" {
		return nil, nil
	}
	if socket[0] != '/' && socket[0] != '@' {
		return nil, fmt.Errorf("$%s=%q: want an absolute socket path or an abstract name starting with '@' (vsock and relative addresses are not supported)", EnvSocket, socket)
	}
	if len(socket) < 2 {
		return nil, fmt.Errorf("$%s=%q: socket name is empty", EnvSocket, socket)
	}
	interval, err := watchdogInterval(getenv(EnvWatchdogUSec), getenv(EnvWatchdogPID), pid)
	if err != nil {
		return nil, err
	}
	return &Notifier{
		addr:      &net.UnixAddr{Name: socket, Net: "unixgram"},
		interval:  interval,
		newTicker: realTicker,
	}, nil
}

// watchdogInterval turns $WATCHDOG_USEC into the ping interval (half of it), or 0 when the
// watchdog is off (unset) or addressed to another process ($WATCHDOG_PID differs from pid).
func watchdogInterval(usec, wpid string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("$%s=%q: want a positive number of microseconds", EnvWatchdogUSec, usec)
	}
	if n > math.MaxInt64/uint64(time.Microsecond) {
		return 0, fmt.Errorf("$%s=%q: out of range", EnvWatchdogUSec, usec)
	}
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("$%s=%q: want a positive process id", EnvWatchdogPID, wpid)
		}
		if p != pid {
			return 0, nil
		}
	}
	return time.Duration(n) * time.Microsecond / 2, nil
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// WatchdogInterval is how often Watchdog sends WATCHDOG=1: half of $WATCHDOG_USEC, or 0 when
// the watchdog is off, addressed to another process, or n is nil.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.interval
}

// Ready sends READY=1: start-up is complete. Call it once the daemon serves.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Stopping sends STOPPING=1: shutdown has begun.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sends STATUS=s, the one-line text `systemctl status` shows. Line breaks in s become
// spaces, since a line break would end the assignment.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// Notify sends the assignments ("VAR=value", e.g. "EXTEND_TIMEOUT_USEC=60000000") in one
// datagram. Each must contain '=' after a non-empty name and no line break; otherwise nothing
// is sent and the error says which one is wrong. A nil n sends nothing and returns nil.
func (n *Notifier) Notify(assignments ...string) error {
	if n == nil {
		return nil
	}
	if len(assignments) == 0 {
		return errors.New("sd_notify: no assignments to send")
	}
	for _, a := range assignments {
		if i := strings.IndexByte(a, '='); i < 1 || strings.ContainsAny(a, "\n\r") {
			return fmt.Errorf("sd_notify: %q: want one VAR=value assignment without line breaks", a)
		}
	}
	msg := strings.Join(assignments, "\n")
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: connecting to $%s %s: %w", EnvSocket, n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sd_notify: sending %q to %s: %w", msg, n.addr.Name, err)
	}
	return nil
}
