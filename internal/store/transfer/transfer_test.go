package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/postgres"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "signet.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.NewTestDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func importedCert(name string) *store.Certificate {
	der := []byte("der of " + name)
	sum := sha256.Sum256(der)
	now := time.Now()
	return &store.Certificate{Serial: hex.EncodeToString(sum[:8]), SHA256: hex.EncodeToString(sum[:]), SHA1: name,
		CommonName: name, SANs: []string{name}, Issuer: "CN=Elsewhere", Subject: "CN=" + name, KeyType: "ECDSA-P256",
		NotBefore: now, NotAfter: now.AddDate(0, 0, 90), DER: der, Status: store.CertActive, Source: store.SourceImported}
}

// fillWithGaps writes teams, requests and certificates into s and deletes
// some of them, so that the integer ids left have holes a copy that
// renumbered rows would close; the newest certificate goes too. It returns
// that certificate's integer id, which no later certificate may take.
func fillWithGaps(t *testing.T, s store.Store) (newest int64) {
	t.Helper()
	ctx := context.Background()
	for i := range 6 {
		c := importedCert(fmt.Sprintf("c%d.example.com", i))
		err := s.Update(ctx, func(tx store.Tx) error {
			team := &store.Team{ID: fmt.Sprintf("team_%d", i), OrgID: store.DefaultOrgID, Name: fmt.Sprintf("team %d", i)}
			if err := tx.InsertTeam(ctx, team); err != nil {
				return err
			}
			if err := tx.InsertRequest(ctx, &store.Request{ID: fmt.Sprintf("req_%d", i), ProfileID: "prof_x",
				RequesterID: "p", Status: store.RequestRejected, Kind: "csr", OrgID: store.DefaultOrgID}); err != nil {
				return err
			}
			return tx.InsertCertificate(ctx, c)
		})
		newest = c.IntID
		if err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, i := range []int{1, 4} {
			if err := tx.DeleteTeam(ctx, fmt.Sprintf("team_%d", i)); err != nil {
				return err
			}
			if err := tx.DeleteCertificate(ctx, importedCert(fmt.Sprintf("c%d.example.com", i)).Serial); err != nil {
				return err
			}
		}
		return tx.DeleteCertificate(ctx, importedCert("c5.example.com").Serial)
	})
	if err != nil {
		t.Fatal(err)
	}
	return newest
}

// intIDs maps every team, request and certificate id to its integer id.
func intIDs(t *testing.T, s store.Store) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	teams, _, err := s.ListTeams(ctx, store.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		out[tm.ID] = tm.IntID
	}
	reqs, _, err := s.ListRequests(ctx, store.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		out[r.ID] = r.IntID
	}
	page, err := s.SearchCertificates(ctx, store.CertificateQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Items {
		out[c.Serial] = c.IntID
	}
	return out
}

// TestCopyKeepsIntIDs: the compatibility APIs show integer ids (Sectigo's
// sslId and department ids, Notary's), so a copy between backends, either
// way, must keep them, holes included, and number new rows after them.
func TestCopyKeepsIntIDs(t *testing.T) {
	cases := []struct {
		name     string
		src, dst func(*testing.T) store.Store
	}{
		{"sqlite to postgres", openSQLite, openPostgres},
		{"postgres to sqlite", openPostgres, openSQLite},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := tc.src(t), tc.dst(t)
			newest := fillWithGaps(t, src)
			want := intIDs(t, src)
			if len(want) != 4+6+3 {
				t.Fatalf("source holds %d rows: %v", len(want), want)
			}
			if _, err := Copy(ctx, src, dst); err != nil {
				t.Fatal(err)
			}
			got := intIDs(t, dst)
			var largest int64
			for id, n := range want {
				if got[id] != n {
					t.Errorf("%s has integer id %d after the copy, %d before", id, got[id], n)
				}
				largest = max(largest, n)
			}
			if len(got) != len(want) {
				t.Errorf("copy holds %d rows, source %d", len(got), len(want))
			}
			fresh := importedCert("after.example.com")
			team := &store.Team{ID: "team_after", OrgID: store.DefaultOrgID, Name: "after"}
			err := dst.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertTeam(ctx, team); err != nil {
					return err
				}
				return tx.InsertCertificate(ctx, fresh)
			})
			if err != nil {
				t.Fatalf("insert after the copy: %v", err)
			}
			if fresh.IntID <= newest || team.IntID <= want["team_5"] {
				t.Errorf("rows inserted after the copy numbered %d (certificate) and %d (team), not after the kept ids "+
					"(largest %d) and the deleted newest certificate (%d)", fresh.IntID, team.IntID, largest, newest)
			}
		})
	}
}
