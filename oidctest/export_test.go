package oidctest

// CheckClientIDURL exports checkClientIDURL to the tests that compare it
// with oidcauth.CheckURL.
var CheckClientIDURL = checkClientIDURL
