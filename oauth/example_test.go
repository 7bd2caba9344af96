package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// A web application with a login, a page for signed-in users and a logout,
// run against the fake provider, with an HTTP client playing the browser.
func Example() {
	idp, err := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	idp.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"}) // no sign-in form

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	if err := idp.RegisterClient(oidctest.Client{
		ID: "my-app", Secret: "s3cret",
		RedirectURIs:           []string{app.URL + "/callback"},
		PostLogoutRedirectURIs: []string{app.URL + "/"},
	}); err != nil {
		log.Fatal(err)
	}

	flow, err := oauth.New(context.Background(), oauth.Config{
		Issuer:       idp.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "s3cret",
		RedirectURL:  app.URL + "/callback", // http: only because it is a loopback address
		Keys:         [][]byte{oauth.GenerateKey()},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer flow.Close()

	mux.Handle("GET /login", flow.LoginHandler())
	mux.Handle("GET /callback", flow.CallbackHandler())
	mux.Handle("POST /logout", flow.LogoutHandler())
	mux.Handle("GET /me", flow.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello, %s", claims.Subject)
	})))
	mux.Handle("GET /{$}", flow.MaybeLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "home, signed in: %v", ok)
	})))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	show := func(resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s %d %s\n", resp.Request.URL.Path, resp.StatusCode, body)
	}

	// /me -> /login -> provider -> /callback (sets the session cookie) -> /me
	show(browser.Get(app.URL + "/me"))

	// A same-origin form POST to /logout ends the session and answers a
	// page whose script POSTs the ID token to the provider's
	// end_session_endpoint, which sends a browser back to / (this client
	// runs no script).
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/logout", strings.NewReader(""))
	req.Header.Set("Origin", app.URL)
	resp, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("/logout", resp.StatusCode, resp.Header.Get("Content-Type"))
	show(browser.Get(app.URL + "/"))

	// Output:
	// /me 200 hello, alice
	// /logout 200 text/html; charset=utf-8
	// / 200 home, signed in: false
}

func ExampleIsLocalRedirect() {
	for _, next := range []string{"/account?tab=2", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "https://evil.example", "javascript:alert(1)"} {
		fmt.Printf("%-22s %v\n", next, oauth.IsLocalRedirect(next))
	}
	// Output:
	// /account?tab=2         true
	// //evil.example         false
	// /\evil.example         false
	// /%2F%2Fevil.example    false
	// https://evil.example   false
	// javascript:alert(1)    false
}
