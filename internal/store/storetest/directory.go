package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

func newOrg(n int) *store.Organization {
	return &store.Organization{ID: "org_t" + string(rune('a'+n)), Name: "org " + string(rune('a'+n)),
		CreatedAt: at(0), UpdatedAt: at(0)}
}

func testDirectory(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b := newOrg(0), newOrg(1)
	team := &store.Team{ID: "team_web", OrgID: a.ID, Name: "web", Description: "web platform", CreatedAt: at(0), UpdatedAt: at(0)}
	alice := &store.Principal{ID: "usr_alice", Kind: store.PrincipalUser, OrgID: a.ID, Name: "alice", DisplayName: "Alice",
		Email: "alice@example.com", Roles: []string{"requester"}, TeamIDs: []string{team.ID}, PasswordHash: "$argon2id$x",
		CreatedAt: at(0), UpdatedAt: at(0)}
	svc := &store.Principal{ID: "svc_ci", Kind: store.PrincipalService, OrgID: b.ID, Name: "ci", Roles: []string{"requester", "auditor"},
		TeamIDs: []string{}, CreatedAt: at(0), UpdatedAt: at(0)}
	field := &store.CustomField{ID: "cf_cost", OrgID: a.ID, Name: "cost_center", Type: "string", Required: true,
		AllowedValues: []string{"a1", "b2"}, CreatedAt: at(0), UpdatedAt: at(0)}
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, o := range []*store.Organization{a, b} {
			if err := tx.InsertOrganization(ctx, o); err != nil {
				return err
			}
		}
		if err := tx.InsertTeam(ctx, team); err != nil {
			return err
		}
		for _, p := range []*store.Principal{alice, svc} {
			if err := tx.InsertPrincipal(ctx, p); err != nil {
				return err
			}
		}
		return tx.InsertCustomField(ctx, field)
	})
	gotOrg, err := s.GetOrganizationByName(ctx, a.Name)
	noErr(t, "GetOrganizationByName", err)
	same(t, "organization", gotOrg, a)
	gotTeam, err := s.GetTeamByName(ctx, a.ID, "web")
	noErr(t, "GetTeamByName", err)
	same(t, "team", gotTeam, team)
	_, err = s.GetTeamByName(ctx, b.ID, "web")
	wantErr(t, "GetTeamByName other org", err, store.ErrNotFound)
	gotP, err := s.GetPrincipalByName(ctx, "alice")
	noErr(t, "GetPrincipalByName", err)
	same(t, "principal", gotP, alice)
	fields, err := s.ListCustomFields(ctx, a.ID)
	noErr(t, "ListCustomFields", err)
	same(t, "custom fields", fields, []store.CustomField{*field})

	for what, fn := range map[string]func(tx store.Tx) error{
		"organization name": func(tx store.Tx) error {
			return tx.InsertOrganization(ctx, &store.Organization{ID: "org_x", Name: a.Name})
		},
		"team name in org": func(tx store.Tx) error {
			return tx.InsertTeam(ctx, &store.Team{ID: "team_x", OrgID: a.ID, Name: "web"})
		},
		"principal name": func(tx store.Tx) error {
			return tx.InsertPrincipal(ctx, &store.Principal{ID: "usr_x", Kind: store.PrincipalUser, Name: "alice", Roles: []string{}})
		},
	} {
		wantErr(t, "duplicate "+what, s.Update(ctx, fn), store.ErrDuplicate)
	}
	noErr(t, "same team name in another org", s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertTeam(ctx, &store.Team{ID: "team_web_b", OrgID: b.ID, Name: "web"})
	}))

	users, _, err := s.ListPrincipals(ctx, store.ListQuery{Kind: store.PrincipalUser})
	noErr(t, "ListPrincipals users", err)
	same(t, "users", ids(users, func(p store.Principal) string { return p.ID }), []string{alice.ID})
	inB, _, err := s.ListPrincipals(ctx, store.ListQuery{OrgID: b.ID})
	noErr(t, "ListPrincipals org b", err)
	same(t, "principals of b", ids(inB, func(p store.Principal) string { return p.ID }), []string{svc.ID})
	teams, _, err := s.ListTeams(ctx, store.ListQuery{OrgID: a.ID})
	noErr(t, "ListTeams", err)
	same(t, "teams of a", ids(teams, func(t store.Team) string { return t.ID }), []string{team.ID})

	locked := at(time.Hour)
	alice.FailedLogins, alice.LockedUntil, alice.Roles, alice.TeamIDs, alice.UpdatedAt = 5, &locked, []string{"manager"}, []string{}, at(time.Minute)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdatePrincipal(ctx, alice) })
	gotP, err = s.GetPrincipal(ctx, alice.ID)
	noErr(t, "GetPrincipal", err)
	same(t, "updated principal", gotP, alice)

	n, err := s.CountOrganizationObjects(ctx, a.ID)
	noErr(t, "CountOrganizationObjects", err)
	if n == 0 {
		t.Fatal("organization a owns a team, a principal and a field, but counts 0 objects")
	}
	empty := newOrg(2)
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.InsertOrganization(ctx, empty) })
	n, err = s.CountOrganizationObjects(ctx, empty.ID)
	noErr(t, "CountOrganizationObjects empty", err)
	if n != 0 {
		t.Fatalf("empty organization counts %d objects", n)
	}
	empty.Name = "renamed"
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateOrganization(ctx, empty) })
	update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrganization(ctx, empty.ID) })
	_, err = s.GetOrganization(ctx, empty.ID)
	wantErr(t, "deleted organization", err, store.ErrNotFound)
	wantErr(t, "delete organization with a team", s.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteOrganization(ctx, a.ID)
	}), store.ErrConflict)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteCustomField(ctx, field.ID); err != nil {
			return err
		}
		if err := tx.DeletePrincipal(ctx, alice.ID); err != nil {
			return err
		}
		return tx.DeleteTeam(ctx, team.ID)
	})
	wantErr(t, "delete missing team", s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTeam(ctx, team.ID) }), store.ErrNotFound)
}

// testTenancySearch checks the organization, label and custom field filters
// and an organization's summary.
func testTenancySearch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var certs []*store.Certificate
	for i := range 6 {
		c := newCert(i)
		if i%2 == 1 {
			c.OrgID = "org_b"
		}
		if i < 3 {
			c.Labels = map[string]string{"env": "prod", "app": "shop"}
		} else {
			c.Labels = map[string]string{"env": "dev"}
		}
		c.CustomFields = map[string]string{"cost_center": []string{"a1", "b2"}[i%3%2]}
		certs = append(certs, c)
	}
	certs[5].Status, certs[5].RevokedAt = store.CertRevoked, ptr(at(time.Hour))
	certs[1].NotAfter = at(10 * 24 * time.Hour)
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, c := range certs {
			if err := tx.InsertCertificate(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetCertificate(ctx, certs[0].Serial)
	noErr(t, "GetCertificate", err)
	same(t, "labels", got.Labels, certs[0].Labels)
	same(t, "custom fields", got.CustomFields, certs[0].CustomFields)

	serials := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, certs[i].Serial)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.CertificateQuery
		want []string
	}{
		{"org", store.CertificateQuery{OrgID: "org_b"}, serials(1, 3, 5)},
		{"label", store.CertificateQuery{Labels: map[string]string{"env": "prod"}}, serials(0, 1, 2)},
		{"two labels and org", store.CertificateQuery{OrgID: "org_a", Labels: map[string]string{"env": "prod", "app": "shop"}}, serials(0, 2)},
		{"label no match", store.CertificateQuery{Labels: map[string]string{"env": "prod", "app": "none"}}, nil},
		{"custom field", store.CertificateQuery{CustomFields: map[string]string{"cost_center": "b2"}}, serials(1, 4)},
		{"quote in key", store.CertificateQuery{Labels: map[string]string{`a"b`: "x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Sort, q.Now = "created_at", t0
			page, err := s.SearchCertificates(ctx, q)
			noErr(t, "SearchCertificates", err)
			same(t, "serials", ids(page.Items, func(c store.Certificate) string { return c.Serial }), tc.want)
		})
	}
	sum, err := s.Summarize(ctx, t0, "org_b")
	noErr(t, "Summarize org", err)
	if sum.Total != 3 || sum.ByStatus[store.CertRevoked] != 1 || sum.ByStatus[store.CertActive] != 2 ||
		sum.Expiring7 != 0 || sum.Expiring30 != 1 {
		t.Fatalf("org_b summary = %+v, want 3 total, 1 revoked, 2 active, 1 expiring within 30 days", sum)
	}
}

func testAuditSearch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	events := []store.AuditEvent{
		{Time: at(0), Principal: "usr_a", Action: "certificate.issue", ObjectType: "certificate", ObjectID: "1a", Outcome: "success", OrgID: "org_a", SourceIP: "10.0.0.1"},
		{Time: at(time.Second), Principal: "usr_b", Action: "certificate.revoke", ObjectType: "certificate", ObjectID: "1a", Outcome: "success", OrgID: "org_a"},
		{Time: at(2 * time.Second), Principal: "usr_b", Action: "authz.denied", ObjectType: "ca", ObjectID: "ca_x", Outcome: "denied", OrgID: "org_b"},
		{Time: at(3 * time.Second), Principal: "usr_a", Action: "ca.create", ObjectType: "ca", ObjectID: "ca_y", Outcome: "success", OrgID: "org_b"},
	}
	for _, ev := range events {
		update(t, s, func(ctx context.Context, tx store.Tx) error { tx.AppendAudit(ev); return nil })
	}
	seqs := func(evs []store.AuditEvent) []int64 {
		var out []int64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []int64
	}{
		{"all", store.AuditQuery{}, []int64{1, 2, 3, 4}},
		{"org", store.AuditQuery{OrgID: "org_b"}, []int64{3, 4}},
		{"principal", store.AuditQuery{Principal: "usr_a"}, []int64{1, 4}},
		{"action prefix", store.AuditQuery{Action: "certificate."}, []int64{1, 2}},
		{"action exact", store.AuditQuery{Action: "ca.create"}, []int64{4}},
		{"object", store.AuditQuery{ObjectType: "certificate", ObjectID: "1a"}, []int64{1, 2}},
		{"outcome", store.AuditQuery{Outcome: "denied"}, []int64{3}},
		{"time range", store.AuditQuery{From: ptr(at(time.Second)), To: ptr(at(3 * time.Second))}, []int64{2, 3}},
		{"after and limit", store.AuditQuery{AfterSeq: 1, Limit: 2}, []int64{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SearchAuditEvents(ctx, tc.q)
			noErr(t, "SearchAuditEvents", err)
			same(t, "seqs", seqs(got), tc.want)
		})
	}
	ev, err := s.GetAuditEvent(ctx, 1)
	noErr(t, "GetAuditEvent", err)
	if ev.SourceIP != "10.0.0.1" || ev.OrgID != "org_a" || string(ev.Hash) != string(store.HashAuditEvent(ev.PrevHash, *ev)) {
		t.Fatalf("event 1 = %+v: source, organization or hash wrong", ev)
	}
	_, err = s.GetAuditEvent(ctx, 99)
	wantErr(t, "GetAuditEvent missing", err, store.ErrNotFound)
}
