package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/storetest"
)

func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openTemp(t *testing.T) *Store {
	return openAt(t, filepath.Join(t.TempDir(), "signet.db"), Options{})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestConformanceIndexWalks runs the suite with every filter judged
// unselective, so that searches take the sort-index walks a large inventory
// uses instead of the filter-driven plans small data gets.
func TestConformanceIndexWalks(t *testing.T) {
	for _, limit := range []int{1, 20} {
		t.Run(fmt.Sprintf("probeLimit=%d", limit), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := openTemp(t)
				s.reader.probeLimit = limit
				return s
			})
		})
	}
}

func TestReopen(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) (store.Store, func(t *testing.T) store.Store) {
		path := filepath.Join(t.TempDir(), "signet.db")
		return openAt(t, path, Options{}), func(t *testing.T) store.Store { return openAt(t, path, Options{}) }
	})
}

// TestPathCharacters: the file: URI must not cut or decode the path.
func TestPathCharacters(t *testing.T) {
	dir := t.TempDir()
	name := "we?ird#na%20me.db"
	s := openAt(t, filepath.Join(dir, name), Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
}
