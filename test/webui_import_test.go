package test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testutil"
)

// TestWebUIImportsCertificates: a requester uploads a DER .p7b made by
// openssl on the import page, sees both certificates imported and linked,
// then pastes one of them again and sees it skipped; garbage gets the
// reason next to the form, and an auditor (who may not import) is neither
// shown the page in the menu nor served it.
func TestWebUIImportsCertificates(t *testing.T) {
	e := newUIEnv(t, false)
	var pems []string
	for _, cn := range []string{"ui-old-a.example.org", "ui-old-b.example.org"} {
		pems = append(pems, e.opensslCert(t, cn, "/CN="+cn, "-addext", "subjectAltName=DNS:"+cn))
	}
	testutil.Openssl(t, e.dir, "crl2pkcs7", "-nocrl", "-certfile", pems[0], "-certfile", pems[1], "-outform", "DER", "-out", "both.p7b")
	p7b, err := os.ReadFile(filepath.Join(e.dir, "both.p7b"))
	if err != nil {
		t.Fatal(err)
	}
	u := newUIClient(t, e)
	u.login("rita", uiPassword)
	resp, page := u.do("GET", "/ui/import", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="import-form"`) || !strings.Contains(page, `href="/ui/import"`) {
		t.Fatalf("import page: %d\n%.1500s", resp.StatusCode, page)
	}
	token := csrfOf(t, page)
	post := func(fields map[string]string, file []byte) (*http.Response, string) {
		fields["csrf"] = token
		return u.postFile("/ui/import", fields, "file", "both.p7b", file)
	}
	resp, page = post(map[string]string{}, p7b)
	if resp.StatusCode != 200 || !strings.Contains(page, "Imported 2, skipped 0") ||
		!strings.Contains(page, "ui-old-a.example.org") || !strings.Contains(page, `href="/ui/certificates/`) {
		t.Fatalf("upload of a .p7b: %d\n%.3000s", resp.StatusCode, page)
	}
	again, err := os.ReadFile(filepath.Join(e.dir, pems[1]))
	if err != nil {
		t.Fatal(err)
	}
	if resp, page = post(map[string]string{"pem": string(again)}, nil); resp.StatusCode != 200 || !strings.Contains(page, "Imported 0, skipped 1") {
		t.Fatalf("pasting an imported certificate again: %d\n%.3000s", resp.StatusCode, page)
	}
	if resp, page = post(map[string]string{"pem": "not a certificate"}, nil); resp.StatusCode != 400 || !strings.Contains(page, `id="import-errors"`) {
		t.Fatalf("garbage: %d\n%.3000s", resp.StatusCode, page)
	}
	list := e.Must(t, 200, "GET", "/api/v1/certificates?source=imported&q=ui-old-&total=true", admin, nil).Map(t)
	if list["total"].(float64) != 2 {
		t.Fatalf("imported certificates in the inventory: %v", list)
	}

	e.Must(t, 201, "POST", "/api/v1/users", admin, map[string]any{"name": "audrey", "roles": []string{"auditor"}, "password": uiPassword})
	a := newUIClient(t, e)
	a.login("audrey", uiPassword)
	if _, page := a.do("GET", "/ui/certificates", nil); strings.Contains(page, `href="/ui/import"`) {
		t.Error("an auditor is offered the import page")
	}
	if resp, _ := a.do("GET", "/ui/import", nil); resp.StatusCode != 403 {
		t.Errorf("an auditor's import page: %d, want 403", resp.StatusCode)
	}
}
