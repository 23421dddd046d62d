package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// enrollView shows the answer to issue, renew and approve.
var enrollView = view{
	cols: []column{{"REQUEST", "request.id"}, {"REQUEST STATUS", "request.status"}, {"SERIAL", "certificate.serial"},
		{"STATUS", "certificate.status"}, {"COMMON NAME", "certificate.common_name"}, {"SANS", "certificate.sans"},
		{"NOT AFTER", "certificate.not_after"}},
	pem: pemFields("certificate.certificate_pem", "chain_pem"),
}

// keyFlags say where the key comes from and where the results go.
type keyFlags struct {
	csrFile, keygen, pkcs12Password      string
	certOut, keyOut, chainOut, pkcs12Out string
	validityDays                         int
}

func (k *keyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.csrFile, "csr", "", "PEM CSR file (- for stdin)")
	f.StringVar(&k.keygen, "keygen", "", "let the server generate the key: ecdsa[:256|384] or rsa[:2048|3072|4096]")
	f.IntVar(&k.validityDays, "validity-days", 0, "validity in days (default: the profile's)")
	f.StringVar(&k.pkcs12Password, "pkcs12-password", "", "with --keygen, also return a PKCS#12 protected by this password")
	f.StringVar(&k.certOut, "cert-out", "", "write the certificate (PEM) to this file")
	f.StringVar(&k.keyOut, "key-out", "", "write the generated private key (PEM) to this file, mode 0600")
	f.StringVar(&k.chainOut, "chain-out", "", "write the issuing CA chain (PEM) to this file")
	f.StringVar(&k.pkcs12Out, "pkcs12-out", "", "write the PKCS#12 to this file, mode 0600 (needs --pkcs12-password)")
	cmd.MarkFlagsMutuallyExclusive("csr", "keygen")
	cmd.MarkFlagsOneRequired("csr", "keygen")
}

// fill checks the key flags and adds the csr or keygen part to body.
func (k *keyFlags) fill(cmd *cobra.Command, output string, body map[string]any) error {
	if k.csrFile != "" {
		if k.keyOut != "" || k.pkcs12Password != "" || k.pkcs12Out != "" {
			return usagef("--key-out and --pkcs12-* need --keygen: with --csr the key stays with you")
		}
		csr, err := readInput(cmd.InOrStdin(), k.csrFile, maxSmallFile)
		if err != nil {
			return fmt.Errorf("--csr: %w", err)
		}
		body["csr"] = string(csr)
	} else {
		kg, err := parseKeygen(k.keygen)
		if err != nil {
			return err
		}
		body["keygen"] = kg
		if k.keyOut == "" && output != outJSON {
			return usagef("--keygen needs --key-out FILE (or -o json): the private key is returned only once")
		}
	}
	if (k.pkcs12Out != "") != (k.pkcs12Password != "") {
		return usagef("--pkcs12-out and --pkcs12-password go together")
	}
	if k.validityDays < 0 {
		return usagef("--validity-days must be positive")
	}
	if k.validityDays > 0 {
		body["validity_days"] = k.validityDays
	}
	if k.pkcs12Password != "" {
		body["pkcs12_password"] = k.pkcs12Password
	}
	for _, p := range []string{k.keyOut, k.pkcs12Out} {
		if err := checkWritable(p); err != nil {
			return err
		}
	}
	return nil
}

// parseKeygen reads "ecdsa", "ecdsa:384", "rsa:3072", ...
func parseKeygen(s string) (map[string]any, error) {
	alg, bitsText, hasBits := strings.Cut(strings.ToLower(s), ":")
	kg := map[string]any{"algorithm": alg}
	if alg == "" {
		return nil, usagef("--keygen %q: want ecdsa[:256|384] or rsa[:2048|3072|4096]", s)
	}
	if hasBits {
		bits, err := strconv.Atoi(bitsText)
		if err != nil || bits <= 0 {
			return nil, usagef("--keygen %q: the size after ':' must be a number of bits", s)
		}
		kg["bits"] = bits
	}
	return kg, nil
}

// save writes the files asked for from an enrollment answer: the key first,
// since it can never be fetched again.
func (k *keyFlags) save(cmd *cobra.Command, ans any) error {
	notes := cmd.ErrOrStderr()
	if k.keyOut != "" {
		key := field(ans, "private_key_pem")
		if key == "" {
			return fmt.Errorf("the answer holds no private key for --key-out")
		}
		if err := writeFile(k.keyOut, []byte(key), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(notes, "wrote private key to %s (mode 0600)\n", k.keyOut)
	}
	if k.pkcs12Out != "" {
		p12, err := base64.StdEncoding.DecodeString(field(ans, "pkcs12"))
		if err != nil || len(p12) == 0 {
			return fmt.Errorf("the answer holds no PKCS#12 for --pkcs12-out")
		}
		if err := writeFile(k.pkcs12Out, p12, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(notes, "wrote PKCS#12 to %s (mode 0600)\n", k.pkcs12Out)
	}
	for _, f := range []struct{ path, pem, what string }{
		{k.certOut, field(ans, "certificate.certificate_pem"), "certificate"},
		{k.chainOut, field(ans, "chain_pem"), "CA chain"},
	} {
		if f.path == "" || f.pem == "" {
			continue
		}
		if err := writeFile(f.path, []byte(withNewline(f.pem)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(notes, "wrote %s to %s\n", f.what, f.path)
	}
	return nil
}

// enroll posts an issuance or renewal, saves the files and prints the result.
func enroll(cmd *cobra.Command, g *globals, k *keyFlags, req request) error {
	c, err := newClient(g, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	raw, err := c.json(cmd.Context(), req)
	if err != nil {
		return err
	}
	return finishEnroll(cmd, g, k, raw)
}

// finishEnroll saves and prints an enrollment answer (also used by approve).
func finishEnroll(cmd *cobra.Command, g *globals, k *keyFlags, raw []byte) error {
	ans, err := decode(raw)
	if err != nil {
		return err
	}
	if k != nil {
		if err := k.save(cmd, ans); err != nil {
			return err
		}
	}
	if err := render(cmd.OutOrStdout(), g.output, raw, enrollView); err != nil {
		return err
	}
	if field(ans, "certificate.serial") == "" {
		id := field(ans, "request.id")
		fmt.Fprintf(cmd.ErrOrStderr(), "request %s is %s: an approver runs `signet request approve %s`; "+
			"then `signet request get %s` shows the certificate's serial\n", id, field(ans, "request.status"), id, id)
	} else if field(ans, "replayed") == "true" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note: the Idempotency-Key was used before; this is the certificate issued then")
	}
	return nil
}

func newCertIssueCmd(g *globals) *cobra.Command {
	var k keyFlags
	var profile, cn, owner, idempotencyKey string
	var sans []string
	cmd := &cobra.Command{Use: "issue", Short: "Request a certificate, from a CSR or with a server-generated key", Args: cobra.NoArgs,
		Example: "  signet cert issue --profile tls-server --keygen ecdsa --cn app.example.com --san app.example.com \\\n" +
			"      --key-out app.key --cert-out app.crt --chain-out app.chain.pem\n" +
			"  signet cert issue --profile tls-server --csr app.csr --cert-out app.crt",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"profile": profile}
			if k.csrFile != "" && (cn != "" || len(sans) > 0) {
				return usagef("--cn and --san go with --keygen; with --csr the names come from the CSR")
			}
			if err := k.fill(cmd, g.output, body); err != nil {
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
			req := request{method: http.MethodPost, path: certsPath, body: body}
			if idempotencyKey != "" {
				req.header = http.Header{"Idempotency-Key": {idempotencyKey}}
			}
			return enroll(cmd, g, &k, req)
		}}
	k.register(cmd)
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "profile name or id (required)")
	f.StringVar(&cn, "cn", "", "subject common name (with --keygen)")
	f.StringArrayVar(&sans, "san", nil, "subject alternative name, repeatable (with --keygen): DNS name, IP, email or URI")
	f.StringVar(&owner, "owner", "", "owner of the certificate (default: you)")
	f.StringVar(&idempotencyKey, "idempotency-key", "", "retry-safe key: a retry with the same key returns the same certificate")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}

func newCertRenewCmd(g *globals) *cobra.Command {
	var k keyFlags
	var profile string
	cmd := &cobra.Command{Use: "renew SERIAL", Short: "Renew a certificate, from a new CSR or with a new server-generated key", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			body := map[string]any{}
			if err := k.fill(cmd, g.output, body); err != nil {
				return err
			}
			if profile != "" {
				body["profile"] = profile
			}
			return enroll(cmd, g, &k, request{method: http.MethodPost, path: certsPath + "/" + esc(a[0]) + "/renew", body: body})
		}}
	k.register(cmd)
	cmd.Flags().StringVar(&profile, "profile", "", "profile to renew under (default: the certificate's; required for imported ones)")
	return cmd
}
