package cli

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/certutil"
)

var crlView = view{cols: []column{{"CA", "ca_id"}, {"KIND", "kind"}, {"NUMBER", "number"}, {"ENTRIES", "entries"},
	{"THIS UPDATE", "this_update"}, {"NEXT UPDATE", "next_update"}, {"URL", "url"}}}

func newCRLCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "crl", Short: "Certificate revocation lists"}
	cmd.AddCommand(apiCmd(g, apiSpec{use: "list", short: "The newest full and delta CRL of every CA", args: cobra.NoArgs, view: crlView,
		build: func(_ *cobra.Command, _ []string) (request, error) {
			return request{method: http.MethodGet, path: "/api/v1/crls"}, nil
		}}), newCRLGetCmd(g))
	return cmd
}

func newCRLGetCmd(g *globals) *cobra.Command {
	var format, out string
	var delta bool
	cmd := &cobra.Command{Use: "get CA", Short: "Download a CA's newest CRL (PEM, or DER with --format der)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := esc(a[0])
			if delta {
				name += "-delta"
			}
			name += ".crl"
			switch format {
			case "pem":
				name += ".pem"
			case "der":
			default:
				return usagef("--format %q: want pem or der", format)
			}
			return download(cmd, g, request{method: http.MethodGet, path: "/crl/" + name}, out)
		}}
	cmd.Flags().BoolVar(&delta, "delta", false, "the delta CRL instead of the full one")
	cmd.Flags().StringVar(&format, "format", "pem", "pem or der")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func newOCSPCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ocsp", Short: "Query Signet's OCSP responder"}
	cmd.AddCommand(newOCSPCheckCmd(g))
	return cmd
}

// newOCSPCheckCmd asks the server's responder about a certificate and
// verifies the signed answer; it fails unless the certificate is good.
func newOCSPCheckCmd(g *globals) *cobra.Command {
	var issuerFile string
	cmd := &cobra.Command{Use: "check CERT.pem", Short: "Ask the OCSP responder for a certificate's status (exit 1 unless good)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			leaf, err := readCert(a[0])
			if err != nil {
				return err
			}
			issuer, err := ocspIssuer(cmd, g, leaf, issuerFile)
			if err != nil {
				return err
			}
			der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
			if err != nil {
				return fmt.Errorf("build OCSP request: %w", err)
			}
			c, err := newClient(g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/ocsp", raw: der,
				header: http.Header{"Content-Type": {"application/ocsp-request"}}})
			if err != nil {
				return err
			}
			r, err := ocsp.ParseResponseForCert(resp.body, leaf, issuer)
			if err != nil {
				return fmt.Errorf("OCSP response rejected: %w", err)
			}
			return printOCSP(cmd, leaf, r)
		}}
	cmd.Flags().StringVar(&issuerFile, "issuer", "", "issuing CA certificate (PEM); default: fetched from the server")
	return cmd
}

func printOCSP(cmd *cobra.Command, leaf *x509.Certificate, r *ocsp.Response) error {
	status := map[int]string{ocsp.Good: "good", ocsp.Revoked: "revoked", ocsp.Unknown: "unknown"}[r.Status]
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "SERIAL       %s\nSTATUS       %s\n", certutil.SerialHex(leaf.SerialNumber), status)
	if r.Status == ocsp.Revoked {
		fmt.Fprintf(w, "REVOKED AT   %s\nREASON       %s\n", r.RevokedAt.UTC().Format(time.RFC3339), reasonText(r.RevocationReason))
	}
	fmt.Fprintf(w, "THIS UPDATE  %s\nNEXT UPDATE  %s\n", r.ThisUpdate.UTC().Format(time.RFC3339), r.NextUpdate.UTC().Format(time.RFC3339))
	if r.Status != ocsp.Good {
		return fmt.Errorf("certificate %s is %s", certutil.SerialHex(leaf.SerialNumber), status)
	}
	return nil
}

func reasonText(r int) string {
	names := []string{"unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
		"cessation_of_operation", "certificate_hold", "", "remove_from_crl", "privilege_withdrawn", "aa_compromise"}
	if r >= 0 && r < len(names) && names[r] != "" {
		return names[r]
	}
	return fmt.Sprint(r)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := certutil.ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs[0], nil
}

// ocspIssuer reads --issuer, or fetches the issuing CA from the server
// through the leaf's caIssuers URL (which Signet points at itself).
func ocspIssuer(cmd *cobra.Command, g *globals, leaf *x509.Certificate, file string) (*x509.Certificate, error) {
	if file != "" {
		return readCert(file)
	}
	for _, u := range leaf.IssuingCertificateURL {
		parsed, err := url.Parse(u)
		if err != nil || !strings.HasPrefix(parsed.Path, "/api/v1/cas/") {
			continue
		}
		c, err := newClient(g, cmd.ErrOrStderr())
		if err != nil {
			return nil, err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: parsed.Path, query: parsed.Query()})
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(resp.body)
	}
	return nil, usagef("the certificate names no Signet CA to fetch; pass --issuer")
}
