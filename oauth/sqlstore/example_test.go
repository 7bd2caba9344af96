package sqlstore_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/sqlstore"
)

// A Flow whose sessions live in PostgreSQL, with the back-channel logout
// that a revoking store makes possible.
func ExampleNew() {
	ctx := context.Background()
	// import _ "github.com/lib/pq" in package main
	db, err := sql.Open("postgres", "postgres://app@db.internal/app?sslmode=verify-full&binary_parameters=yes")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(ctx, db, sqlstore.Config{}) // creates oidcauth_sessions if missing
	if err != nil {
		log.Print(err) // no database here
		return
	}
	defer store.Close()
	flow, err := oauth.New(ctx, oauth.Config{ /* Issuer, ClientID, RedirectURL, Keys, */ Store: store})
	if err != nil {
		log.Fatal(err)
	}
	bcl, err := flow.BackChannelLogoutHandler()
	if err != nil {
		log.Fatal(err)
	}
	_ = bcl // mux.Handle("POST /backchannel-logout", bcl)
}
