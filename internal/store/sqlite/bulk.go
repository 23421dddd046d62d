package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/store"
)

// bulkChunk is how many certificates one bulk transaction writes: large
// enough that commits are rare, small enough to bound the WAL.
const bulkChunk = 10000

// BulkInsertCertificates loads certificates in large transactions, skipping
// the group commit and the audit chain: nothing is audited. It exists for
// load tools, benchmarks and tests only; the server never calls it. It runs
// on the writer's connection between batches, so it is safe next to normal
// updates (which wait for it). IntID is set on each certificate; zero
// CreatedAt/UpdatedAt are stamped from the clock. On error, chunks already
// committed stay.
func (s *Store) BulkInsertCertificates(ctx context.Context, certs []store.Certificate) error {
	now := s.now()
	for i := range certs {
		stamp(&certs[i].CreatedAt, now)
		stamp(&certs[i].UpdatedAt, now)
	}
	return s.w.submit(ctx, &op{ctx: ctx, exclusive: func(ctx context.Context, q *connQuerier) (err error) {
		// Random-order index inserts (serial, thumbprint, names) miss a
		// normal-size page cache all the time once the tables outgrow it.
		if _, err := q.conn.ExecContext(ctx, "PRAGMA cache_size = -1048576"); err != nil {
			return fmt.Errorf("bulk insert: %w", err)
		}
		defer func() {
			_, resetErr := q.conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = %d", writerCacheKiB))
			err = errors.Join(err, resetErr)
		}()
		for start := 0; start < len(certs); start += bulkChunk {
			if err := bulkChunkTx(ctx, q, certs[start:min(start+bulkChunk, len(certs))]); err != nil {
				return err
			}
		}
		return nil
	}})
}

func bulkChunkTx(ctx context.Context, q *connQuerier, certs []store.Certificate) (err error) {
	if _, err := q.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("bulk insert: begin: %w", err)
	}
	q.aborted = nil
	search := make([]searchEntry, 0, len(certs))
	for i := range certs {
		if err = insertCertificate(ctx, q, &certs[i], nil, &search); err != nil {
			break
		}
	}
	if err == nil {
		err = writeSearchEntries(ctx, q, search)
	}
	if err != nil {
		_, _ = q.conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("bulk insert: %w", err)
	}
	if _, err := q.conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = q.conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("bulk insert: commit: %w", err)
	}
	return nil
}

// Optimize refreshes the query planner's statistics (PRAGMA optimize, which
// runs ANALYZE where they are out of date, sampling at most a few thousand
// rows per index). Worth calling after a bulk load. Inventory searches name
// their indexes (see plan.go), so only the remaining queries rely on it.
func (s *Store) Optimize(ctx context.Context) error {
	return s.w.submit(ctx, &op{ctx: ctx, exclusive: func(ctx context.Context, q *connQuerier) error {
		if _, err := q.conn.ExecContext(ctx, "PRAGMA analysis_limit = 4000"); err != nil {
			return err
		}
		_, err := q.conn.ExecContext(ctx, "PRAGMA optimize = 0x10002")
		return err
	}})
}
