package webui

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// importView is the certificate import page: the form, then what the last
// import did.
type importView struct {
	PEM, Owner string
	Error      *formError
	Imported   []store.Certificate
	Skipped    []issuance.Skipped
	Done       bool
}

// importForm shows the form to add certificates Signet did not issue.
func (u *UI) importForm(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Require(r.Context(), auth.PermCertImport); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "import", "Import certificates", &importView{})
}

// importCertificates imports a pasted bundle or an uploaded file (PEM, DER
// or PKCS#7; PKCS#12 needs its password, which the CLI uses locally) and
// shows each certificate imported or skipped.
func (u *UI) importCertificates(w http.ResponseWriter, r *http.Request) error {
	v := &importView{PEM: strings.TrimSpace(r.PostFormValue("pem")), Owner: strings.TrimSpace(r.PostFormValue("owner"))}
	data, err := uploadedBytes(r, "file", "a certificate file", certutil.MaxPEMBytes)
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte(v.PEM)
	}
	res, err := u.d.Issuance.Import(r.Context(), issuance.ImportInput{PEM: string(data), Owner: v.Owner})
	if err != nil {
		if v.Error, err = newFormError("import", err); err != nil {
			return err
		}
		return u.render(w, r, http.StatusBadRequest, "import", "Import certificates", v)
	}
	v.Done, v.Imported, v.Skipped, v.PEM = true, res.Imported, res.Skipped, ""
	return u.render(w, r, http.StatusOK, "import", "Import certificates", v)
}

// uploadedBytes is a form's file as it is (DER and PKCS#7 are binary), nil
// when none was chosen; what names the file in the error for one over limit.
func uploadedBytes(r *http.Request, field, what string, limit int) ([]byte, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	f, _, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, problem.Invalid("upload_invalid", "the uploaded file could not be read: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, problem.Invalid("upload_invalid", "the uploaded file could not be read: %v", err)
	}
	if len(b) > limit {
		return nil, problem.New(problem.KindTooLarge, "upload_too_large", "%s is at most %d bytes", what, limit)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}
