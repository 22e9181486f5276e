package sdnotify

import "context"

// Watchdog keeps systemd's watchdog fed while the daemon is healthy. It calls healthy at once and
// then every WatchdogInterval (half of $WATCHDOG_USEC), and sends WATCHDOG=1 each time healthy
// returns nil; a nil healthy counts as always healthy. While healthy fails no ping is sent, so
// after WatchdogSec systemd kills the wedged daemon and, with Restart=, starts a new one.
//
// It blocks until ctx is done and then returns nil; it is meant to run in main's errgroup. With
// the watchdog off, addressed to another process, or a nil n, it only waits for ctx. A failed send
// is not retried before the next tick and does not end Watchdog: if sends keep failing, systemd's
// watchdog fires, which is what a daemon that cannot reach systemd deserves. healthy is called
// from Watchdog's goroutine only, never concurrently with itself.
func (n *Notifier) Watchdog(ctx context.Context, healthy func() error) error {
	if n.WatchdogInterval() <= 0 {
		<-ctx.Done()
		return nil
	}
	ticks, stop := n.newTicker(n.interval)
	defer stop()
	for ctx.Err() == nil {
		if healthy == nil || healthy() == nil {
			_ = n.Notify("WATCHDOG=1")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
	}
	return nil
}
