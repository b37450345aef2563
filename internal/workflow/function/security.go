package function

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portico-dev/portico/internal/workflow/engine"
)

// applySecurity adds the credentials an OpenAPI operation's security
// schemes ask for, configured the way SonataFlow (Quarkus OpenAPI
// Generator) reads them:
//
//	quarkus.openapi-generator.<spec>.auth.<scheme>.bearer-token
//	quarkus.openapi-generator.<spec>.auth.<scheme>.username / .password
//	quarkus.openapi-generator.<spec>.auth.<scheme>.api-key
//	quarkus.openapi-generator.<spec>.auth.<scheme>.token-propagation=true
//
// where <spec> is the document's file name with non-alphanumerics turned
// into "_" (or the name without extension). With token propagation, the
// token comes from the header X-Authorization-<scheme> (or Authorization)
// of the request that started the instance. An auth definition on the
// function (authRef) takes precedence.
func applySecurity(call *engine.Call, s *openAPISpec, op *openapi3.Operation, r *request, q url.Values) {
	reqs := s.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 || s.doc.Components == nil || r.headers.Get("Authorization") != "" {
		return
	}
	base := path.Base(s.file)
	keys := []string{nonAlnum.ReplaceAllString(base, "_"), strings.TrimSuffix(base, path.Ext(base))}
	prop := func(scheme, name string) string {
		for _, k := range keys {
			if v := call.Properties["quarkus.openapi-generator."+k+".auth."+scheme+"."+name]; v != "" {
				return v
			}
		}
		return ""
	}
	for _, req := range reqs {
		for name := range req {
			ref := s.doc.Components.SecuritySchemes[name]
			if ref == nil || ref.Value == nil {
				continue
			}
			sc := ref.Value
			token := prop(name, "bearer-token")
			if strings.EqualFold(prop(name, "token-propagation"), "true") || token == "" {
				if v := header(call.Vars.Workflow.Headers, "X-Authorization-"+name); v != "" {
					token = strings.TrimPrefix(v, "Bearer ")
				} else if v := header(call.Vars.Workflow.Headers, "Authorization"); v != "" && strings.EqualFold(prop(name, "token-propagation"), "true") {
					token = strings.TrimPrefix(v, "Bearer ")
				}
			}
			switch {
			case sc.Type == "http" && strings.EqualFold(sc.Scheme, "basic"):
				if u := prop(name, "username"); u != "" {
					r.headers.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u+":"+prop(name, "password"))))
					return
				}
			case sc.Type == "apiKey":
				key := prop(name, "api-key")
				if key == "" {
					continue
				}
				switch sc.In {
				case "query":
					q.Set(sc.Name, key)
				case "cookie":
					r.headers.Add("Cookie", (&http.Cookie{Name: sc.Name, Value: key}).String())
				default:
					r.headers.Set(sc.Name, key)
				}
				return
			default: // http bearer, oauth2, openIdConnect
				if token != "" {
					r.headers.Set("Authorization", "Bearer "+token)
					return
				}
			}
		}
	}
}

// header looks a header up case-insensitively.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
