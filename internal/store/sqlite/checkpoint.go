package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints copy the WAL back into the database file. SQLite's automatic
// checkpoint runs inside the committing connection, that is on the writer,
// where it cost about a tenth of the writer's time. The checkpointer runs
// them on a connection of its own instead, so they use the other core while
// the writer goes on committing (a PASSIVE checkpoint never blocks writers).
// The writer keeps an automatic checkpoint at a much higher threshold
// (walSafetyPages) as a backstop should this one fall behind.
const (
	checkpointEvery = 250 * time.Millisecond // at most this often: often enough to keep the WAL small, rarely enough not to compete with commits for the disk
	walRestartPages = 16384                  // ~64 MB of WAL: make the writer start the file over
	walSafetyPages  = 65536                  // the writer's own auto-checkpoint threshold
)

type checkpointer struct {
	conn *sql.Conn
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func startCheckpointer(ctx context.Context, db *sql.DB) (*checkpointer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint connection: %w", err)
	}
	c := &checkpointer{conn: conn, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

// nudge tells the checkpointer a commit happened; it never blocks.
func (c *checkpointer) nudge() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) stop() error {
	close(c.quit)
	<-c.done
	return c.conn.Close()
}

func (c *checkpointer) loop() {
	defer close(c.done)
	pace := time.NewTimer(0)
	defer pace.Stop()
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			return
		}
		// Errors are not fatal here: the next commit nudges again, and the
		// writer's own auto-checkpoint bounds the WAL meanwhile.
		if pages, err := c.checkpoint("PASSIVE"); err == nil && pages > walRestartPages {
			_, _ = c.checkpoint("RESTART")
		}
		pace.Reset(checkpointEvery)
		select {
		case <-pace.C:
		case <-c.quit:
			return
		}
	}
}

// checkpoint runs one checkpoint and returns the WAL's size in pages.
func (c *checkpointer) checkpoint(mode string) (int64, error) {
	var busy, logPages, done int64
	err := c.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logPages, &done)
	return logPages, err
}
