package cli

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

var certColumns = []column{{"SERIAL", "serial"}, {"COMMON NAME", "common_name"}, {"SANS", "sans"}, {"STATUS", "status"},
	{"NOT AFTER", "not_after"}, {"OWNER", "owner"}, {"SOURCE", "source"}}

var enrollColumns = []column{{"REQUEST", "request.id"}, {"REQUEST STATUS", "request.status"}, {"SERIAL", "certificate.serial"},
	{"COMMON NAME", "certificate.common_name"}, {"NOT AFTER", "certificate.not_after"}}

func newCertCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cert", Short: "Issue, find, renew, revoke and download certificates"}
	cmd.AddCommand(newCertIssueCmd(g), newCertListCmd(g), newCertRenewCmd(g), newCertDownloadCmd(g),
		simple(g, "get SERIAL", "Show a certificate", cobra.ExactArgs(1), certColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "GET", "/api/v1/certificates/" + esc(a[0]), nil, nil
		}),
		newCertRevokeCmd(g),
		simple(g, "suspend SERIAL", "Put a certificate on hold (certificateHold)", cobra.ExactArgs(1), certColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/certificates/" + esc(a[0]) + "/suspend", nil, nil
		}),
		simple(g, "resume SERIAL", "Take a certificate off hold", cobra.ExactArgs(1), certColumns, func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/certificates/" + esc(a[0]) + "/resume", nil, nil
		}),
		newCertImportCmd(g),
		simple(g, "summary", "Counts by status, expiry window and CA", cobra.NoArgs,
			[]column{{"TOTAL", "total"}, {"ACTIVE", "by_status.active"}, {"EXPIRED", "by_status.expired"}, {"REVOKED", "by_status.revoked"},
				{"ON HOLD", "by_status.on_hold"}, {"EXPIRING 7D", "expiring.7d"}, {"30D", "expiring.30d"}, {"90D", "expiring.90d"}},
			func(_ *cobra.Command, _ []string) (string, string, any, error) {
				return "GET", "/api/v1/certificates/summary", nil, nil
			}),
	)
	return cmd
}

// keyFlags are the outputs of an issuance or renewal.
type keyFlags struct {
	csrFile, keygen, pkcs12Password                   string
	certOut, keyOut, chainOut, pkcs12Out, idempotency string
	validityDays                                      int
}

func (k *keyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.csrFile, "csr", "", "PEM CSR file (- for stdin)")
	f.StringVar(&k.keygen, "keygen", "", "let the server generate the key: ecdsa[:256|384] or rsa[:2048|3072|4096]")
	f.IntVar(&k.validityDays, "validity-days", 0, "validity in days (default: the profile's)")
	f.StringVar(&k.pkcs12Password, "pkcs12-password", "", "with --keygen, also return a PKCS#12 protected by this password")
	f.StringVar(&k.certOut, "cert-out", "", "write the certificate (PEM) here")
	f.StringVar(&k.keyOut, "key-out", "", "write the generated private key (PEM, mode 0600) here")
	f.StringVar(&k.chainOut, "chain-out", "", "write the issuing chain (PEM) here")
	f.StringVar(&k.pkcs12Out, "pkcs12-out", "", "write the PKCS#12 here")
}

// body fills the csr or keygen part of a request.
func (k *keyFlags) body(g *globals, m map[string]any) error {
	if (k.csrFile == "") == (k.keygen == "") {
		return fmt.Errorf("give exactly one of --csr or --keygen")
	}
	if k.csrFile != "" {
		csr, err := readFile(k.csrFile)
		if err != nil {
			return err
		}
		m["csr"] = csr
	} else {
		alg, bitsText, _ := strings.Cut(k.keygen, ":")
		kg := map[string]any{"algorithm": alg}
		if bitsText != "" {
			bits, err := strconv.Atoi(bitsText)
			if err != nil {
				return fmt.Errorf("--keygen %q: size must be a number", k.keygen)
			}
			kg["bits"] = bits
		}
		m["keygen"] = kg
		if k.keyOut == "" && g.output != "json" {
			return fmt.Errorf("--keygen needs --key-out: the private key is returned only once")
		}
	}
	if k.validityDays > 0 {
		m["validity_days"] = k.validityDays
	}
	if k.pkcs12Password != "" {
		m["pkcs12_password"] = k.pkcs12Password
	}
	return nil
}

// save writes the files asked for from an enrollment response.
func (k *keyFlags) save(v any) error {
	files := []struct {
		path, value string
		mode        os.FileMode
	}{
		{k.certOut, field(v, "certificate.certificate_pem"), 0o644},
		{k.chainOut, field(v, "chain_pem"), 0o644},
		{k.keyOut, field(v, "private_key_pem"), 0o600},
	}
	for _, f := range files {
		if f.path == "" || f.value == "" {
			continue
		}
		if err := writeNew(f.path, []byte(f.value), f.mode); err != nil {
			return err
		}
	}
	if k.pkcs12Out != "" {
		if p12 := field(v, "pkcs12"); p12 != "" {
			b, err := base64.StdEncoding.DecodeString(p12)
			if err != nil {
				return fmt.Errorf("decode PKCS#12: %w", err)
			}
			return writeNew(k.pkcs12Out, b, 0o600)
		}
	}
	return nil
}

// writeNew creates path with mode from the start, so a key is never briefly world-readable.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func newCertIssueCmd(g *globals) *cobra.Command {
	var k keyFlags
	var profile, cn, owner string
	var sans []string
	cmd := &cobra.Command{Use: "issue", Short: "Request a certificate (with a CSR or a server-generated key)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"profile": profile}
			if err := k.body(g, body); err != nil {
				return err
			}
			if cn != "" {
				body["subject"] = map[string]any{"common_name": cn}
			}
			if len(sans) > 0 {
				body["sans"] = sans
			}
			if owner != "" {
				body["owner"] = owner
			}
			return enroll(cmd, g, &k, "/api/v1/certificates", body)
		}}
	k.register(cmd)
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "profile name or id")
	f.StringVar(&cn, "cn", "", "common name (with --keygen)")
	f.StringSliceVar(&sans, "san", nil, "subject alternative name (with --keygen; repeatable): DNS name, IP, email or URI")
	f.StringVar(&owner, "owner", "", "owner of the certificate (default: you)")
	f.StringVar(&k.idempotency, "idempotency-key", "", "retry-safe key: the same key returns the same certificate")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}

func enroll(cmd *cobra.Command, g *globals, k *keyFlags, path string, body map[string]any) error {
	c, err := newClient(g)
	if err != nil {
		return err
	}
	headers := map[string]string{}
	if k.idempotency != "" {
		headers["Idempotency-Key"] = k.idempotency
	}
	v, _, err := c.callWith(cmd.Context(), "POST", path, body, headers)
	if err != nil {
		return err
	}
	if err := k.save(v); err != nil {
		return err
	}
	return printResult(cmd.OutOrStdout(), g, v, enrollColumns)
}

func newCertRenewCmd(g *globals) *cobra.Command {
	var k keyFlags
	var profile string
	cmd := &cobra.Command{Use: "renew SERIAL", Short: "Renew with a new CSR (same or new key) or a server-generated key", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			body := map[string]any{}
			if err := k.body(g, body); err != nil {
				return err
			}
			if profile != "" {
				body["profile"] = profile
			}
			return enroll(cmd, g, &k, "/api/v1/certificates/"+esc(a[0])+"/renew", body)
		}}
	k.register(cmd)
	cmd.Flags().StringVar(&profile, "profile", "", "profile to renew under (required for imported certificates)")
	return cmd
}

func newCertRevokeCmd(g *globals) *cobra.Command {
	var reason string
	cmd := simple(g, "revoke SERIAL", "Revoke a certificate with an RFC 5280 reason", cobra.ExactArgs(1), certColumns,
		func(_ *cobra.Command, a []string) (string, string, any, error) {
			return "POST", "/api/v1/certificates/" + esc(a[0]) + "/revoke", map[string]any{"reason": reason}, nil
		})
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation, privilege_withdrawn, unspecified")
	return cmd
}

func newCertImportCmd(g *globals) *cobra.Command {
	var owner string
	cmd := &cobra.Command{Use: "import FILE", Short: "Import a PEM bundle of certificates from any issuer", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			bundle, err := readFile(a[0])
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			v, _, err := c.call(cmd.Context(), "POST", "/api/v1/certificates/import", map[string]any{"pem": bundle, "owner": owner})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printResult(cmd.OutOrStdout(), g, v, nil)
			}
			m := v.(map[string]any)
			if err := printResult(cmd.OutOrStdout(), g, map[string]any{"items": m["imported"]}, certColumns); err != nil {
				return err
			}
			for _, s := range m["skipped"].([]any) {
				fmt.Fprintf(cmd.OutOrStdout(), "skipped %s: %s\n", field(s, "serial"), field(s, "reason"))
			}
			return nil
		}}
	cmd.Flags().StringVar(&owner, "owner", "", "owner of the imported certificates (default: you)")
	return cmd
}

func newCertDownloadCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{Use: "download SERIAL", Short: "Download a certificate as pem, der, chain or pkcs7", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := newClient(g)
			if err != nil {
				return err
			}
			raw, err := c.do(cmd.Context(), "GET", "/api/v1/certificates/"+esc(a[0])+"/download?format="+url.QueryEscape(format), nil, nil)
			if err != nil {
				return err
			}
			if out != "" {
				return writeNew(out, raw, 0o644)
			}
			_, err = cmd.OutOrStdout().Write(raw)
			return err
		}}
	cmd.Flags().StringVar(&format, "format", "pem", "pem, der, chain or pkcs7")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func newCertListCmd(g *globals) *cobra.Command {
	params := map[string]*string{}
	var all, total bool
	var limit int
	cmd := &cobra.Command{Use: "list", Short: "Search the inventory", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for name, v := range params {
				if *v != "" {
					q.Set(name, *v)
				}
			}
			if total {
				q.Set("total", "true")
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			var items []any
			for {
				v, _, err := c.call(cmd.Context(), "GET", "/api/v1/certificates?"+q.Encode(), nil)
				if err != nil {
					return err
				}
				m := v.(map[string]any)
				next, _ := m["next_cursor"].(string)
				if !all || next == "" {
					if all {
						m["items"] = append(items, m["items"].([]any)...)
						delete(m, "next_cursor")
					}
					return printResult(cmd.OutOrStdout(), g, m, certColumns)
				}
				items = append(items, m["items"].([]any)...)
				q.Set("cursor", next)
			}
		}}
	f := cmd.Flags()
	for _, p := range []struct{ flag, param, help string }{
		{"status", "status", "active, expired, revoked, on_hold (comma-separated)"}, {"ca", "ca", "issuing CA id or name"},
		{"profile", "profile", "profile id or name"}, {"owner", "owner", "owner"}, {"q", "q", "text the common name or a SAN contains"},
		{"name", "name", "exact common name or SAN"}, {"serial", "serial", "serial number"}, {"sha256", "sha256", "SHA-256 thumbprint"},
		{"source", "source", "issued or imported"}, {"expiring", "expiring_within", "expiring within, e.g. 30d"},
		{"expires-before", "expires_before", "RFC 3339 time"}, {"sort", "sort", "not_after, created_at or common_name; prefix - to reverse"},
		{"cursor", "cursor", "page cursor from a previous listing"},
	} {
		params[p.param] = f.String(p.flag, "", p.help)
	}
	f.BoolVar(&all, "all", false, "follow every page")
	f.BoolVar(&total, "total", false, "also count every match")
	f.IntVar(&limit, "limit", 0, "page size (1-1000)")
	return cmd
}
