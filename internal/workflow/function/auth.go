package function

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// authorize adds the credentials of the function's auth definition.
func (inv *Invoker) authorize(ctx context.Context, call *engine.Call, r *request) error {
	ref := call.Function.AuthRef
	if ref == "" {
		return nil
	}
	a := call.Workflow.AuthDef(ref)
	if a == nil {
		return fmt.Errorf("function %q: unknown auth definition %q", call.Function.Name, ref)
	}
	val := func(s string) string { return secretValue(ctx, call, s) }
	switch {
	case a.Basic != nil:
		cred := base64.StdEncoding.EncodeToString([]byte(val(a.Basic.Username) + ":" + val(a.Basic.Password)))
		r.headers.Set("Authorization", "Basic "+cred)
	case a.Bearer != nil:
		r.headers.Set("Authorization", "Bearer "+val(a.Bearer.Token))
	case a.OAuth2 != nil:
		tok, err := inv.tokens.get(ctx, inv, a.OAuth2, val)
		if err != nil {
			return fmt.Errorf("function %q: auth %q: %w", call.Function.Name, ref, err)
		}
		r.headers.Set("Authorization", "Bearer "+tok)
	default:
		return fmt.Errorf("function %q: auth %q has no usable properties", call.Function.Name, ref)
	}
	return nil
}

// secretValue evaluates auth properties written as expressions (such as
// "$SECRET.token"); other text is used as written.
func secretValue(ctx context.Context, call *engine.Call, s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "$") || call.Evaluator == nil {
		return s
	}
	v, err := call.Evaluator.Eval(ctx, t, call.Input, call.Vars)
	if err != nil || v == nil {
		return s
	}
	return expr.Text(v)
}

// tokenCache keeps OAuth2 client-credentials tokens until shortly before
// they expire.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

func (c *tokenCache) get(ctx context.Context, inv *Invoker, o *workflow.OAuth2Auth, val func(string) string) (string, error) {
	if o.GrantType != "" && o.GrantType != "clientCredentials" {
		return "", fmt.Errorf("OAuth2 grant type %q is %w (only clientCredentials)", o.GrantType, ErrNotSupported)
	}
	authority := val(o.Authority)
	tokenURL := authority
	if !strings.HasSuffix(tokenURL, "/token") {
		tokenURL = strings.TrimRight(authority, "/") + "/protocol/openid-connect/token"
	}
	id, secret := val(o.ClientID), val(o.ClientSecret)
	key := tokenURL + "\x00" + id
	c.mu.Lock()
	if t, ok := c.tokens[key]; ok && time.Now().Before(t.expires) {
		c.mu.Unlock()
		return t.token, nil
	}
	c.mu.Unlock()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	if len(o.Scopes) > 0 {
		form.Set("scope", strings.Join(o.Scopes, " "))
	}
	if len(o.Audiences) > 0 {
		form.Set("audience", strings.Join(o.Audiences, " "))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := inv.do(ctx, &request{method: http.MethodPost, url: tokenURL, headers: h, body: form.Encode(), hasBody: true})
	if err != nil {
		return "", err
	}
	m, _ := resp.Body.(map[string]any)
	if text, ok := resp.Body.(string); ok {
		// Some token endpoints do not say their JSON is JSON.
		if v, ok := decodeBody("application/json", []byte(text)).(map[string]any); ok {
			m = v
		}
	}
	tok, _ := m["access_token"].(string)
	if tok == "" {
		return "", fmt.Errorf("token endpoint %s returned no access_token", tokenURL)
	}
	ttl := 60 * time.Second
	if n, ok := m["expires_in"].(int); ok && n > 30 {
		ttl = time.Duration(n-15) * time.Second
	}
	c.mu.Lock()
	if c.tokens == nil {
		c.tokens = map[string]cachedToken{}
	}
	c.tokens[key] = cachedToken{token: tok, expires: time.Now().Add(ttl)}
	c.mu.Unlock()
	return tok, nil
}
