package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/inventory"
)

func (a *API) reportRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/reports/{kind}", summary: "Reports: expiring, breakdown, weak, revocations, volume (?format=json|csv|html, ?days=)", tag: "reports", handler: a.report},
	}
}

func (a *API) report(w http.ResponseWriter, r *http.Request) error {
	days, err := intParam(r, "days", 0)
	if err != nil {
		return err
	}
	rep, err := a.svc.Inventory.Report(r.Context(), inventory.ReportRequest{Kind: r.PathValue("kind"),
		Org: r.URL.Query().Get("org"), Days: days})
	if err != nil {
		return err
	}
	body, ctype, err := inventory.Render(rep, r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	if ctype != "application/json" {
		ext := map[string]string{"text/csv; charset=utf-8": "csv", "text/html; charset=utf-8": "html"}[ctype]
		w.Header().Set("Content-Disposition", `inline; filename="signet-`+rep.Kind+`.`+ext+`"`)
	}
	_, err = w.Write(body)
	return err
}
