package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCookieChunks(t *testing.T) {
	t.Parallel()
	n := newCookieNames("oidcauth", true, 3)
	now := time.Now()
	for _, size := range []int{1, 43, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize - 2, 2 * chunkSize, 3*chunkSize - 2} {
		value := strings.Repeat("v", size-1) + "Z"
		w := httptest.NewRecorder()
		if err := n.writeSession(w, httptest.NewRequest("GET", "/", nil), value, now.Add(time.Hour), now); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		cookies := w.Result().Cookies()
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			if len(c.Name)+len(c.Value) > 4096 || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("size %d: cookie %s: %+v", size, c.Name, c)
			}
			if !strings.HasPrefix(c.Name, "__Host-oidcauth") {
				t.Errorf("cookie name %q", c.Name)
			}
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		got, present := n.readSession(req)
		if !present || got != value {
			t.Errorf("size %d (%d cookies): read back %d bytes", size, len(cookies), len(got))
		}
	}
	if _, err := n.split(strings.Repeat("v", 3*chunkSize)); !errors.Is(err, ErrSessionTooLarge) {
		t.Errorf("oversized value: %v", err)
	}
	for _, bad := range []string{"", "a b", "a;b", `a"b`, "a,b", "a\\b", "é"} {
		if _, err := n.split(bad); err == nil {
			t.Errorf("split(%q) accepted a value a cookie cannot carry", bad)
		}
	}
	// A short value with a dot still round-trips.
	parts, _ := n.split("ab.cd")
	req := httptest.NewRequest("GET", "/", nil)
	for i, p := range parts {
		req.AddCookie(&http.Cookie{Name: n.chunkName(i), Value: p})
	}
	if got, _ := n.readSession(req); got != "ab.cd" {
		t.Errorf("dotted value read back as %q", got)
	}
}

func TestCookieNamesInsecure(t *testing.T) {
	t.Parallel()
	n := newCookieNames("app", false, 3)
	c := n.cookie(n.session, "v", 10)
	if c.Name != "app" || c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("insecure cookie: %+v", c)
	}
	if name := n.txName("state"); !strings.HasPrefix(name, "app-tx-") || name == n.txName("other") {
		t.Errorf("txName %q", name)
	}
}
